// Issuing: POST/GET /api/licenses, GET /api/licenses/:lid, POST /api/licenses/:lid/revoke.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { assertError, call, issueRequest, userWithRole } from "../support/api.mjs";
import { basic } from "../support/secrets.mjs";
import { startWorker } from "../support/wrangler.mjs";

let worker;
let viewer;
let editor;
before(async () => {
  worker = await startWorker();
  viewer = await userWithRole(worker, "viewer");
  editor = await userWithRole(worker, "editor");
});
after(async () => {
  await worker?.stop();
});

const instance = () => `${worker.url}/`;
const list = async () => (await call(worker, "GET", "/api/licenses?limit=1000")).body.items;

describe("ok", () => {
  test("issue, list, read and revoke a license", async () => {
    const issued = await call(worker, "POST", "/api/licenses", { body: issueRequest(instance()) });
    assert.equal(issued.status, 201, JSON.stringify(issued.body));
    const record = issued.body;
    assert.equal(record.state, "active");
    assert.equal(record.claims.sub, instance());
    assert.equal(record.claims.iss, instance());
    assert.deepEqual(record.claims.prod, ["tessera-pro"]);
    assert.equal(record.claims.lid, record.lid);
    assert.equal(record.created_by, "admin");
    assert.equal(record.token.split(".").length, 3);

    // A license token is a seat credential: a list never shows one, and one license
    // shows it only to a caller who may issue licenses.
    const all = await list();
    const listed = all.find((r) => r.lid === record.lid);
    const { token, ...withoutToken } = record;
    assert.deepEqual(listed, withoutToken, "the list: ids and claims, no token");
    const one = await call(worker, "GET", `/api/licenses/${record.lid}`, { auth: viewer });
    assert.equal(one.status, 200);
    assert.deepEqual(one.body, withoutToken, "a viewer (licenses:read) sees no token");
    const byEditor = await call(worker, "GET", `/api/licenses/${record.lid}`, { auth: editor });
    assert.equal(byEditor.body.token, token, "an editor (licenses:write) does");

    const revoked = await call(worker, "POST", `/api/licenses/${record.lid}/revoke`, { auth: editor });
    assert.equal(revoked.status, 200);
    assert.equal(revoked.body.state, "revoked");
    assert.match(revoked.body.created_by, /admin/);
    assert.ok(revoked.body.revoked_by.startsWith("editor-"));
    const again = await call(worker, "POST", `/api/licenses/${record.lid}/revoke`);
    assert.equal(again.status, 200);
    assert.deepEqual(again.body, revoked.body, "revoking twice changes nothing");
  });

  test("the list comes in pages, each license once", async () => {
    for (let i = 0; i < 3; i++) {
      assert.equal((await call(worker, "POST", "/api/licenses", { body: issueRequest(instance()) })).status, 201);
    }
    const seen = [];
    let cursor = "";
    for (let pages = 0; ; pages++) {
      const page = (await call(worker, "GET", `/api/licenses?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`)).body;
      assert.ok(page.items.length <= 2);
      seen.push(...page.items.map((r) => r.lid));
      if (!page.next_cursor) break;
      cursor = page.next_cursor;
      assert.ok(pages < 50);
    }
    assert.equal(new Set(seen).size, seen.length, "no license twice");
    assert.deepEqual(seen.sort(), (await list()).map((r) => r.lid).sort(), "every license");
  });

  test("an editor issues; defaults fill the optional terms", async () => {
    const res = await call(worker, "POST", "/api/licenses", { auth: editor, body: issueRequest(instance()) });
    assert.equal(res.status, 201);
    const c = res.body.claims;
    assert.equal(c.exp - c.iat, 30 * 86_400);
    assert.deepEqual([c.lic_exp_warn_days, c.tok_exp_warn_days, c.update_days, c.limit_by], [30, 2, 1, "users"]);
  });
});

describe("bad input changes nothing", () => {
  const bad = [
    ["malformed JSON", { raw: '{"company": ' }, 400, "MALFORMED_JSON"],
    ["a JSON array", { raw: "[1,2,3" }, 400, "MALFORMED_JSON"],
    ["a wrong type", { body: { ...issueRequest("https://x.example/"), company: 5 } }, 400, "INVALID_BODY"],
    ["a missing field", { body: { company: "A", products: ["p"], expires_at: 2e9 } }, 400, "INVALID_BODY"],
    ["an unknown field", { body: { ...issueRequest("https://x.example/"), expires: 1 } }, 400, "INVALID_BODY"],
    ["a negative number", { body: { ...issueRequest("https://x.example/"), included_users: -1 } }, 400, "INVALID_BODY"],
    ["a bad instance", { body: issueRequest("not a url") }, 400, "INVALID_FIELD", { field: "instance" }],
    ["no products", { body: issueRequest("https://x.example/", { products: [] }) }, 400, "INVALID_FIELD", { field: "products" }],
    ["an expiry in the past", { body: issueRequest("https://x.example/", { expires_at: 1000 }) }, 400, "INVALID_FIELD", { field: "expires_at" }],
    ["an empty company", { body: issueRequest("https://x.example/", { company: "  " }) }, 400, "INVALID_FIELD", { field: "company" }],
    ["a token over 8 KiB", { body: issueRequest("https://x.example/", { products: Array.from({ length: 32 }, (_, i) => String(i).padStart(200, "p")) }) }, 400, "INVALID_FIELD", { field: "request" }],
    ["an oversized body", { raw: JSON.stringify({ ...issueRequest("https://x.example/"), company: "x".repeat(70_000) }) }, 413, "PAYLOAD_TOO_LARGE"],
    ["a form body", { raw: "company=x", contentType: "application/x-www-form-urlencoded" }, 415, "UNSUPPORTED_MEDIA_TYPE"],
  ];
  for (const [name, options, status, code, extra] of bad) {
    test(`${name}: ${status} ${code}`, async () => {
      const before = await list();
      const res = await call(worker, "POST", "/api/licenses", options);
      assertError(res, status, code, extra, name);
      assert.deepEqual(await list(), before);
    });
  }

  test("bad pages are 400", async () => {
    for (const q of ["limit=0", "limit=1001", "limit=x"]) {
      assertError(await call(worker, "GET", `/api/licenses?${q}`), 400, "INVALID_FIELD", { field: "limit" });
    }
  });

  test("unknown license ids are 404", async () => {
    assertError(await call(worker, "GET", "/api/licenses/no-such-lid"), 404, "NOT_FOUND");
    assertError(await call(worker, "POST", "/api/licenses/no-such-lid/revoke"), 404, "NOT_FOUND");
  });

  test("wrong methods are 405 with Allow", async () => {
    const res = await call(worker, "DELETE", "/api/licenses");
    assertError(res, 405, "METHOD_NOT_ALLOWED");
    assert.equal(res.headers.get("allow"), "GET, POST");
  });
});

describe("unauthenticated", () => {
  const cases = [
    ["no credentials", null],
    ["a wrong password", basic("admin", "wrong")],
    ["an unknown user", basic("nobody", "whatever-password")],
    ["a malformed header", "Basic %%%"],
    ["a bearer token", "Bearer tsr_abcdef"],
  ];
  for (const [name, auth] of cases) {
    test(`${name}: 401, never with a Basic challenge`, async () => {
      for (const [method, path] of [["GET", "/api/licenses"], ["POST", "/api/licenses"], ["GET", "/api/licenses/x"], ["POST", "/api/licenses/x/revoke"]]) {
        const res = await call(worker, method, path, { auth, body: method === "POST" ? issueRequest(instance()) : undefined });
        assertError(res, 401, "UNAUTHORIZED");
        // A Basic challenge would make a browser ask for a password and keep it.
        assert.equal(res.headers.get("www-authenticate"), 'Bearer realm="tessera"');
      }
    });
  }
});

describe("forbidden", () => {
  test("a viewer reads but cannot issue or revoke", async () => {
    const before = await list();
    assert.equal((await call(worker, "GET", "/api/licenses", { auth: viewer })).status, 200);
    assertError(await call(worker, "POST", "/api/licenses", { auth: viewer, body: issueRequest(instance()) }), 403, "FORBIDDEN");
    const lid = before[0]?.lid ?? "x";
    assertError(await call(worker, "POST", `/api/licenses/${lid}/revoke`, { auth: viewer }), 403, "FORBIDDEN");
    assert.deepEqual(await list(), before);
  });
});
