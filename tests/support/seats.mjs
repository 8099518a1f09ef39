// Helpers for the seat tests: what an app calls — its license or lease token as its
// credential, every call proved by its installation's key (RFC 9449 DPoP) — and what an
// administrator reads back.
import assert from "node:assert/strict";
import { createPrivateKey, createPublicKey, randomBytes, sign } from "node:crypto";
import { call, issueRequest } from "./api.mjs";
import { claimsOf, newInstallation, proof } from "./dpop.mjs";

/** Issue a license (as the bootstrap admin) and return its record. */
export async function issueLicense(worker, overrides = {}) {
  const res = await call(worker, "POST", "/api/licenses", {
    body: issueRequest(`${worker.url}/`, { products: ["ide", "profiler"], included_users: 5, ...overrides }),
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body;
}

// One installation per host label per worker, so tests that name hosts name machines;
// and every installation by its thumbprint, to prove calls with a token's own key.
const byHost = new Map();
const byJkt = new Map();

/** The installation the tests call `host` on `worker` (made on first use). */
export async function installationFor(worker, host) {
  const key = `${worker.url}|${host}`;
  if (!byHost.has(key)) {
    const installation = await newInstallation();
    byHost.set(key, installation);
    byJkt.set(installation.jkt, installation);
  }
  return byHost.get(key);
}

/** Remember an installation made elsewhere, so its tokens' calls can be proved. */
export function knowInstallation(installation) {
  byJkt.set(installation.jkt, installation);
  return installation;
}

/** The installation a lease or machine token is bound to (`cnf.jkt`). */
export function installationOf(token) {
  const installation = byJkt.get(claimsOf(token).cnf?.jkt);
  assert.ok(installation, "a token of an installation these tests made");
  return installation;
}

/** `POST /api/seats/checkout` as an app, from `installation` (default: the host's). */
export async function checkout(worker, license, user, { product = "ide", host = "laptop", installation } = {}) {
  const from = installation ? knowInstallation(installation) : await installationFor(worker, host);
  const url = `${worker.url}/api/seats/checkout`;
  const headers = { DPoP: await proof(from, "POST", url) };
  return call(worker, "POST", "/api/seats/checkout", { auth: null, headers, body: { license, product, user, host } });
}

// Each heartbeat answers the lease's next token and retires the one presented. These
// helpers act as a well-behaved app: they present the newest token of the lease a test
// names by any of its tokens (tests of rotation itself send their own requests).
const newest = new Map();
const latest = (token) => {
  let t = token;
  while (newest.has(t) && newest.get(t) !== t) t = newest.get(t);
  return t;
};

/** A lease token's call (`heartbeat` or `release`) as the installation it is bound to. */
async function leaseCall(worker, route, token, { installation, key } = {}) {
  const current = latest(token);
  const from = installation ?? installationOf(current);
  const url = `${worker.url}/api/seats/${route}`;
  const headers = { Authorization: `DPoP ${current}`, DPoP: await proof(from, "POST", url, { token: current }) };
  if (key) headers["Idempotency-Key"] = key;
  const res = await call(worker, "POST", `/api/seats/${route}`, { auth: null, headers });
  if (res.status === 200 && res.body?.token) newest.set(current, res.body.token);
  return res;
}

/** `POST /api/seats/heartbeat` as an app (`installation`, `key`: see leaseCall). */
export function heartbeat(worker, token, options) {
  return leaseCall(worker, "heartbeat", token, options);
}

/** `POST /api/seats/release` as an app. */
export function release(worker, token, options) {
  return leaseCall(worker, "release", token, options);
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
