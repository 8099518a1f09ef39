// Seed 004's licensing endpoints against the real worker: the flow, every refusal,
// authentication (Basic of a server administrator only), and persistence.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { calculateJwkThumbprint } from "jose";
import { DAY, assertError, call, issueRequest, now, untilServerTime, userWithRole } from "../support/api.mjs";
import { signToLength } from "../support/jwt.mjs";
import { ADMIN_AUTH, PUBLIC_JWK, ROOT_PRIVATE_KEY, envFile, signWithRootKey } from "../support/secrets.mjs";
import { checkout } from "../support/seats.mjs";
import { startWorker } from "../support/wrangler.mjs";

const SEED_EXAMPLE_TOKEN =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0aGlzIjoiaXMiLCJub3QiOiJhIiwidmFsaWQiOiJsaWNlbnNlIn0.bxDzxIoJlYMwiEYKYT_l2s42z0Y30tY-6KKoyz9RuLE";

let worker;
let admin; // an `admin` (not server admin) user
let kid;
before(async () => {
  worker = await startWorker();
  admin = await userWithRole(worker, "admin");
  kid = (await (await fetch(`${worker.url}/.well-known/jwks.json`)).json()).keys[0].kid;
});
after(async () => {
  await worker?.stop();
});

const self = () => `${worker.url}/`;
const check = async (query = "") => {
  const res = await call(worker, "GET", `/api/licensing/check${query}`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "application/json");
  return res.body;
};
const issue = async (instance, overrides) => {
  const res = await call(worker, "POST", "/api/licenses", { body: issueRequest(instance, overrides) });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body;
};
const apply = (token, query = "") => call(worker, "POST", `/api/licensing/token${query}`, { body: { token } });
const remove = (instance, query = "") => call(worker, "DELETE", `/api/licensing/token${query}`, { body: { instance } });

/** Claims like the API issues, for tokens the API cannot be asked to issue. */
function forgedClaims(overrides = {}) {
  const t = now();
  return {
    jti: "forged", iss: self(), sub: self(), iat: t - DAY, nbf: t - DAY, exp: t + DAY, lexp: t + 30 * DAY,
    lid: "forged-lid", prod: ["tessera-pro"], company: "Forged", ...overrides,
  };
}

describe("the seed 004 flow", () => {
  test("check false → apply → check true → renew → remove → check false", async () => {
    assert.equal(await check(), false);
    const record = await issue(self());

    const applied = await apply(record.token);
    assert.equal(applied.status, 200, JSON.stringify(applied.body));
    for (const field of ["status", "jti", "iss", "sub", "iat", "exp", "nbf", "lexp", "lid", "limit_by", "included_users",
      "lic_exp_warn_days", "tok_exp_warn_days", "update_days", "prod", "company", "account", "slug", "usage_billing",
      "max_concurrent_user_sessions", "details_url", "trial", "trial_exp", "anonymousRatio"]) {
      assert.ok(field in applied.body, `response has ${field}`);
    }
    assert.equal(applied.body.status, 0);
    assert.equal(applied.body.lid, record.lid);
    assert.equal(await check(), true);

    const renewed = await call(worker, "POST", "/api/licensing/token/renew", { body: {} });
    assert.equal(renewed.status, 200, JSON.stringify(renewed.body));
    assert.equal(renewed.body.lid, record.lid);
    assert.notEqual(renewed.body.jti, record.claims.jti);
    assert.equal(renewed.body.lexp, record.claims.lexp);
    assert.equal(renewed.body.token.split(".").length, 3);
    assert.equal(await check(), true);
    const after = await call(worker, "GET", `/api/licenses/${record.lid}`);
    assert.equal(after.body.token, renewed.body.token, "the license record follows the renewal");

    const removed = await remove(self());
    assert.equal(removed.status, 202);
    assert.deepEqual(removed.body, {});
    assert.equal(await check(), false);
    assert.equal((await remove(self())).status, 202, "removing what is absent is still 202");
  });

  test("renew also works with no body at all", async () => {
    const record = await issue(self());
    assert.equal((await apply(record.token)).status, 200);
    const res = await call(worker, "POST", "/api/licensing/token/renew");
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal((await remove(self())).status, 202);
  });

  test("?instance= holds the licenses of other instances apart", async () => {
    const other = "https://customer-app.example/";
    const q = `?instance=${encodeURIComponent(other)}`;
    const record = await issue(other);
    assertError(await apply(record.token), 400, "INVALID_LICENSE", { reason: "WRONG_INSTANCE" });
    assert.equal((await apply(record.token, q)).status, 200);
    assert.equal(await check(q), true);
    assert.equal(await check(`?instance=${encodeURIComponent("HTTPS://Customer-App.example")}`), true, "canonical");
    assert.equal(await check(), false, "this deployment's own instance is untouched");
    const renewed = await call(worker, "POST", `/api/licensing/token/renew${q}`, { body: {} });
    assert.equal(renewed.status, 200);
    assert.equal(renewed.body.sub, other);
    assertError(await remove(self(), q), 422, "INVALID_INSTANCE");
    assert.equal((await remove(other, q)).status, 202);
    assert.equal(await check(q), false);
  });

  test("the console's view of the applied license", async () => {
    const none = await call(worker, "GET", "/api/licensing/applied");
    assert.equal(none.status, 200);
    assert.equal(none.body, null);
    const record = await issue(self());
    await apply(record.token);
    const view = await call(worker, "GET", "/api/licensing/applied");
    assert.equal(view.body.valid, true);
    assert.equal(view.body.claims.lid, record.lid);
    assert.equal(view.body.applied_by, "admin");
    await call(worker, "POST", `/api/licenses/${record.lid}/revoke`);
    const revoked = await call(worker, "GET", "/api/licensing/applied");
    assert.equal(revoked.body.valid, false);
    assert.equal(revoked.body.code, "REVOKED");
    await remove(self());
  });
});

describe("refused licenses are 400 and store nothing", () => {
  const cases = [
    ["the seed's own example token (HS256)", () => SEED_EXAMPLE_TOKEN, "WRONG_ALGORITHM"],
    ["garbage", () => "not-a-token", "MALFORMED"],
    ["an empty token", () => "", "MALFORMED"],
    ["an expired token", () => signWithRootKey(forgedClaims({ exp: now() - 10 }), kid), "EXPIRED"],
    ["an expired license", () => signWithRootKey(forgedClaims({ lexp: now() - 10 }), kid), "LICENSE_EXPIRED"],
    ["a not-yet-valid token", () => signWithRootKey(forgedClaims({ nbf: now() + DAY }), kid), "NOT_YET_VALID"],
    ["another issuer", () => signWithRootKey(forgedClaims({ iss: "https://evil.example/" }), kid), "WRONG_ISSUER"],
    ["another instance", () => signWithRootKey(forgedClaims({ sub: "https://other.example/" }), kid), "WRONG_INSTANCE"],
    ["an unknown key id", () => signWithRootKey(forgedClaims(), "not-our-kid"), "UNKNOWN_KEY"],
    ["a tampered payload", () => {
      const [h, , s] = signWithRootKey(forgedClaims(), kid).split(".");
      return `${h}.${Buffer.from(JSON.stringify(forgedClaims({ included_users: 9999 }))).toString("base64url")}.${s}`;
    }, "BAD_SIGNATURE"],
  ];
  for (const [name, token, reason] of cases) {
    test(`${name}: ${reason}`, async () => {
      const res = await apply(token());
      assertError(res, 400, "INVALID_LICENSE", { reason });
      assert.equal(await check(), false);
      assert.equal((await call(worker, "GET", "/api/licensing/applied")).body, null);
    });
  }

  test("a token forged with the real key but valid claims is accepted (the key is what counts)", async () => {
    // The key that counts is the one the deployment publishes, under the kid it signs with.
    const { keys } = await (await fetch(`${worker.url}/.well-known/jwks.json`)).json();
    assert.equal(keys.find((k) => k.kid === kid)?.x, PUBLIC_JWK.x, "the deployment publishes the key it was started with");
    const res = await apply(signWithRootKey(forgedClaims(), kid));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual([res.body.status, res.body.jti, res.body.lid, res.body.company], [0, "forged", "forged-lid", "Forged"]);
    assert.equal(await check(), true);
    const applied = (await call(worker, "GET", "/api/licensing/applied")).body;
    assert.deepEqual([applied.valid, applied.claims.lid, applied.claims.company], [true, "forged-lid", "Forged"]);
    await remove(self());
  });

  test("a revoked license cannot be applied or renewed", async () => {
    const record = await issue(self());
    assert.equal((await apply(record.token)).status, 200);
    await call(worker, "POST", `/api/licenses/${record.lid}/revoke`);
    assert.equal(await check(), false);
    assertError(await call(worker, "POST", "/api/licensing/token/renew", { body: {} }), 400, "INVALID_LICENSE", { reason: "REVOKED" });
    assertError(await apply(record.token), 400, "INVALID_LICENSE", { reason: "REVOKED" });
    await remove(self());
  });

  test("an expired license cannot be renewed", async () => {
    // The token itself stays valid for a day: only the license's own end (lexp) passes.
    const lexp = now() + 5;
    const token = signWithRootKey(forgedClaims({ jti: "x", lid: "short", lexp, exp: now() + DAY }), kid);
    assert.equal((await apply(token)).status, 200);
    assert.equal(await check(), true, "valid before its lexp");
    assert.ok(Date.now() < lexp * 1000, "checked before its lexp (the machine answered within 5 s)");
    // Wait for the worker's own clock to pass lexp, not a fixed time.
    await untilServerTime(worker, lexp);
    assert.equal(await check(), false);
    const applied = (await call(worker, "GET", "/api/licensing/applied")).body;
    assert.deepEqual([applied.valid, applied.code], [false, "LICENSE_EXPIRED"]);
    assertError(await call(worker, "POST", "/api/licensing/token/renew", { body: {} }), 400, "INVALID_LICENSE", { reason: "LICENSE_EXPIRED" });
    await remove(self());
  });
});

describe("bad input", () => {
  test("apply: malformed JSON, wrong types, missing or unknown fields, oversized", async () => {
    assertError(await call(worker, "POST", "/api/licensing/token", { raw: "{" }), 400, "MALFORMED_JSON");
    assertError(await call(worker, "POST", "/api/licensing/token", { body: { token: 42 } }), 400, "INVALID_BODY");
    assertError(await call(worker, "POST", "/api/licensing/token", { body: {} }), 400, "INVALID_BODY");
    assertError(await call(worker, "POST", "/api/licensing/token", { body: { token: "a", extra: 1 } }), 400, "INVALID_BODY");
    assertError(await call(worker, "POST", "/api/licensing/token", { body: { token: "a".repeat(70_000) } }), 413, "PAYLOAD_TOO_LARGE");
    assertError(await call(worker, "POST", "/api/licensing/token", { body: { token: "a".repeat(9_000) } }), 400, "INVALID_LICENSE", { reason: "MALFORMED" });
    assert.equal(await check(), false);
  });

  test("renew: nothing applied is 404; a body with fields is 400", async () => {
    assertError(await call(worker, "POST", "/api/licensing/token/renew", { body: {} }), 404, "NOT_FOUND");
    assertError(await call(worker, "POST", "/api/licensing/token/renew", { body: { force: true } }), 400, "INVALID_BODY");
    assertError(await call(worker, "POST", "/api/licensing/token/renew", { raw: "[" }), 400, "MALFORMED_JSON");
  });

  test("delete: a missing or wrong instance is 422", async () => {
    assertError(await call(worker, "DELETE", "/api/licensing/token", { body: {} }), 422, "INVALID_INSTANCE");
    assertError(await call(worker, "DELETE", "/api/licensing/token"), 422, "INVALID_INSTANCE");
    assertError(await remove("not a url"), 422, "INVALID_INSTANCE");
    assertError(await remove("https://someone-else.example/"), 422, "INVALID_INSTANCE");
    assertError(await call(worker, "DELETE", "/api/licensing/token", { body: { instance: 5 } }), 422, "INVALID_INSTANCE");
    assertError(await call(worker, "DELETE", "/api/licensing/token?instance=nope", { body: { instance: "nope" } }), 422, "INVALID_INSTANCE");
    assertError(await call(worker, "DELETE", "/api/licensing/token", { raw: "{" }), 400, "MALFORMED_JSON");
  });

  test("an invalid ?instance= is 400 INVALID_FIELD", async () => {
    const res = await call(worker, "GET", "/api/licensing/check?instance=nope");
    assertError(res, 400, "INVALID_FIELD", { field: "instance" });
    // Too long to be a storage key: refused before it reaches KV, never a 500.
    const long = encodeURIComponent(`https://${"a".repeat(600)}.example/`);
    assertError(await call(worker, "GET", `/api/licensing/check?instance=${long}`), 400, "INVALID_FIELD", { field: "instance" });
    assertError(await call(worker, "POST", `/api/licensing/token?instance=${long}`, { body: { token: "x" } }), 400, "INVALID_FIELD");
  });

  test("ids that no record could have are 404, never a 500", async () => {
    const long = "x".repeat(600);
    assertError(await call(worker, "GET", `/api/licenses/${long}`), 404, "NOT_FOUND");
    assertError(await call(worker, "POST", `/api/licenses/${long}/revoke`), 404, "NOT_FOUND");
    assertError(await call(worker, "GET", "/api/licenses/a%20b"), 404, "NOT_FOUND");
    assertError(await call(worker, "GET", `/api/tokens/${long}`), 404, "NOT_FOUND");
    assertError(await call(worker, "GET", `/api/users/${long}`), 404, "NOT_FOUND");
  });
});

describe("the 8 KiB cap, on real licenses", () => {
  // A license this deployment issued, its company padded so the token, signed again with
  // the deployment's key (by jose, under the key's RFC 7638 thumbprint), is exactly
  // `length` bytes long. One byte over the cap is MALFORMED unread; at the cap, valid.
  let record;
  let sized;
  before(async () => {
    record = await issue(self());
    const thumbprint = await calculateJwkThumbprint({ kty: PUBLIC_JWK.kty, crv: PUBLIC_JWK.crv, x: PUBLIC_JWK.x });
    assert.equal(thumbprint, kid, "the deployment's kid is its key's RFC 7638 thumbprint");
    assert.equal(JSON.parse(Buffer.from(record.token.split(".")[0], "base64url")).kid, kid);
    const headers = [{ alg: "EdDSA", typ: "JWT", kid }];
    sized = async (length) => signToLength(length, record.claims, { key: ROOT_PRIVATE_KEY, headers });
  });
  const validate = (token) => call(worker, "POST", "/api/licenses/validate", { auth: null, body: { token } });

  test("POST /api/licenses/validate: 8,192 bytes valid, 8,193 MALFORMED with no claims read", async () => {
    const at = await sized(8192);
    const ok = await validate(at.token);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.deepEqual([ok.body.valid, ok.body.code], [true, null]);
    assert.deepEqual(ok.body.claims, at.claims, "every claim read back, the padded company too");
    const over = await sized(8193);
    const refused = await validate(over.token);
    assert.equal(refused.status, 200, JSON.stringify(refused.body));
    assert.deepEqual([refused.body.valid, refused.body.code, refused.body.claims], [false, "MALFORMED", null]);
  });

  test("POST /api/licensing/token: 8,193 bytes refused and nothing applied; 8,192 applied", async () => {
    const over = await sized(8193);
    assertError(await apply(over.token), 400, "INVALID_LICENSE", { reason: "MALFORMED" });
    assert.equal(await check(), false);
    assert.equal((await call(worker, "GET", "/api/licensing/applied")).body, null);
    const at = await sized(8192);
    const res = await apply(at.token);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual([res.body.lid, res.body.company], [record.lid, at.claims.company]);
    assert.equal(await check(), true);
    assert.equal((await remove(self())).status, 202);
  });

  test("POST /api/seats/checkout: 8,193 bytes MALFORMED; 8,192 lends a seat", async () => {
    const over = await sized(8193);
    assertError(await checkout(worker, over.token, "ann", { product: "tessera-pro" }), 400, "MALFORMED");
    const at = await sized(8192);
    const res = await checkout(worker, at.token, "ann", { product: "tessera-pro" });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.lease.lid, record.lid);
  });
});

describe("Basic auth of a server administrator only", () => {
  const routes = [
    ["GET", "/api/licensing/check"],
    ["POST", "/api/licensing/token", { token: "x" }],
    ["POST", "/api/licensing/token/renew", {}],
    ["DELETE", "/api/licensing/token", { instance: "https://x.example/" }],
    ["GET", "/api/licensing/applied"],
  ];
  for (const [method, path, body] of routes) {
    test(`${method} ${path}`, async () => {
      assertError(await call(worker, method, path, { auth: null, body }), 401, "UNAUTHORIZED");
      assertError(await call(worker, method, path, { auth: "Bearer eyJrIjoiT0tTcG1pUlY2RnVKZTFVaDFsNFZXdE9ZWmNrMkZYbk", body }), 401, "UNAUTHORIZED");
      assertError(await call(worker, method, path, { auth: admin, body }), 403, "FORBIDDEN");
    });
  }
});

describe("persistence", () => {
  test("an applied license survives a restart of wrangler dev on the same state", async () => {
    // A fixed issuer: the restarted worker listens on another port (another origin).
    const env = envFile({ ISSUER_URL: "https://licenses.test/" });
    const first = await startWorker({ keepState: true, envFile: env });
    const instance = `${first.url}/`;
    const res = await call(first, "POST", "/api/licenses", { body: issueRequest(instance) });
    assert.equal(res.status, 201);
    // The restarted worker listens on another port: apply with an explicit instance.
    const q = `?instance=${encodeURIComponent("https://persisted.example/")}`;
    const other = await call(first, "POST", "/api/licenses", { body: issueRequest("https://persisted.example/") });
    assert.equal((await call(first, "POST", `/api/licensing/token${q}`, { body: { token: other.body.token } })).status, 200);
    const stateDir = first.stateDir;
    await first.stop();

    const second = await startWorker({ stateDir, envFile: env });
    try {
      assert.equal((await call(second, "GET", `/api/licensing/check${q}`)).body, true);
      const licenses = (await call(second, "GET", "/api/licenses")).body.items;
      assert.deepEqual(new Set(licenses.map((l) => l.lid)), new Set([res.body.lid, other.body.lid]));
      const login = await call(second, "GET", "/api/me", { auth: ADMIN_AUTH });
      assert.equal(login.status, 200, "the bootstrap admin persisted too");
    } finally {
      await second.stop();
      const { rmSync } = await import("node:fs");
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
