// The console's Vault page in real Chromium: free and allocated seats per product, users
// holding seats with search, a user's leases with Revoke / Revoke all (and block), the
// blocked list, disconnect / connect — each checked against what an app then meets.
import assert from "node:assert/strict";
import { test } from "node:test";
import { call, createUser } from "../support/api.mjs";
import { screenshot, signIn, useWorkerAndBrowser } from "../support/browser.mjs";
import { ADMIN } from "../support/secrets.mjs";
import { checkout, eventually, heartbeat, heldBy, issueLicense } from "../support/seats.mjs";

const env = useWorkerAndBrowser();

async function page(username = ADMIN.username, password = ADMIN.password) {
  const p = await env.browser.newPage();
  const errors = [];
  p.on("pageerror", (e) => errors.push(e.message));
  await signIn(p, env.worker.url, username, password);
  await p.getByRole("link", { name: "Vault" }).click();
  await p.getByRole("heading", { name: "Products" }).waitFor();
  return { p, errors };
}

test("products, users, revoke one, revoke all with a block, unblock, disconnect and connect", async () => {
  const worker = env.worker;
  const license = await issueLicense(worker, { included_users: 3 });
  const annIde = (await checkout(worker, license.token, "ann@example.com")).body;
  const annProfiler = (await checkout(worker, license.token, "ann@example.com", { product: "profiler" })).body;
  const bobIde = (await checkout(worker, license.token, "bob@example.com")).body;
  await eventually(async () => (await heldBy(worker, "bob@example.com")).length === 1, { what: "the roll-up" });

  const { p, errors } = await page();
  const ide = p.locator('tr[data-product="ide"]');
  assert.equal(await ide.locator('[data-col="allocated"]').textContent(), "2");
  assert.equal(await ide.locator('[data-col="free"]').textContent(), "1");
  assert.equal(await ide.getByRole("meter").getAttribute("aria-valuenow"), "2");
  await screenshot(p, "console-vault");

  // Search narrows the users holding seats.
  await p.getByLabel("Search users").fill("ann");
  await p.locator('tr[data-user="bob@example.com"]').waitFor({ state: "detached" });
  const ann = p.locator('tr[data-user="ann@example.com"]');
  assert.equal(await ann.locator('[data-col="leases"]').textContent(), "2");

  // Revoke one of ann's leases, confirmed in a dialog.
  await ann.getByRole("button", { name: "ann@example.com" }).click();
  const leases = p.getByTestId("user-leases");
  await leases.locator(`tr[data-lease="${annIde.lease.id}"]`).getByRole("button", { name: "Revoke" }).click();
  await p.getByRole("dialog", { name: "Revoke license" }).getByRole("button", { name: "Revoke" }).click();
  await leases.locator(`tr[data-lease="${annIde.lease.id}"]`).waitFor({ state: "detached" });
  assert.equal((await heartbeat(worker, annIde.token)).status, 410);
  assert.equal((await heartbeat(worker, annProfiler.token)).status, 200);

  // Revoke all, and block.
  await leases.getByRole("button", { name: "Revoke all" }).click();
  const dialog = p.getByRole("dialog", { name: "Revoke all licenses" });
  await dialog.getByLabel("Also block this user from taking seats").check();
  await screenshot(p, "console-vault-revoke-all");
  await dialog.getByRole("button", { name: "Revoke all" }).click();
  await leases.getByTestId("no-leases").waitFor();
  await p.locator('[data-testid="blocks"] tr[data-user="ann@example.com"]').waitFor();
  assert.equal((await heartbeat(worker, annProfiler.token)).status, 410);
  assert.equal((await checkout(worker, license.token, "ann@example.com")).body.error.code, "USER_BLOCKED");

  // Unblock: ann may take a seat again.
  await p.locator('[data-testid="blocks"] tr[data-user="ann@example.com"]').getByRole("button", { name: "Unblock" }).click();
  await p.getByTestId("no-blocks").waitFor();
  assert.equal((await checkout(worker, license.token, "ann@example.com")).status, 201);

  // Disconnect the product: bob's seat ends; connect it again.
  await ide.getByRole("button", { name: "Disconnect" }).click();
  await p.getByRole("dialog", { name: "Disconnect product" }).getByRole("button", { name: "Disconnect" }).click();
  await ide.locator('[data-col="state"]').filter({ hasText: "Disconnected" }).waitFor();
  assert.equal((await heartbeat(worker, bobIde.token)).status, 410);
  assert.equal((await checkout(worker, license.token, "bob@example.com")).body.error.code, "PRODUCT_DISCONNECTED");
  await ide.getByRole("button", { name: "Connect" }).click();
  await p.getByRole("dialog", { name: "Connect product" }).getByRole("button", { name: "Connect" }).click();
  await ide.locator('[data-col="state"]').filter({ hasText: "Connected" }).waitFor();
  assert.equal((await checkout(worker, license.token, "bob@example.com")).status, 201);
  assert.deepEqual(errors, [], "no uncaught errors in the page");
});

test("a viewer sees the vault but no action that changes it", async () => {
  const viewer = await createUser(env.worker, "viewer");
  const { p, errors } = await page(viewer.username, viewer.password);
  await p.getByTestId("products").or(p.getByTestId("no-products")).first().waitFor();
  assert.equal(await p.getByRole("button", { name: "Disconnect" }).count(), 0);
  assert.equal(await p.getByRole("button", { name: "Revoke all" }).count(), 0);
  // The API agrees: seats:read, not seats:write.
  assert.equal((await call(env.worker, "GET", "/api/vault/products", { auth: viewer.auth })).status, 200);
  assert.equal((await call(env.worker, "POST", "/api/vault/products/ide/disconnect", { auth: viewer.auth })).status, 403);
  assert.deepEqual(errors, []);
});
