// The scenario in a Cloudflare Worker (workerd): POST `{ mode, config }`, answers
// `{ runtime, result }` or `{ runtime, error }`. The wasm is imported as a module, as
// the package's README says for Workers.
import wasm from "tessera-license/tessera_license_bg.wasm";
import { memoryStorage } from "tessera-license";
import { offline, online } from "./scenario.mjs";

export default {
  async fetch(request) {
    const runtime = `workerd (${navigator.userAgent})`;
    try {
      const { mode, config } = await request.json();
      if (mode === "offline") {
        const real = globalThis.fetch;
        let fetches = 0;
        globalThis.fetch = () => {
          fetches++;
          throw new Error("offline: no fetch");
        };
        try {
          const result = await offline({ ...config, wasm });
          return Response.json({ runtime, result: { ...result, fetches } });
        } finally {
          globalThis.fetch = real;
        }
      }
      const memory = memoryStorage();
      const result = await online({ ...config, wasm, makeStorage: () => memory });
      return Response.json({ runtime, result });
    } catch (e) {
      return Response.json({ runtime, error: String(e?.stack ?? e) });
    }
  },
};
