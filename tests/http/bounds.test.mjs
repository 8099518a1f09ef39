// Every report query is bounded (issue 20, item 9): the usage report reads its seats
// held in pages (each page one D1 value, well under its 2 MB) up to a cap, and refuses
// a range holding more with a 400 that says how to narrow it; the denials report counts
// at most 1,000 (product, reason) pairs. The cap is lowered to 4,000 seats for this
// worker (`REPORT_MAX_SPANS`) so a range that overflows it takes seconds to build; the
// pages are the shipped size (1,500), so the filtered reports below read several.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { assertError, call, createToken, now } from "../support/api.mjs";
import { envFile } from "../support/secrets.mjs";
import { startWorker } from "../support/wrangler.mjs";

let worker;
let agent;
before(async () => {
  worker = await startWorker({ envFile: envFile({ REPORT_MAX_SPANS: "4000" }) });
  agent = await createToken(worker, undefined, { scope: "Agent", description: "bounds" });
});
after(async () => {
  await worker?.stop();
});

const AT = now() - 3600;
// Names near their limits (200-byte products, 256-byte users): the widest rows a page holds.
const product = (p) => `${p}-${"p".repeat(190)}`;
const user = (i) => `u${i}-${"x".repeat(240)}`;

async function send(events) {
  const res = await call(worker, "POST", "/api/agent/events", { auth: agent.bearer, body: { events } });
  assert.equal(res.status, 200, JSON.stringify(res.body).slice(0, 300));
}

describe("bounded reports", () => {
  test("5,000 seats held: over the cap is a 400; filtered ranges read every page exactly once", async () => {
    // 2,000 seats of product a, 3,000 of product b, all still held.
    for (let batch = 0; batch < 5; batch++) {
      const p = batch < 2 ? "a" : "b";
      await send(
        Array.from({ length: 1000 }, (_, i) => ({
          id: `out-${batch}-${i}`,
          type: "checkout",
          time: AT + i,
          server: "big-1",
          product: product(p),
          user: user(batch * 1000 + i),
          host: "h",
        })),
      );
    }
    const range = `from=${AT - 3600}&to=${AT + 7200}&interval=hour`;
    assertError(
      await call(worker, "GET", `/api/vault/reports/usage?${range}`),
      400,
      "INVALID_FIELD",
      { field: "from" },
      "5,000 seats held are over the cap of 4,000",
    );
    // Product a alone: 2,000 seats over two pages; the peak counts each once.
    const a = await call(worker, "GET", `/api/vault/reports/usage?${range}&product=${product("a")}`);
    assert.equal(a.status, 200, JSON.stringify(a.body).slice(0, 300));
    assert.equal(Math.max(...a.body.products.map((r) => r.peak_seats)), 2000);
    assert.equal(a.body.users.length, 2000);
    // Product b: 3,000 seats, exactly two full pages and an empty one.
    const b = await call(worker, "GET", `/api/vault/reports/usage?${range}&product=${product("b")}`);
    assert.equal(b.status, 200);
    assert.equal(Math.max(...b.body.products.map((r) => r.peak_seats)), 3000);
    // One user: one seat.
    const one = await call(worker, "GET", `/api/vault/reports/usage?${range}&user=${user(4321)}`);
    assert.equal(one.status, 200);
    assert.equal(one.body.users.length, 1);
    // CSV takes the same bound.
    assertError(await call(worker, "GET", `/api/vault/reports/usage?${range}&format=csv`), 400, "INVALID_FIELD");
  });

  test("denials of more than 1,000 (product, reason) pairs are a 400; a product filter answers", async () => {
    const spread = Array.from({ length: 1001 }, (_, i) => ({
        id: `deny-${i}`,
        type: "denial",
        time: AT + i,
        server: "big-1",
        product: `spread-${i}`,
        user: "zed",
        host: "h",
        reason: "NO_FREE_LICENSE",
      }));
    // Two batches: an agent sends at most 1,000 events at once.
    await send(spread.slice(0, 500));
    await send(spread.slice(500));
    const range = `from=${AT - 3600}&to=${AT + 7200}`;
    assertError(
      await call(worker, "GET", `/api/vault/reports/denials?${range}`),
      400,
      "INVALID_FIELD",
      { field: "from" },
      "1,001 pairs",
    );
    const one = await call(worker, "GET", `/api/vault/reports/denials?${range}&product=spread-7`);
    assert.equal(one.status, 200, JSON.stringify(one.body));
    assert.deepEqual(one.body.counts, [{ product: "spread-7", reason: "NO_FREE_LICENSE", count: 1 }]);
    // A page is bounded by ?limit, at most 1,000.
    assertError(await call(worker, "GET", `/api/vault/reports/denials?${range}&limit=1001`), 400, "INVALID_FIELD");
  });
});
