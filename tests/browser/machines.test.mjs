// The console's machines page in real Chromium: a node-locked license's limits and the
// machines it is activated on, and deactivating one — checked against what the machine
// then meets.
import assert from "node:assert/strict";
import { test } from "node:test";
import { call } from "../support/api.mjs";
import { screenshot, signIn, useWorkerAndBrowser } from "../support/browser.mjs";
import { newInstallation, proof } from "../support/dpop.mjs";
import { ADMIN } from "../support/secrets.mjs";
import { checkout, heartbeat, issueLicense, knowInstallation } from "../support/seats.mjs";

const env = useWorkerAndBrowser();

async function activate(worker, license, installation, name) {
  const url = `${worker.url}/api/machines/activate`;
  const res = await call(worker, "POST", "/api/machines/activate", {
    auth: null,
    headers: { DPoP: await proof(installation, "POST", url) },
    body: { license, name, platform: "linux-x64" },
  });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body;
}

test("a license's machines: limits, the list, and deactivating one ends its seat", async () => {
  const worker = env.worker;
  const license = await issueLicense(worker, { max_machines: 2, max_concurrent_user_sessions: 0 });
  const build = knowInstallation(await newInstallation());
  const desk = knowInstallation(await newInstallation());
  const first = await activate(worker, license.token, build, "build-01");
  await activate(worker, license.token, desk, "desk-07");
  const seat = await checkout(worker, license.token, "ann", { installation: build });
  assert.equal(seat.status, 201);

  const p = await env.browser.newPage();
  const errors = [];
  p.on("pageerror", (e) => errors.push(e.message));
  p.on("dialog", (d) => d.accept());
  await signIn(p, worker.url, ADMIN.username, ADMIN.password);
  await p.getByRole("link", { name: "Licenses" }).click();
  await p.locator(`tr[data-lid="${license.lid}"]`).getByTestId("machines-link").click();
  await p.getByRole("heading", { name: /Machines of/ }).waitFor();
  assert.equal(await p.getByTestId("max-machines").textContent(), "2");
  assert.equal(await p.getByTestId("max-sessions").textContent(), "any number");
  assert.equal(await p.getByTestId("machine-count").textContent(), "2");
  const rows = p.locator('[data-testid="machines"] tbody tr');
  assert.equal(await rows.count(), 2);
  await screenshot(p, "console-machines");

  await p.locator(`tr[data-machine="${first.machine.id}"]`).getByRole("button", { name: "Deactivate" }).click();
  await p.locator(`tr[data-machine="${first.machine.id}"]`).waitFor({ state: "detached" });
  assert.equal(await p.getByTestId("machine-count").textContent(), "1");
  assert.equal((await heartbeat(worker, seat.body.token)).status, 410, "its seat ended");
  const left = (await call(worker, "GET", `/api/vault/licenses/${license.lid}/machines`)).body.items;
  assert.deepEqual(left.map((m) => m.name), ["desk-07"]);
  assert.deepEqual(errors, []);
  await p.close();
});
