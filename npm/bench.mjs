// The npm validator against jose, in one Node process (a benchmark: it prints figures).
//
//   node npm/bench.mjs            (after scripts/build, or scripts/test, built npm/wasm)
//
// Same tokens, same Ed25519 key, keys imported once on both sides; validations per
// second for `Validator.validate` and for `jose.jwtVerify`, and their ratio, twice:
// - one token validated over and over (what an app does with its license; the package
//   remembers tokens whose signature verified and re-judges only the claims);
// - 64 distinct tokens in turn (more than the package remembers: every call verifies).
// Budgets: the .wasm ≤ 100 KB gzip; the package ≥ 2× jose on distinct tokens.
import { generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import * as jose from "jose";
import { Validator, init } from "./index.js";

const ROUND_MS = 500;
const ROUNDS = 7;

async function rate(fn) {
  for (let i = 0; i < 500; i++) await fn(); // warm up the JIT
  const rates = [];
  for (let r = 0; r < ROUNDS; r++) {
    let n = 0;
    const start = performance.now();
    while (performance.now() - start < ROUND_MS) {
      for (let i = 0; i < 50; i++) await fn();
      n += 50;
    }
    rates.push(n / ((performance.now() - start) / 1000));
  }
  return rates.sort((a, b) => a - b)[ROUNDS >> 1];
}

const wasm = readFileSync(new URL("./wasm/tessera_license_bg.wasm", import.meta.url));
console.log(`wasm: ${wasm.length} bytes raw, ${gzipSync(wasm, { level: 9 }).length} bytes gzip (budget 102400 gzip)`);

const { publicKey, privateKey } = generateKeyPairSync("ed25519");
const jwk = { ...(await jose.exportJWK(publicKey)), kid: "bench", alg: "EdDSA" };
const now = Math.floor(Date.now() / 1000);
const claims = {
  jti: "0b9f3c4e-6a52-4d9e-9d7f-2f1c7a7e3b11", iss: "https://licenses.example/", sub: "https://app.example/",
  iat: now - 86_400, nbf: now - 86_400, exp: now + 30 * 86_400, lexp: now + 365 * 86_400, lid: "lic-1",
  limit_by: "users", included_users: 15, lic_exp_warn_days: 30, tok_exp_warn_days: 2, update_days: 1,
  prod: ["tessera-pro"], company: "Example Labs", account: "acct-42", slug: "example", usage_billing: false,
  max_concurrent_user_sessions: 0, details_url: "https://licenses.example/l/lic-1", trial: false, trial_exp: 0,
  anonymousRatio: 0,
};
const tokens = [];
for (let i = 0; i < 64; i++) {
  tokens.push(await new jose.SignJWT({ ...claims, jti: `token-${i}` }).setProtectedHeader({ alg: "EdDSA", kid: "bench" }).sign(privateKey));
}
const token = tokens[0];

await init();
const validator = new Validator({ keys: [jwk] }, { issuer: claims.iss, instance: claims.sub, product: "tessera-pro" });
const key = await jose.importJWK(jwk, "EdDSA");
const options = { issuer: claims.iss, subject: claims.sub };
for (const t of tokens) {
  if (!validator.validate(t).valid) throw new Error("the package refused a token");
  await jose.jwtVerify(t, key, options);
}

let i = 0;
const next = () => tokens[i++ & 63];
const results = [
  ["one token, repeatedly", await rate(() => validator.validate(token).valid), await rate(async () => (await jose.jwtVerify(token, key, options)).payload)],
  ["64 distinct tokens", await rate(() => validator.validate(next()).valid), await rate(async () => (await jose.jwtVerify(next(), key, options)).payload)],
];
console.log(`token: ${token.length} bytes; node ${process.version}`);
for (const [name, ours, theirs] of results) {
  console.log(`${name}:`);
  console.log(`  tessera-license validate: ${ours.toFixed(0).padStart(8)} /s (${(1e6 / ours).toFixed(1)} µs)`);
  console.log(`  jose jwtVerify:           ${theirs.toFixed(0).padStart(8)} /s (${(1e6 / theirs).toFixed(1)} µs)`);
  console.log(`  tessera-license / jose:   ${(ours / theirs).toFixed(2)}× (target ≥ 2×)`);
}
