// Cross-site requests (issue 9, finding 1): a browser that holds an administrator's
// Basic password must not act for another site. Every state-changing route refuses a
// request marked cross-site by `Sec-Fetch-Site` or `Origin`, every non-GET refuses a
// body that is not JSON, and no 401 invites a browser to keep a Basic password.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { assertError, call } from "../support/api.mjs";
import { issueLicence } from "../support/seats.mjs";
import { startWorker } from "../support/wrangler.mjs";

let worker;
before(async () => {
  worker = await startWorker();
});
after(async () => {
  await worker?.stop();
});

const EVIL = { Origin: "https://evil.example", "Sec-Fetch-Site": "cross-site" };
// The app-facing routes take no ambient credential (the token is in the body).
const APP = ["/api/licenses/validate", "/api/seats/checkout", "/api/seats/heartbeat", "/api/seats/release"];

describe("the probes of the finding", () => {
  test("a text/plain cross-site form cannot regenerate the vault token or rotate the key", async () => {
    const vaultBefore = (await call(worker, "GET", "/api/vault-token")).body;
    const keysBefore = (await call(worker, "GET", "/api/keys")).body;
    for (const path of ["/api/vault-token", "/api/keys/rotate"]) {
      const plain = await call(worker, "POST", path, { raw: "x=1", contentType: "text/plain", headers: EVIL });
      assertError(plain, 415, "UNSUPPORTED_MEDIA_TYPE");
      const json = await call(worker, "POST", path, { body: {}, headers: EVIL });
      assertError(json, 403, "CROSS_SITE_REQUEST");
      const bare = await call(worker, "POST", path, { headers: EVIL });
      assertError(bare, 403, "CROSS_SITE_REQUEST", {}, "a no-cors fetch with no body");
    }
    assert.deepEqual((await call(worker, "GET", "/api/vault-token")).body, vaultBefore);
    assert.deepEqual((await call(worker, "GET", "/api/keys")).body, keysBefore);
  });

  test("every state-changing route refuses a cross-site request, before it authenticates or acts", async () => {
    const doc = (await call(worker, "GET", "/api/openapi.json", { auth: null })).body;
    const routes = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.keys(ops)
        .filter((m) => ["post", "patch", "put", "delete"].includes(m))
        .map((m) => [m.toUpperCase(), path.replace(/\{[^}]+\}/g, "x")]),
    );
    assert.ok(routes.length >= 20, `${routes.length} state-changing routes`);
    const before = (await call(worker, "GET", "/api/users")).body;
    for (const [method, path] of routes) {
      const res = await call(worker, method, path, { body: {}, headers: EVIL });
      if (APP.includes(path)) {
        assert.notEqual(res.status, 403, `${method} ${path} is app-facing`);
        continue;
      }
      assertError(res, 403, "CROSS_SITE_REQUEST");
      for (const headers of [{ "Sec-Fetch-Site": "same-site" }, { Origin: "null" }, { Origin: "https://evil.example" }]) {
        assertError(await call(worker, method, path, { body: {}, headers }), 403, "CROSS_SITE_REQUEST");
      }
      assertError(await call(worker, method, path, { raw: "a=b", contentType: "application/x-www-form-urlencoded" }), 415, "UNSUPPORTED_MEDIA_TYPE");
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
    const licence = await issueLicence(worker);
    const res = await call(worker, "POST", "/api/seats/checkout", {
      auth: null,
      headers: EVIL,
      body: { license: licence.token, product: "ide", user: "ann" },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
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
