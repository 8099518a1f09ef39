// The installed package loaded in real Chromium, from plain ES modules (no bundler).
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { dirname, extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import * as jose from "jose";

const ROOT = process.env.TESSERA_ROOT;
const { launchBrowser } = await import(`${ROOT}/tests/support/browser.mjs`);
const PACKAGE = join(dirname(fileURLToPath(import.meta.url)), "node_modules/tessera-license");
const TYPES = { ".js": "text/javascript", ".wasm": "application/wasm", ".html": "text/html" };

let server;
let browser;
let url;
before(async () => {
  server = createServer(async (req, res) => {
    const path = req.url === "/" ? "/page.html" : normalize(req.url.split("?")[0]);
    try {
      const body = path === "/page.html" ? "<!doctype html><title>validator</title>" : await readFile(join(PACKAGE, path));
      res.writeHead(200, { "Content-Type": TYPES[extname(path)] ?? "application/octet-stream" }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  url = `http://127.0.0.1:${server.address().port}`;
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await new Promise((ok) => server?.close(ok));
});

test("init, construct and validate in a browser page", async () => {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const jwks = { keys: [{ ...(await jose.exportJWK(publicKey)), kid: "k" }] };
  const now = Math.floor(Date.now() / 1000);
  const token = await new jose.SignJWT({ iss: "https://i.example/", sub: "https://app.example/", iat: now, exp: now + 3600, lexp: now + 86400, lid: "browser-lid" })
    .setProtectedHeader({ alg: "EdDSA", kid: "k" })
    .sign(privateKey);
  const page = await browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(`${url}/`);
  const result = await page.evaluate(
    async ({ jwks, token }) => {
      const { init, Validator } = await import("/index.js");
      await init();
      const v = new Validator(jwks, { instance: "https://APP.example" });
      // Change one signature character well inside it (the last ones carry padding bits).
      const i = token.lastIndexOf(".") + 10;
      const tampered = token.slice(0, i) + (token[i] === "A" ? "B" : "A") + token.slice(i + 1);
      return [v.validate(token), v.validate(tampered)];
    },
    { jwks, token },
  );
  assert.equal(result[0].valid, true, JSON.stringify(result[0]));
  assert.equal(result[0].claims.lid, "browser-lid");
  assert.equal(result[1].code, "BAD_SIGNATURE");
  assert.deepEqual(errors, []);
});
