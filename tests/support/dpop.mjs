// Installations as an app holds them, for the black-box tests: a key pair in Web Crypto
// (Ed25519, or P-256 as runtimes without Ed25519 use), its RFC 7638 thumbprint, and RFC
// 9449 DPoP proofs — with every knob an attacker would turn (another URL, an old `iat`,
// a reused `jti`, another key).
import { createHash, randomUUID } from "node:crypto";

const { subtle } = globalThis.crypto;
const b64u = (bytes) => Buffer.from(bytes).toString("base64url");
const json64 = (value) => b64u(Buffer.from(JSON.stringify(value)));

/** A new installation: `{ alg, keys, jwk, jkt }` (its private key not extractable). */
export async function newInstallation({ alg = "EdDSA" } = {}) {
  const algorithm = alg === "EdDSA" ? { name: "Ed25519" } : { name: "ECDSA", namedCurve: "P-256" };
  const keys = await subtle.generateKey(algorithm, false, ["sign", "verify"]);
  const full = await subtle.exportKey("jwk", keys.publicKey);
  const jwk = alg === "EdDSA" ? { kty: "OKP", crv: "Ed25519", x: full.x } : { kty: "EC", crv: "P-256", x: full.x, y: full.y };
  return { alg, keys, jwk, jkt: thumbprint(jwk) };
}

/** RFC 7638: SHA-256 of the required members in lexicographic order, base64url. */
export function thumbprint(jwk) {
  const canonical =
    jwk.kty === "OKP"
      ? `{"crv":"${jwk.crv}","kty":"OKP","x":"${jwk.x}"}`
      : `{"crv":"${jwk.crv}","kty":"EC","x":"${jwk.x}","y":"${jwk.y}"}`;
  return createHash("sha256").update(canonical).digest("base64url");
}

/** RFC 9449's `ath`: base64url SHA-256 of an access token. */
export const tokenHash = (token) => createHash("sha256").update(token).digest("base64url");

/**
 * A DPoP proof by `installation` for `method` and `url`, with `token`'s hash when one is
 * presented. Overrides: `jti`, `iat`, `htm`, `htu`, `typ`, `alg`, `jwk` (another key in
 * the header than the one signing), `ath`.
 */
export async function proof(installation, method, url, options = {}) {
  const header = {
    typ: options.typ ?? "dpop+jwt",
    alg: options.alg ?? installation.alg,
    jwk: options.jwk ?? installation.jwk,
  };
  const claims = {
    jti: options.jti ?? randomUUID(),
    htm: options.htm ?? method,
    htu: options.htu ?? url.split("?")[0],
    iat: options.iat ?? Math.floor(Date.now() / 1000),
  };
  const ath = options.ath ?? (options.token ? tokenHash(options.token) : undefined);
  if (ath) claims.ath = ath;
  const input = `${json64(header)}.${json64(claims)}`;
  const algorithm = installation.alg === "EdDSA" ? { name: "Ed25519" } : { name: "ECDSA", hash: "SHA-256" };
  const signature = await subtle.sign(algorithm, installation.keys.privateKey, new TextEncoder().encode(input));
  return `${input}.${b64u(new Uint8Array(signature))}`;
}

/** The claims of a JWT, unverified (for reading a lease token's `cnf` and `gen`). */
export function claimsOf(token) {
  return JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString());
}
