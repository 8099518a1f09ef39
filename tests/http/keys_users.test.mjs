// Signing keys (JWKS, rotation), users, /api/me and the OpenAPI document.
import assert from "node:assert/strict";
import { createPublicKey, verify } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { assertError, call, issueRequest, untilServerTime, userWithRole } from "../support/api.mjs";
import { ADMIN, PUBLIC_JWK, basic, envFile } from "../support/secrets.mjs";
import { startWorker } from "../support/wrangler.mjs";

let worker;
// Rotated keys sign 5 s after they are published here (330 s by default): time enough
// to see the old key still signing on a loaded machine.
const ACTIVATION = 5;
before(async () => {
  worker = await startWorker({ envFile: envFile({ KEY_ACTIVATION_SECONDS: String(ACTIVATION) }) });
});
after(async () => {
  await worker?.stop();
});

const jwks = async () => {
  const res = await fetch(`${worker.url}/.well-known/jwks.json`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "application/json");
  return res.json();
};

/** Verify a token's signature with node's own Ed25519 against the published JWKS. */
function verifiesWith(token, keys) {
  const [h, p, s] = token.split(".");
  const { kid } = JSON.parse(Buffer.from(h, "base64url"));
  const jwk = keys.find((k) => k.kid === kid);
  if (!jwk) return false;
  const key = createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x }, format: "jwk" });
  return verify(null, Buffer.from(`${h}.${p}`), key, Buffer.from(s, "base64url"));
}

describe("signing keys", () => {
  test("the JWKS publishes the secret's public key, and nothing private", async () => {
    const { keys } = await jwks();
    assert.equal(keys.length, 1);
    assert.deepEqual({ kty: keys[0].kty, crv: keys[0].crv, x: keys[0].x }, { kty: "OKP", crv: "Ed25519", x: PUBLIC_JWK.x });
    assert.equal(keys[0].alg, "EdDSA");
    assert.ok(!("d" in keys[0]));
  });

  test("rotation: a key is published before it signs; old licenses still verify", async () => {
    const instance = `${worker.url}/`;
    const kidOf = (token) => JSON.parse(Buffer.from(token.split(".")[0], "base64url")).kid;
    const old = (await call(worker, "POST", "/api/licenses", { body: issueRequest(instance) })).body;
    const rootKid = kidOf(old.token);
    const rotated = await call(worker, "POST", "/api/keys/rotate");
    assert.equal(rotated.status, 201, JSON.stringify(rotated.body));
    assert.equal(rotated.body.source, "rotated");
    assert.equal(rotated.body.active, false, "not signing yet");
    assert.equal(rotated.body.activates_at - rotated.body.created_at, ACTIVATION);

    // Published at once: a validator fetching the JWKS now already has it.
    const { keys } = await jwks();
    assert.deepEqual(keys.map((k) => k.kid).sort(), [rootKid, rotated.body.kid].sort());
    // Which key signed is judged at the token's own time, its iat: the old key before
    // activates_at, the new one from then on.
    const { activates_at: activatesAt } = rotated.body;
    const early = (await call(worker, "POST", "/api/licenses", { body: issueRequest(instance) })).body;
    assert.ok(early.claims.iat < activatesAt, `issued at ${early.claims.iat}, before the new key's ${activatesAt}`);
    assert.equal(kidOf(early.token), rootKid, "the old key signs until the new one's time");
    const listed = (await call(worker, "GET", "/api/keys")).body;
    assert.ok(Date.now() < activatesAt * 1000, "listed before the new key's time");
    assert.deepEqual(listed.filter((k) => k.active).map((k) => k.kid), [rootKid]);

    // Wait for the worker's own clock to reach activates_at, not a fixed time.
    await untilServerTime(worker, activatesAt);
    const fresh = (await call(worker, "POST", "/api/licenses", { body: issueRequest(instance) })).body;
    assert.ok(fresh.claims.iat >= activatesAt);
    assert.equal(kidOf(fresh.token), rotated.body.kid);
    assert.deepEqual((await call(worker, "GET", "/api/keys")).body.filter((k) => k.active).map((k) => k.kid), [rotated.body.kid]);
    assert.ok(verifiesWith(fresh.token, keys), "the JWKS fetched before it signed verifies it");
    assert.ok(verifiesWith(old.token, keys), "licenses signed before the rotation still verify");
    assert.equal((await call(worker, "POST", "/api/licensing/token", { body: { token: old.token } })).status, 200);
    assert.equal((await call(worker, "GET", "/api/licensing/check")).body, true);
    await call(worker, "DELETE", "/api/licensing/token", { body: { instance } });
  });

  test("by default a key is published longer than validators cache the JWKS before it signs", async () => {
    const other = await startWorker();
    try {
      const jwksRes = await fetch(`${other.url}/.well-known/jwks.json`);
      const maxAge = Number(/max-age=(\d+)/.exec(jwksRes.headers.get("cache-control"))[1]);
      const rotated = (await call(other, "POST", "/api/keys/rotate")).body;
      assert.ok(rotated.activates_at - rotated.created_at > maxAge, `${rotated.activates_at - rotated.created_at} s > ${maxAge} s`);
    } finally {
      await other.stop();
    }
  });

  test("only a server administrator rotates; every role lists", async () => {
    const before = (await call(worker, "GET", "/api/keys")).body;
    for (const role of ["admin", "editor", "viewer"]) {
      const auth = await userWithRole(worker, role);
      assertError(await call(worker, "POST", "/api/keys/rotate", { auth }), 403, "FORBIDDEN");
      assert.equal((await call(worker, "GET", "/api/keys", { auth })).status, 200);
    }
    assertError(await call(worker, "POST", "/api/keys/rotate", { auth: null }), 401, "UNAUTHORIZED");
    assertError(await call(worker, "GET", "/api/keys", { auth: null }), 401, "UNAUTHORIZED");
    assert.deepEqual((await call(worker, "GET", "/api/keys")).body, before);
  });
});

describe("users and /api/me", () => {
  test("the bootstrap admin is a server administrator", async () => {
    const me = await call(worker, "GET", "/api/me");
    assert.equal(me.status, 200);
    assert.equal(me.body.username, ADMIN.username);
    assert.equal(me.body.role, "server_admin");
    assert.ok(me.body.permissions.includes("licensing:write"));
  });

  test("create and list users; no hash or password is ever shown", async () => {
    const created = await call(worker, "POST", "/api/users", { body: { username: "dana", password: "correct horse battery", role: "editor" } });
    assert.equal(created.status, 201);
    assert.deepEqual(Object.keys(created.body).sort(), ["created_at", "disabled", "role", "username"]);
    const listed = await call(worker, "GET", "/api/users");
    assert.equal(listed.status, 200);
    assert.ok(listed.body.items.some((u) => u.username === "dana" && u.role === "editor"));
    assert.equal(listed.body.next_cursor, null);
    assert.ok(!JSON.stringify(listed.body).includes("pbkdf2"));
    const me = await call(worker, "GET", "/api/me", { auth: basic("dana", "correct horse battery") });
    assert.deepEqual([me.body.username, me.body.role], ["dana", "editor"]);
    assert.ok(!me.body.permissions.includes("licensing:read"));
  });

  test("bad users are refused and nothing is stored", async () => {
    const before = (await call(worker, "GET", "/api/users")).body.items;
    const cases = [
      [{ username: "Bad Name", password: "long enough password", role: "viewer" }, 400, "INVALID_FIELD"],
      [{ username: "short", password: "short", role: "viewer" }, 400, "INVALID_FIELD"],
      [{ username: "admin", password: "long enough password", role: "viewer" }, 400, "INVALID_FIELD"],
      [{ username: "x", password: "long enough password", role: "emperor" }, 400, "INVALID_BODY"],
      [{ username: "x", password: "long enough password" }, 400, "INVALID_BODY"],
    ];
    for (const [body, status, code] of cases) {
      assertError(await call(worker, "POST", "/api/users", { body }), status, code);
    }
    const editor = await userWithRole(worker, "editor");
    const afterEditor = (await call(worker, "GET", "/api/users")).body.items;
    assertError(await call(worker, "POST", "/api/users", { auth: editor, body: { username: "y", password: "long enough password", role: "viewer" } }), 403, "FORBIDDEN");
    assertError(await call(worker, "GET", "/api/users", { auth: editor }), 403, "FORBIDDEN");
    assert.equal(afterEditor.length, before.length + 1);
    assert.deepEqual((await call(worker, "GET", "/api/users")).body.items, afterEditor);
  });
});

describe("the OpenAPI document", () => {
  test("is served and documents the licensing endpoints", async () => {
    const res = await call(worker, "GET", "/api/openapi.json", { auth: null });
    assert.equal(res.status, 200);
    assert.match(res.body.openapi, /^3\./);
    for (const path of ["/api/licensing/check", "/api/licensing/token", "/api/licensing/token/renew", "/api/licenses", "/.well-known/jwks.json"]) {
      assert.ok(path in res.body.paths, path);
    }
    assert.ok("delete" in res.body.paths["/api/licensing/token"]);
  });
});
