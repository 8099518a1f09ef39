// Helpers for the seat tests: what an app calls (no Authorization: the tokens in the
// body are its credentials), and what an administrator reads back.
import assert from "node:assert/strict";
import { createPrivateKey, createPublicKey, randomBytes, sign } from "node:crypto";
import { call, issueRequest } from "./api.mjs";

/** Issue a license (as the bootstrap admin) and return its record. */
export async function issueLicense(worker, overrides = {}) {
  const res = await call(worker, "POST", "/api/licenses", {
    body: issueRequest(`${worker.url}/`, { products: ["ide", "profiler"], included_users: 5, ...overrides }),
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body;
}

/** `POST /api/seats/checkout` as an app. */
export function checkout(worker, license, user, { product = "ide", host = "laptop" } = {}) {
  return call(worker, "POST", "/api/seats/checkout", { auth: null, body: { license, product, user, host } });
}

/** `POST /api/seats/heartbeat` as an app. */
export function heartbeat(worker, token) {
  return call(worker, "POST", "/api/seats/heartbeat", { auth: null, body: { token } });
}

/** `POST /api/seats/release` as an app. */
export function release(worker, token) {
  return call(worker, "POST", "/api/seats/release", { auth: null, body: { token } });
}

/** A license's live state (`GET /api/vault/licenses/:lid`). */
export async function pool(worker, lid) {
  const res = await call(worker, "GET", `/api/vault/licenses/${lid}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

/** A license's events of one kind, up to 1000, newest first. */
export async function events(worker, lid, kind) {
  const q = kind ? `?kind=${kind}&limit=1000` : "?limit=1000";
  const res = await call(worker, "GET", `/api/vault/licenses/${lid}/events${q}`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.items;
}

/** A user's leases from the vault's roll-up. */
export async function heldBy(worker, user) {
  const res = await call(worker, "GET", `/api/vault/users/${encodeURIComponent(user)}/licenses`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

/** Poll `check` until it is true (the roll-up lags the licenses by about a second). */
export async function eventually(check, { timeoutMs = 10_000, what = "the condition" } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) assert.fail(`${what} did not hold within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
const b64 = (v) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");

/** A signer with a key of its own: another deployment, or an attacker. */
export function foreignSigner() {
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, randomBytes(32)]), format: "der", type: "pkcs8" });
  const jwk = createPublicKey(key).export({ format: "jwk" });
  return {
    jwk,
    /** Sign `claims` with header `typ` and `kid`. */
    sign(claims, { typ = "JWT", kid = "foreign" } = {}) {
      const input = `${b64({ alg: "EdDSA", typ, kid })}.${b64(claims)}`;
      return `${input}.${sign(null, Buffer.from(input), key).toString("base64url")}`;
    },
  };
}
