// Cross-site requests (issue 9, finding 1): a browser that holds an administrator's
// Basic password must not act for another site. Every state-changing route refuses a
// request marked cross-site by `Sec-Fetch-Site` or `Origin`, every non-GET refuses a
// body that is not JSON, and no 401 invites a browser to keep a Basic password.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { assertError, call } from "../support/api.mjs";
import { newInstallation, proof } from "../support/dpop.mjs";
import { issueLicense } from "../support/seats.mjs";
import { startWorker } from "../support/wrangler.mjs";

let worker;
before(async () => {
  worker = await startWorker();
});
after(async () => {
  await worker?.stop();
});

const EVIL = { Origin: "https://evil.example", "Sec-Fetch-Site": "cross-site" };
// The app-facing routes take no ambient credential (a token in the body or presented
// with a DPoP proof): what each answers an empty, unproved request.
const APP = {
  "/api/licenses/validate": [400, "INVALID_BODY"],
  "/api/seats/checkout": [400, "INVALID_BODY"],
  "/api/seats/heartbeat": [401, "UNAUTHORIZED"],
  "/api/seats/release": [401, "UNAUTHORIZED"],
  "/api/machines/activate": [400, "INVALID_BODY"],
};

describe("the probes of the finding", () => {
  test("a text/plain cross-site form cannot regenerate the vault token or rotate the key", async () => {
    const vaultBefore = (await call(worker, "GET", "/api/vault-token")).body;
    const keysBefore = (await call(worker, "GET", "/api/keys")).body;
    for (const path of ["/api/vault-token", "/api/keys/rotate"]) {
      // With the browser's cached password, and with no credential at all: the refusal
      // is the same, so it does not depend on who is asking.
      for (const [who, auth] of [["with a credential", undefined], ["with no credential", null]]) {
        const plain = await call(worker, "POST", path, { auth, raw: "x=1", contentType: "text/plain", headers: EVIL });
        assertError(plain, 415, "UNSUPPORTED_MEDIA_TYPE", {}, `a text/plain form, ${who}`);
        const json = await call(worker, "POST", path, { auth, body: {}, headers: EVIL });
        assertError(json, 403, "CROSS_SITE_REQUEST", {}, `a JSON fetch, ${who}`);
        const bare = await call(worker, "POST", path, { auth, headers: EVIL });
        assertError(bare, 403, "CROSS_SITE_REQUEST", {}, `a no-cors fetch with no body, ${who}`);
      }
    }
    assert.deepEqual((await call(worker, "GET", "/api/vault-token")).body, vaultBefore);
    assert.deepEqual((await call(worker, "GET", "/api/keys")).body, keysBefore);
  });

  test("every state-changing route refuses a cross-site request, before it authenticates or acts", async () => {
    const doc = (await call(worker, "GET", "/api/openapi.json", { auth: null })).body;
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops)
        .filter((m) => ["post", "patch", "put", "delete"].includes(m))
        .map((m) => [m.toUpperCase(), path.replace(/\{[^}]+\}/g, "x"), ops[m].security.length > 0]),
    );
    assert.ok(routes.length >= 20, `${routes.length} state-changing routes`);
    const before = (await call(worker, "GET", "/api/users")).body;
    for (const [method, path, secured] of routes) {
      const route = `${method} ${path}`;
      if (APP[path]) {
        // No cross-site check: the request goes on to the route, which refuses the empty
        // request for what it lacks (the route's own answer, not a 403 nor a 500).
        const res = await call(worker, method, path, { auth: null, body: {}, headers: EVIL });
        assertError(res, ...APP[path], {}, `${route} is app-facing`);
        assert.equal(res.headers.get("access-control-allow-origin"), "*", `${route} answers any origin`);
        continue;
      }
      assertError(await call(worker, method, path, { body: {}, headers: EVIL }), 403, "CROSS_SITE_REQUEST", {}, route);
      for (const headers of [{ "Sec-Fetch-Site": "same-site" }, { Origin: "null" }, { Origin: "https://evil.example" }]) {
        assertError(await call(worker, method, path, { body: {}, headers }), 403, "CROSS_SITE_REQUEST", {}, `${route} ${JSON.stringify(headers)}`);
      }
      // With no credential at all, the same: refused as cross-site before any
      // authentication, where the same request from no browser is asked to authenticate.
      for (const headers of [EVIL, { "Sec-Fetch-Site": "cross-site" }, { Origin: "https://evil.example" }]) {
        assertError(
          await call(worker, method, path, { auth: null, body: {}, headers }),
          403,
          "CROSS_SITE_REQUEST",
          {},
          `${route} with no credential, ${JSON.stringify(headers)}`,
        );
      }
      if (secured) {
        assertError(await call(worker, method, path, { auth: null, body: {} }), 401, "UNAUTHORIZED", {}, `${route} with no credential, not cross-site`);
      }
      assertError(await call(worker, method, path, { raw: "a=b", contentType: "application/x-www-form-urlencoded" }), 415, "UNSUPPORTED_MEDIA_TYPE", {}, route);
    }
    assert.deepEqual((await call(worker, "GET", "/api/users")).body, before, "nothing changed");
  });
});

describe("what still works", () => {
  test("the console's own requests (same origin), the address bar, and non-browser clients", async () => {
    const same = { Origin: worker.url, "Sec-Fetch-Site": "same-origin" };
    assert.equal((await call(worker, "POST", "/api/vault-token", { headers: same })).status, 201);
    assert.equal((await call(worker, "POST", "/api/vault-token", { headers: { "Sec-Fetch-Site": "none" } })).status, 201);
    assert.equal((await call(worker, "POST", "/api/vault-token")).status, 201, "curl sends neither header");
    assert.equal((await call(worker, "POST", "/api/vault-token", { raw: "", contentType: "application/json; charset=utf-8" })).status, 201);
  });

  test("the app-facing routes serve apps on other origins", async () => {
    const license = await issueLicense(worker);
    const me = await newInstallation();
    const app = async (path, { body, token } = {}) => {
      const headers = { ...EVIL, DPoP: await proof(me, "POST", `${worker.url}${path}`, { token }) };
      if (token) headers.Authorization = `DPoP ${token}`;
      return call(worker, "POST", path, { auth: null, headers, body });
    };
    const valid = await app("/api/licenses/validate", { body: { token: license.token, product: "ide" } });
    assert.equal(valid.status, 200, JSON.stringify(valid.body));
    assert.deepEqual([valid.body.valid, valid.body.code, valid.body.claims.lid], [true, null, license.lid]);
    const res = await app("/api/seats/checkout", { body: { license: license.token, product: "ide", user: "ann" } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.headers.get("access-control-allow-origin"), "*");
    const beat = await app("/api/seats/heartbeat", { token: res.body.token });
    assert.equal(beat.status, 200, JSON.stringify(beat.body));
    assert.equal(beat.body.lease.id, res.body.lease.id);
    const released = await app("/api/seats/release", { token: beat.body.token });
    assert.equal(released.status, 204, JSON.stringify(released.body));
    assertError(await app("/api/seats/heartbeat", { token: beat.body.token }), 410, "LEASE_REVOKED", {}, "released from another origin");
    // A browser asks first (a preflight: the DPoP and Authorization headers are not simple).
    const preflight = await fetch(`${worker.url}/api/seats/heartbeat`, {
      method: "OPTIONS",
      headers: { Origin: "https://app.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, dpop" },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get("access-control-allow-origin"), "*");
    assert.match(preflight.headers.get("access-control-allow-headers"), /DPoP/);
    // An administrator's route answers no other origin.
    const admin = await fetch(`${worker.url}/api/users`, { method: "OPTIONS", headers: { Origin: "https://app.example" } });
    assert.equal(admin.headers.get("access-control-allow-origin"), null);
    assertError(
      await call(worker, "POST", "/api/licenses/validate", { auth: null, headers: EVIL, raw: "token=x", contentType: "text/plain" }),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
    );
  });
});

describe("no Basic challenge", () => {
  test("a 401 never asks a browser for a password it would keep", async () => {
    for (const [method, path, auth] of [
      ["GET", "/api/me", null],
      ["GET", "/api/licenses", "Basic " + Buffer.from("admin:wrong").toString("base64")],
      ["POST", "/api/keys/rotate", "Bearer tsr_nope"],
      ["GET", "/api/licensing/check", "Bearer tsr_nope"],
    ]) {
      const res = await call(worker, method, path, { auth });
      assertError(res, 401, "UNAUTHORIZED");
      assert.equal(res.headers.get("www-authenticate"), 'Bearer realm="tessera"', `${method} ${path}`);
    }
  });
});
