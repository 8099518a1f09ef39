// The console in real Chromium: sign in, issue a license, apply it, see it valid with
// its claims, renew it, remove it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { screenshot, useWorkerAndBrowser } from "../support/browser.mjs";
import { ADMIN } from "../support/secrets.mjs";

const env = useWorkerAndBrowser();

test("sign in, issue, apply, see it valid, renew, remove", async () => {
  const page = await env.browser.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("dialog", (d) => d.accept());

  // Sign in; a wrong password first shows the API's message.
  await page.goto(`${env.worker.url}/sign-in`);
  await page.getByLabel("Username").fill(ADMIN.username);
  await page.getByLabel("Password").fill("not-the-password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByTestId("error").filter({ hasText: "wrong username or password" }).waitFor();
  await page.getByLabel("Password").fill(ADMIN.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByTestId("signed-in-as").filter({ hasText: ADMIN.username }).waitFor();
  await page.waitForURL(/\/licenses$/);

  // Issue a license for this deployment's own instance (the form's default).
  await page.getByLabel("Company").fill("Browser Test Ltd");
  await page.getByLabel("Expires").fill("2031-01-31");
  await page.getByLabel("Included users").fill("25");
  await page.getByRole("button", { name: "Issue license" }).click();
  const tokenBox = page.getByTestId("issued-token");
  await tokenBox.waitFor();
  const token = await tokenBox.inputValue();
  assert.equal(token.split(".").length, 3);
  const lid = await page.getByTestId("issued-lid").textContent();
  await page.locator(`tr[data-lid="${lid}"]`).waitFor();
  await screenshot(page, "console-licenses");

  // Apply it on the applied-license page.
  await page.getByRole("link", { name: "Applied license" }).click();
  await page.getByTestId("license-status").filter({ hasText: "No license is applied." }).waitFor();
  await page.getByLabel("License token").fill(token);
  await page.getByRole("button", { name: "Apply" }).click();
  await page.getByTestId("license-status").filter({ hasText: "valid" }).waitFor();
  assert.equal(await page.getByTestId("license-status").textContent(), "valid");
  assert.equal(await page.locator('[data-claim="Company"]').textContent(), "Browser Test Ltd");
  assert.equal(await page.locator('[data-claim="License id"]').textContent(), lid);
  assert.equal(await page.locator('[data-claim="Included users"]').textContent(), "25");
  assert.match(await page.locator('[data-claim="License expires"]').textContent(), /^2031-01-31/);
  const firstJti = await page.locator('[data-claim="Token id"]').textContent();
  await screenshot(page, "console-applied");

  // Renew: a fresh token (new id) for the same license.
  await page.getByRole("button", { name: "Renew" }).click();
  await page.getByTestId("notice").filter({ hasText: "renewed" }).waitFor();
  await page.waitForFunction(
    (old) => document.querySelector('[data-claim="Token id"]')?.textContent !== old,
    firstJti,
  );
  assert.equal(await page.locator('[data-claim="License id"]').textContent(), lid);

  // Remove it (the confirmation dialog is accepted).
  await page.getByRole("button", { name: "Remove" }).click();
  await page.getByTestId("license-status").filter({ hasText: "No license is applied." }).waitFor();

  // A pasted bad token shows the API's reason.
  await page.getByLabel("License token").fill("eyJhbGciOiJub25lIn0.e30.");
  await page.getByRole("button", { name: "Apply" }).click();
  await page.getByTestId("error").filter({ hasText: "WRONG_ALGORITHM" }).waitFor();
  await screenshot(page, "console-refused");
  assert.deepEqual(errors, [], "no uncaught errors in the page");
});
