// API tokens and the vault access token in the console, in real Chromium:
// create → copy → use → disable → refused, the details tabs, and seed 002's vault flows.
import assert from "node:assert/strict";
import { test } from "node:test";
import { call } from "../support/api.mjs";
import { screenshot, signIn, useWorkerAndBrowser } from "../support/browser.mjs";
import { ADMIN } from "../support/secrets.mjs";

const env = useWorkerAndBrowser();

async function adminPage() {
  const context = await env.browser.newContext();
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: env.worker.url });
  const page = await context.newPage();
  page.on("dialog", (d) => d.accept());
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await signIn(page, env.worker.url, ADMIN.username, ADMIN.password);
  return { page, errors };
}

const clipboard = (page) => page.evaluate(() => navigator.clipboard.readText());
const status = (bearer, path = "/api/licenses") => call(env.worker, "GET", path, { auth: bearer }).then((r) => r.status);

test("create → copy → use → details → disable → refused → delete", async () => {
  const { page, errors } = await adminPage();
  await page.getByRole("link", { name: "API tokens" }).click();
  await page.getByTestId("no-tokens").waitFor();

  await page.getByRole("button", { name: "Add" }).click();
  const dialog = page.getByRole("dialog", { name: "Create API token" });
  await dialog.getByLabel("Description (optional)").fill("Report tool");
  await dialog.getByLabel("licenses").check();
  await dialog.getByRole("button", { name: "Save" }).click();

  const shown = page.getByRole("dialog", { name: "API token created" });
  const secret = await shown.getByTestId("secret").textContent();
  assert.match(secret, /^tsr_/);
  await shown.getByRole("button", { name: "Copy" }).click();
  await shown.getByRole("button", { name: "Copied" }).waitFor();
  assert.equal(await clipboard(page), secret, "the copy button copied the secret");
  await screenshot(page, "console-token-created");
  await shown.getByRole("button", { name: "Close" }).click();

  // Use the copied token.
  const bearer = `Bearer ${await clipboard(page)}`;
  assert.equal(await status(bearer), 200);
  assert.equal(await status(bearer, "/api/users"), 403, "restricted to the licenses module");

  // The grid: token, description, creation date, last used, status, modules.
  await page.reload();
  const row = page.locator("tr[data-token]");
  await row.waitFor();
  assert.equal(await row.locator('[data-col="description"]').textContent(), "Report tool");
  assert.equal(await row.locator('[data-col="status"]').textContent(), "Active");
  assert.notEqual(await row.locator('[data-col="last-used"]').textContent(), "Unknown", "last used shows the use");
  assert.ok(!(await page.content()).includes(secret.slice(12)), "the secret is not on the page any more");

  // The details page and its tabs.
  await row.getByRole("link").click();
  await page.getByRole("tab", { name: "General" }).waitFor();
  assert.equal(await page.getByTestId("details-description").textContent(), "Report tool");
  await page.getByRole("tab", { name: "Modules" }).click();
  await page.getByTestId("tabpanel").getByText("licenses").waitFor();
  await page.getByRole("tab", { name: "Details" }).click();
  await page.getByTestId("tabpanel").getByText(ADMIN.username).waitFor();
  await screenshot(page, "console-token-details");

  // Disable: refused at once.
  await page.getByRole("link", { name: "← API tokens" }).click();
  await row.getByRole("button", { name: "Disable" }).click();
  await row.locator('[data-col="status"]').filter({ hasText: "Disabled" }).waitFor();
  assert.equal(await status(bearer), 401);
  await row.getByRole("button", { name: "Enable" }).click();
  await row.locator('[data-col="status"]').filter({ hasText: "Active" }).waitFor();
  assert.equal(await status(bearer), 200);
  await row.getByRole("button", { name: "Delete" }).click();
  await row.locator('[data-col="status"]').filter({ hasText: "Deleted" }).waitFor();
  assert.equal(await status(bearer), 401);
  await screenshot(page, "console-tokens");
  assert.deepEqual(errors, []);
});

test("the vault access token: generate, copy, regenerate, delete", async () => {
  const { page, errors } = await adminPage();
  await page.getByRole("link", { name: "Settings" }).click();
  await page.getByTestId("vault-status").filter({ hasText: "No API access token" }).waitFor();

  await page.getByRole("button", { name: "Generate token" }).click();
  let shown = page.getByRole("dialog", { name: "API access token" });
  const first = await shown.getByTestId("secret").textContent();
  await shown.getByRole("button", { name: "Copy" }).click();
  await shown.getByRole("button", { name: "Copied" }).waitFor();
  assert.equal(await clipboard(page), first);
  await shown.getByRole("button", { name: "Close" }).click();
  assert.equal(await status(`Bearer ${first}`), 200);
  await page.getByTestId("vault-status").filter({ hasText: first.slice(0, 12) }).waitFor();
  assert.ok(!(await page.content()).includes(first.slice(12)), "the page never shows the value again");

  // Generate new token, confirmed in the dialog: the old one stops at once.
  await page.getByRole("button", { name: "Generate new token" }).click();
  await page.getByRole("dialog", { name: "Generate new token" }).getByRole("button", { name: "Generate new token" }).click();
  shown = page.getByRole("dialog", { name: "API access token" });
  const second = await shown.getByTestId("secret").textContent();
  assert.notEqual(second, first);
  await screenshot(page, "console-vault-token");
  await shown.getByRole("button", { name: "Close" }).click();
  assert.equal(await status(`Bearer ${first}`), 401);
  assert.equal(await status(`Bearer ${second}`), 200);

  // Delete token, confirmed in the dialog.
  await page.getByRole("button", { name: "Delete token" }).click();
  await page.getByRole("dialog", { name: "Delete token" }).getByRole("button", { name: "Delete token" }).click();
  await page.getByTestId("vault-status").filter({ hasText: "No API access token" }).waitFor();
  assert.equal(await status(`Bearer ${second}`), 401);
  assert.deepEqual(errors, []);
});

test("users and roles: add a user, change the role, disable", async () => {
  const { page, errors } = await adminPage();
  await page.getByRole("link", { name: "Users" }).click();
  // The page loads on first visit (a lazy chunk): until it is there, the sign-in form
  // it replaces still has a "Username" field.
  await page.getByRole("heading", { name: "Add a user" }).waitFor();
  await page.getByLabel("Username").fill("dana");
  await page.getByLabel("Password (12+ characters)").fill("dana-password-123");
  await page.locator('select[name="new-role"]').selectOption("editor");
  await page.getByRole("button", { name: "Add user" }).click();
  const row = page.locator('tr[data-user="dana"]');
  await row.waitFor();
  const dana = `Basic ${Buffer.from("dana:dana-password-123").toString("base64")}`;
  assert.equal((await call(env.worker, "GET", "/api/me", { auth: dana })).body.role, "editor");
  await row.getByLabel("Role of dana").selectOption("viewer");
  await page.waitForFunction(async (auth) => {
    const res = await fetch("/api/me", { headers: { Authorization: auth } });
    return (await res.json()).role === "viewer";
  }, dana);
  await row.getByRole("button", { name: "Disable" }).click();
  await row.locator('[data-col="status"]').filter({ hasText: "Disabled" }).waitFor();
  assert.equal((await call(env.worker, "GET", "/api/me", { auth: dana })).status, 403);
  // The last server administrator cannot be demoted: the API's message is shown.
  await page.locator('tr[data-user="admin"]').getByLabel("Role of admin").selectOption("viewer");
  await page.getByTestId("error").filter({ hasText: "last active server administrator" }).waitFor();
  await screenshot(page, "console-users");
  assert.deepEqual(errors, []);
});
