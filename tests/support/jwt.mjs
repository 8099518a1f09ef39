// Tokens of an exact length, signed by jose: for the verifiers' size cap
// (MAX_TOKEN_BYTES in engine/src/token.rs), tested on real, validly signed licenses
// rather than on garbage, which is malformed at any length.
import assert from "node:assert/strict";
import { SignJWT } from "jose";

/** Characters of unpadded base64url for `n` bytes. */
const b64Length = (n) => Math.ceil((4 * n) / 3);
const jsonBytes = (value) => Buffer.byteLength(JSON.stringify(value));
/** An Ed25519 signature: 64 bytes. */
const SIGNATURE_CHARS = b64Length(64);

/**
 * Sign `claims` (EdDSA, with `key`) as a compact JWS exactly `length` bytes long, by
 * padding the string claim `pad` with "x". Not every length can be made with every
 * header (base64url never ends a part on 1 character mod 4), so the first of `headers`
 * that can make it is used. Returns `{ token, claims, header }`.
 */
export async function signToLength(length, claims, { key, headers, pad = "company" }) {
  assert.equal(typeof claims[pad], "string", `the padded claim ${pad} is a string`);
  for (const header of headers) {
    const padded = (n) => ({ ...claims, [pad]: claims[pad] + "x".repeat(n) });
    const tokenLength = (n) => b64Length(jsonBytes(header)) + 1 + b64Length(jsonBytes(padded(n))) + 1 + SIGNATURE_CHARS;
    // Each byte of padding adds one or two characters: walk up from just below the length.
    let n = Math.max(0, Math.floor(((length - tokenLength(0)) * 3) / 4) - 4);
    while (tokenLength(n) < length) n++;
    if (tokenLength(n) !== length) continue;
    const c = padded(n);
    const token = await new SignJWT(c).setProtectedHeader(header).sign(key);
    assert.equal(token.length, length, "the token has the length it was made for");
    return { token, claims: c, header };
  }
  assert.fail(`no header of ${JSON.stringify(headers)} makes a token of exactly ${length} bytes`);
}
