// The secrets a test worker runs with, and a signer that holds the same key: tests
// forge tokens (expired, wrong instance, ...) signed by the real key, which the API
// cannot be asked to issue.
import { createPrivateKey, createPublicKey, randomBytes, sign } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const PKCS8_ED25519_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

export const ADMIN = { username: "admin", password: randomBytes(18).toString("base64url") };
export const SIGNING_SEED = randomBytes(32);
/** The deployment secret (device cookies), apart from every signing key. */
export const DEPLOYMENT_SECRET = randomBytes(32).toString("base64url");

const privateKey = createPrivateKey({
  key: Buffer.concat([PKCS8_ED25519_PREFIX, SIGNING_SEED]),
  format: "der",
  type: "pkcs8",
});
export const PUBLIC_JWK = createPublicKey(privateKey).export({ format: "jwk" });
/** The worker's root signing key (a node KeyObject), for signers other than ours (jose). */
export const ROOT_PRIVATE_KEY = privateKey;

/** An env file for `wrangler dev --env-file` with this run's secrets. */
export function envFile(extra = {}) {
  const vars = {
    ADMIN_PASSWORD: ADMIN.password,
    SIGNING_KEY: SIGNING_SEED.toString("base64url"),
    DEPLOYMENT_SECRET,
    ...extra,
  };
  const path = join(mkdtempSync(join(tmpdir(), "tessera-env-")), ".dev.vars");
  writeFileSync(path, Object.entries(vars).map(([k, v]) => `${k}=${v}`).join("\n") + "\n");
  return path;
}

const b64 = (value) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

/** Sign `claims` with the worker's root key, as `kid` (default: the key's thumbprint). */
export function signWithRootKey(claims, kid) {
  const header = { alg: "EdDSA", typ: "JWT", kid };
  const input = `${b64(header)}.${b64(claims)}`;
  const signature = sign(null, Buffer.from(input), privateKey).toString("base64url");
  return `${input}.${signature}`;
}

/** Basic auth header. */
export function basic(username, password) {
  return `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
}

export const ADMIN_AUTH = basic(ADMIN.username, ADMIN.password);
