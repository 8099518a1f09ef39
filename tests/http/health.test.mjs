// Black-box HTTP tests of the worker's skeleton against the real runtime.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startWorker } from "../support/wrangler.mjs";

let worker;
before(async () => {
  worker = await startWorker();
});
after(async () => {
  await worker?.stop();
});

async function json(res) {
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  return res.json();
}

function assertEnvelope(body, code) {
  assert.deepEqual(Object.keys(body), ["error"]);
  assert.equal(body.error.code, code);
  assert.equal(typeof body.error.message, "string");
  assert.ok(body.error.message.length > 0);
}

describe("GET /api/health", () => {
  test("answers ok with the version, a KV round trip and the worker's clock", async () => {
    const res = await fetch(`${worker.url}/api/health`);
    assert.equal(res.status, 200);
    const body = await json(res);
    assert.equal(body.status, "ok");
    assert.equal(body.service, "tessera");
    assert.match(body.version, /^\d+\.\d+\.\d+$/);
    assert.equal(body.kv, true);
    assert.equal(body.signing, true);
    assert.equal(body.unopened_keys, 0);
    const now = Math.floor(Date.now() / 1000);
    assert.ok(Math.abs(body.time - now) < 300, `worker clock ${body.time} vs ${now}`);
  });
});

describe("errors use the one envelope", () => {
  test("an unknown API path is 404 NOT_FOUND", async () => {
    const res = await fetch(`${worker.url}/api/no-such-route`);
    assert.equal(res.status, 404);
    assertEnvelope(await json(res), "NOT_FOUND");
  });

  for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
    test(`${method} /api/health is 405 METHOD_NOT_ALLOWED with Allow`, async () => {
      const res = await fetch(`${worker.url}/api/health`, { method, body: method === "DELETE" ? undefined : "{}" });
      assert.equal(res.status, 405);
      assert.equal(res.headers.get("allow"), "GET");
      assertEnvelope(await json(res), "METHOD_NOT_ALLOWED");
    });
  }
});

describe("the console's assets", () => {
  test("/ serves the app shell, which loads the wasm bundle", async () => {
    const res = await fetch(`${worker.url}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
    const html = await res.text();
    assert.match(html, /<script type="module" src="\/boot\.js">/);
    assert.match(await (await fetch(`${worker.url}/boot.js`)).text(), /tessera_site\.js/);
    const wasm = await fetch(`${worker.url}/tessera_site_bg.wasm`);
    assert.equal(wasm.status, 200);
    assert.equal(wasm.headers.get("content-type"), "application/wasm");
    const bytes = new Uint8Array(await wasm.arrayBuffer());
    assert.deepEqual([...bytes.slice(0, 4)], [0x00, 0x61, 0x73, 0x6d], "wasm magic");
  });

  test("a client-side route falls back to the app shell on navigation", async () => {
    const res = await fetch(`${worker.url}/some/console/page`, {
      headers: { "Sec-Fetch-Mode": "navigate", Accept: "text/html" },
    });
    assert.equal(res.status, 200);
    assert.match(await res.text(), /\/boot\.js/);
  });
});
