// The console's Reports and Audit log pages in real Chromium: the usage chart for seeded
// data (a product that ran out of seats shows it in red, against its licensed line), the
// denials chart and table, and a CSV download that matches the API; the audit log lists
// the changes just made.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { parse } from "csv-parse/sync";
import { call, createToken, now } from "../support/api.mjs";
import { screenshot, signIn, useWorkerAndBrowser } from "../support/browser.mjs";
import { ADMIN } from "../support/secrets.mjs";
import { checkout, eventually, issueLicense } from "../support/seats.mjs";

const env = useWorkerAndBrowser();

test("usage and denials charts for seeded data, CSV equal to the API, and the audit log", async () => {
  const worker = env.worker;
  // A Tessera product with two seats, both taken, and a third user refused.
  const license = await issueLicense(worker, { products: ["studio"], included_users: 2 });
  for (const user of ["ann@example.com", "bob@example.com"]) {
    assert.equal((await checkout(worker, license.token, user, { product: "studio" })).status, 201);
  }
  assert.equal((await checkout(worker, license.token, "carl@example.com", { product: "studio" })).status, 409);
  // An outside license server's product over the last five days, via an Agent token.
  const agent = await createToken(worker, undefined, { scope: "Agent" });
  const day = 86_400;
  const start = Math.floor(now() / day) * day - 5 * day;
  const events = [];
  for (let d = 0; d < 5; d++) {
    for (let u = 0; u <= d; u++) {
      events.push({ id: `${d}-${u}-out`, type: "checkout", time: start + d * day + 3600 + u * 60, server: "rlm-1", product: "solver", user: `u${u}`, host: "h" });
      events.push({ id: `${d}-${u}-in`, type: "checkin", time: start + d * day + 7200, server: "rlm-1", product: "solver", user: `u${u}`, host: "h" });
    }
  }
  events.push({ id: "deny-1", type: "denial", time: start + 3600, server: "rlm-1", product: "solver", user: "zed", host: "h", reason: "NO_FREE_LICENSE" });
  assert.equal((await call(worker, "POST", "/api/agent/events", { auth: agent.bearer, body: { events } })).status, 200);
  await eventually(
    async () => (await call(worker, "GET", "/api/vault/reports/denials?product=studio")).body.items?.length === 1,
    { what: "Tessera's denial in the store" },
  );

  const p = await env.browser.newPage();
  const errors = [];
  p.on("pageerror", (e) => errors.push(e.message));
  await signIn(p, worker.url, ADMIN.username, ADMIN.password);
  await p.getByRole("link", { name: "Reports" }).click();
  const studio = p.locator('figure[data-product="studio"]');
  await studio.waitFor();
  // Today's bar reached the two licensed seats: red, and counted in the caption.
  assert.equal(await studio.getAttribute("data-full"), "1");
  const last = studio.locator("rect.col").last();
  assert.equal(await last.getAttribute("data-peak"), "2");
  assert.match(await last.getAttribute("class"), /full/);
  assert.equal(await studio.locator("line.limit").count(), 1);
  // The outside server's product: one bar per day, peaks 1..5 on the seeded days.
  const solver = p.locator('figure[data-product="solver"]');
  const peaks = await solver.locator("rect.col").evaluateAll((rects) => rects.map((r) => Number(r.getAttribute("data-peak"))));
  assert.equal(peaks.length, 30);
  assert.deepEqual(peaks.slice(-6, -1), [1, 2, 3, 4, 5]);
  // Denials: the chart and the table.
  const denials = p.getByTestId("denials-table");
  await denials.getByText("carl@example.com").waitFor();
  assert.ok(await denials.getByText("NO_SEAT_AVAILABLE").isVisible());
  assert.equal(await p.getByTestId("denials-chart").locator("rect").count(), 2);
  await screenshot(p, "console-reports");

  // The download is what the API answers for the same query.
  const link = p.getByTestId("usage-csv");
  const href = await link.getAttribute("href");
  const [download] = await Promise.all([p.waitForEvent("download"), link.click()]);
  assert.match(download.suggestedFilename(), /^tessera-usage-products-\d+-\d+\.csv$/);
  const rows = parse(readFileSync(await download.path(), "utf8"), { columns: true });
  const api = await call(worker, "GET", href.replace("&format=csv", ""));
  assert.equal(api.status, 200);
  // The two studio seats are still held, so their seat-hours grow between the download
  // and the API's answer: equal but for that growth (a few seconds, at most 0.01 h).
  const fixed = ({ seat_hours, ...rest }) => rest;
  assert.deepEqual(
    rows.map((r) => ({ product: r.product, start: +r.start, peak_seats: +r.peak_seats, users: +r.users })),
    api.body.products.map(fixed),
  );
  rows.forEach((r, i) => {
    const grown = api.body.products[i].seat_hours - Number(r.seat_hours);
    assert.ok(grown >= 0 && grown <= 0.01, `${r.product} ${r.start}: ${r.seat_hours} then ${api.body.products[i].seat_hours}`);
  });

  // Filters narrow the report.
  await p.getByLabel("Product").fill("solver");
  await p.getByLabel("Product").press("Tab");
  await studio.waitFor({ state: "detached" });
  assert.equal(await p.locator("figure.chart").count(), 1);

  // The audit log shows the license just issued.
  await p.getByRole("link", { name: "Audit log" }).click();
  const issued = p.locator('tr[data-key="license.issue"]');
  await issued.first().waitFor();
  assert.ok((await issued.first().textContent()).includes(license.lid));
  await screenshot(p, "console-audit");
  assert.deepEqual(errors, []);
});
