// The API specification (seeds 001/002, issue 9 finding 6): Settings → License Vault API
// → "API specification" opens Swagger UI (npm swagger-ui-dist, served as static assets)
// on the deployment's own OpenAPI document — every operation listed, "Try it out" works
// against this origin with the console's session — under a CSP that allows no inline
// script, without a single policy violation.
import assert from "node:assert/strict";
import { test } from "node:test";
import { screenshot, signIn, useWorkerAndBrowser } from "../support/browser.mjs";
import { ADMIN } from "../support/secrets.mjs";

const env = useWorkerAndBrowser();

test("Settings links the API specification; Swagger UI lists every operation and calls the API", async () => {
  const page = await env.browser.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(e.message));
  page.on("console", (m) => {
    if (/Content Security Policy|Refused to/.test(m.text())) problems.push(m.text());
  });
  page.on("request", (r) => {
    if (!r.url().startsWith(env.worker.url) && !r.url().startsWith("data:")) problems.push(`off-origin request: ${r.url()}`);
  });
  await signIn(page, env.worker.url, ADMIN.username, ADMIN.password);
  await page.goto(`${env.worker.url}/settings`);
  await page.getByRole("heading", { name: "License Vault API" }).waitFor();
  await page.getByRole("link", { name: "API specification" }).click();
  await page.waitForURL(`${env.worker.url}/swagger/`);
  await page.locator(".opblock").first().waitFor({ timeout: 30_000 });

  const doc = await (await fetch(`${env.worker.url}/api/openapi.json`)).json();
  const documented = Object.values(doc.paths).reduce((n, item) => n + Object.keys(item).length, 0);
  assert.equal(await page.locator(".opblock").count(), documented, "one block per documented operation");
  assert.equal(await page.locator(".info .title").first().textContent().then((t) => t.trim().startsWith("Tessera API")), true);

  // Try it out: GET /api/me, with the session cookie the console holds.
  const me = page.locator("#operations-default-Me");
  await me.locator(".opblock-summary").click();
  await me.getByRole("button", { name: "Try it out" }).click();
  await me.getByRole("button", { name: "Execute" }).click();
  const status = me.locator(".live-responses-table tbody .response-col_status").first();
  await status.waitFor();
  assert.equal((await status.textContent()).trim(), "200");
  assert.match(await me.locator(".live-responses-table .microlight").first().textContent(), /"username": "admin"/);
  await screenshot(page, "swagger");
  assert.deepEqual(problems, []);
});

test("the Swagger UI files: served, and only they allow inline style", async () => {
  for (const path of ["/swagger/", "/swagger/swagger-ui-bundle.js", "/swagger/swagger-ui.css", "/swagger/init.js"]) {
    const res = await fetch(`${env.worker.url}${path}`);
    assert.equal(res.status, 200, path);
    const csp = res.headers.get("content-security-policy") ?? "";
    assert.match(csp, /script-src 'self';/, `${path}: no inline script`);
    assert.match(csp, /style-src 'self' 'unsafe-inline'/, path);
    assert.equal(csp.split(",").length, 1, `${path}: one policy, the console's replaced`);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff", path);
  }
  const html = await (await fetch(`${env.worker.url}/swagger/`)).text();
  assert.ok(!/<script(?![^>]*\bsrc=)[^>]*>/.test(html), "no inline script in the Swagger page");
});
