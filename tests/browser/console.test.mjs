// The admin console in real headless Chromium against the real worker.
import assert from "node:assert/strict";
import { test } from "node:test";
import { screenshot, useWorkerAndBrowser } from "../support/browser.mjs";

const env = useWorkerAndBrowser();

test("the overview shows the API's health, read from /api/health", async () => {
  const page = await env.browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  const healthCall = page.waitForResponse((r) => r.url().endsWith("/api/health"));
  await page.goto(`${env.worker.url}/`);
  const res = await healthCall;
  const api = await res.json();

  const status = page.getByTestId("health-status");
  await status.waitFor({ timeout: 15_000 });
  assert.equal(await status.textContent(), "ok");
  assert.equal(await page.getByTestId("health-version").textContent(), api.version);
  assert.equal(await page.getByTestId("health-kv").textContent(), "reachable");
  const shot = await screenshot(page, "console-health");
  assert.deepEqual(errors, [], "no uncaught errors in the page");
  console.log(`screenshot: ${shot}`);
});

test("an unknown console page says so", async () => {
  const page = await env.browser.newPage();
  await page.goto(`${env.worker.url}/no/such/page`);
  await page.getByRole("heading", { name: "Not found" }).waitFor({ timeout: 15_000 });
});
