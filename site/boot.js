// Loads the console's WebAssembly. A file of its own, not an inline script, so the
// Content-Security-Policy (see _headers) allows no inline script at all.
import init from "/tessera_site.js";
init({ module_or_path: "/tessera_site_bg.wasm" });
