// The hand-rolled baseline Tessera's hot path is measured against (issue 11): what a
// vendor would write instead of Tessera — a JS Worker that verifies EdDSA license JWTs
// with `jose`, the public keys kept in KV and cached in the isolate.
//
//   GET  /api/health        {ok: true}, no I/O (the trivial route)
//   POST /setup             store a JWKS in KV (and drop the isolate's keys)
//   POST /validate {token}  {valid: true, claims} or {valid: false, code}
//
// Started by tests/bench/hotpath.mjs exactly as Tessera is (tests/support/devserver.mjs).
import { importJWK, jwtVerify } from "jose";

let keys = null; // kid → CryptoKey, for this isolate's life

async function loadKeys(env) {
  if (keys) return keys;
  const jwks = await env.KV.get("jwks", "json");
  const loaded = new Map();
  for (const jwk of jwks.keys) loaded.set(jwk.kid, await importJWK(jwk, "EdDSA"));
  keys = loaded;
  return keys;
}

export default {
  async fetch(request, env) {
    const { pathname } = new URL(request.url);
    if (pathname === "/api/health") return Response.json({ ok: true });
    if (pathname === "/setup" && request.method === "POST") {
      await env.KV.put("jwks", await request.text());
      keys = null;
      return Response.json({ ok: true });
    }
    if (pathname === "/validate" && request.method === "POST") {
      const { token } = await request.json();
      const known = await loadKeys(env);
      try {
        const { payload } = await jwtVerify(token, (header) => known.get(header.kid), {
          algorithms: ["EdDSA"],
        });
        return Response.json({ valid: true, claims: payload });
      } catch (e) {
        return Response.json({ valid: false, code: e.code ?? "INVALID" });
      }
    }
    return new Response("not found", { status: 404 });
  },
};
