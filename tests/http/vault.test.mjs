// The license vault (seeds 001/002) against the real Workers runtime: revoke one, revoke
// all, block, disconnect — each followed by what the app does next — the roll-up of
// free and allocated seats, the vault token's reach, a revocation racing renewals,
// and a restart on the same state.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { assertError, call } from "../support/api.mjs";
import { checkout, eventually, heartbeat, heldBy, issueLicense, pool } from "../support/seats.mjs";
import { envFile } from "../support/secrets.mjs";
import { startWorker } from "../support/wrangler.mjs";

let worker;
before(async () => {
  worker = await startWorker();
});
after(async () => {
  await worker?.stop();
});

const vault = (method, path, options) => call(worker, method, `/api/vault${path}`, options);
const granted = async (res, status = 201) => {
  assert.equal(res.status, status, JSON.stringify(res.body));
  return res.body;
};

describe("what the app meets after each vault action", () => {
  let license;
  before(async () => {
    license = await issueLicense(worker);
  });

  test("revoke one lease: its heartbeat is 410, and the app may take a seat again", async () => {
    const taken = await granted(await checkout(worker, license.token, "ann@example.com"));
    const other = await granted(await checkout(worker, license.token, "ann@example.com", { product: "profiler" }));
    const user = encodeURIComponent("ann@example.com");
    const res = await vault("DELETE", `/users/${user}/licenses/${taken.lease.id}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.ended, 1);
    assertError(await heartbeat(worker, taken.token), 410, "LEASE_REVOKED");
    assert.equal((await heartbeat(worker, other.token)).status, 200, "only that lease ended");
    assertError(await vault("DELETE", `/users/${user}/licenses/${taken.lease.id}`), 404, "NOT_FOUND");
    assertError(await vault("DELETE", `/users/bob/licenses/${other.lease.id}`), 404, "NOT_FOUND", {});
    assert.equal((await heartbeat(worker, other.token)).status, 200, "another user's name cannot revoke it");
    const again = await granted(await checkout(worker, license.token, "ann@example.com"));
    assert.notEqual(again.lease.id, taken.lease.id);
    await eventually(async () => (await heldBy(worker, "ann@example.com")).map((h) => h.product).sort().join() === "ide,profiler", {
      what: "both of ann's leases in the roll-up",
    });
  });

  test("revoke all: every lease of the user ends, across licenses; new ones may be taken", async () => {
    const second = await issueLicense(worker, { company: "Second Co" });
    const a = await granted(await checkout(worker, license.token, "carl"));
    const b = await granted(await checkout(worker, second.token, "carl", { product: "profiler" }));
    await eventually(async () => (await heldBy(worker, "carl")).length === 2, { what: "both leases in the roll-up" });
    const res = await vault("DELETE", "/users/carl/licenses");
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.ended, 2);
    assert.equal(res.body.unreachable, 0);
    assertError(await heartbeat(worker, a.token), 410, "LEASE_REVOKED");
    assertError(await heartbeat(worker, b.token), 410, "LEASE_REVOKED");
    assert.deepEqual(await heldBy(worker, "carl"), []);
    await granted(await checkout(worker, license.token, "carl"));
  });

  test("revoke all right after a checkout still ends it (no wait for the roll-up)", async () => {
    const taken = await granted(await checkout(worker, license.token, "dora"));
    const res = await vault("DELETE", "/users/dora/licenses");
    assert.equal(res.body.ended, 1, JSON.stringify(res.body));
    assertError(await heartbeat(worker, taken.token), 410, "LEASE_REVOKED");
  });

  test("a lease granted by a license the directory does not know yet ends with its first report", async () => {
    // A license holding no seats is pushed nothing; its first report (a quarter second
    // after the grant) is answered with the newer deny state.
    const idle = await issueLicense(worker, { company: "Idle Co" });
    const taken = await granted(await checkout(worker, idle.token, "dana"));
    const res = await vault("DELETE", "/users/dana/licenses");
    assert.equal(res.status, 200, JSON.stringify(res.body));
    await eventually(async () => !(await pool(worker, idle.lid)).leases.some((l) => l.user === "dana"), {
      timeoutMs: 5_000,
      what: "dana's lease ended by the report's answer",
    });
    assertError(await heartbeat(worker, taken.token), 410, "LEASE_REVOKED");
  });

  test("block: leases end, new seats are refused everywhere until unblocked", async () => {
    const taken = await granted(await checkout(worker, license.token, "eve"));
    const res = await vault("DELETE", "/users/eve/licenses?block=true");
    assert.equal(res.status, 200);
    assert.equal(res.body.ended, 1);
    assertError(await heartbeat(worker, taken.token), 410, "LEASE_REVOKED");
    assertError(await checkout(worker, license.token, "eve"), 403, "USER_BLOCKED");
    // A license that never lent eve anything refuses her too.
    const fresh = await issueLicense(worker, { company: "Fresh Co" });
    assertError(await checkout(worker, fresh.token, "eve"), 403, "USER_BLOCKED");
    const blocks = (await vault("GET", "/blocks")).body;
    assert.deepEqual(blocks.map((b) => [b.user, b.by]), [["eve", "admin"]]);
    assert.equal((await vault("DELETE", "/blocks/eve")).status, 200);
    assert.deepEqual((await vault("GET", "/blocks")).body, []);
    await granted(await checkout(worker, license.token, "eve"));
    await granted(await checkout(worker, fresh.token, "eve"));
  });

  test("disconnect a product: its leases end, its requests are refused; connect lets them in", async () => {
    const own = await issueLicense(worker, { products: ["tracer", "ide"] });
    const t = await granted(await checkout(worker, own.token, "finn", { product: "tracer" }));
    const i = await granted(await checkout(worker, own.token, "finn", { product: "ide" }));
    await eventually(async () => (await heldBy(worker, "finn")).length === 2, { what: "finn's leases in the roll-up" });
    const res = await vault("POST", "/products/tracer/disconnect");
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.ended, 1);
    assertError(await heartbeat(worker, t.token), 410, "LEASE_REVOKED");
    assert.equal((await heartbeat(worker, i.token)).status, 200, "other products keep their seats");
    assertError(await checkout(worker, own.token, "finn", { product: "tracer" }), 403, "PRODUCT_DISCONNECTED");
    const products = (await vault("GET", "/products")).body;
    assert.equal(products.find((p) => p.product === "tracer").connected, false);
    assert.equal((await vault("POST", "/products/tracer/connect", { body: {} })).status, 200);
    await granted(await checkout(worker, own.token, "finn", { product: "tracer" }));
    assert.equal((await vault("GET", "/products")).body.find((p) => p.product === "tracer").connected, true);
  });
});

describe("reads", () => {
  test("free and allocated seats per product, and per license", async () => {
    const a = await issueLicense(worker, { products: ["roll-up"], included_users: 3, company: "A Co" });
    const b = await issueLicense(worker, { products: ["roll-up"], included_users: 2, company: "B Co" });
    // Seats count from issue, before any app asked for one.
    const issued = (await vault("GET", "/products")).body.find((x) => x.product === "roll-up");
    assert.deepEqual([issued?.seats, issued?.allocated, issued?.free, issued?.licenses], [5, 0, 5, 2]);
    await granted(await checkout(worker, a.token, "u1", { product: "roll-up" }));
    await granted(await checkout(worker, a.token, "u2", { product: "roll-up" }));
    await granted(await checkout(worker, b.token, "u3", { product: "roll-up" }));
    const product = await eventually(async () => {
      const p = (await vault("GET", "/products")).body.find((x) => x.product === "roll-up");
      return p?.allocated === 3 && p;
    }, { what: "three leases in the roll-up" });
    assert.deepEqual(
      [product.seats, product.allocated, product.free, product.licenses, product.connected],
      [5, 3, 2, 2, true],
    );
    const first = await vault("GET", "/products/roll-up/licenses?limit=1");
    assert.equal(first.body.items.length, 1);
    assert.ok(first.body.next_cursor);
    const second = await vault("GET", `/products/roll-up/licenses?limit=1&cursor=${first.body.next_cursor}`);
    assert.equal(second.body.next_cursor, null);
    const rows = [...first.body.items, ...second.body.items].sort((x, y) => x.company.localeCompare(y.company));
    assert.deepEqual(rows.map((r) => [r.company, r.seats, r.allocated, r.free]), [["A Co", 3, 2, 1], ["B Co", 2, 1, 1]]);
    // A revoked license lends nothing, so its seats leave the total.
    await call(worker, "POST", `/api/licenses/${b.lid}/revoke`);
    const after = (await vault("GET", "/products")).body.find((x) => x.product === "roll-up");
    assert.deepEqual([after.seats, after.allocated, after.licenses], [3, 2, 1]);
  });

  test("active users, searched and paginated; a license's live state and log", async () => {
    const l = await issueLicense(worker, { products: ["search"], included_users: 10 });
    for (const u of ["grace@example.com", "gregor@example.com", "hal@example.com"]) {
      await granted(await checkout(worker, l.token, u, { product: "search" }));
    }
    await eventually(async () => (await heldBy(worker, "hal@example.com")).length === 1, { what: "the roll-up" });
    const found = (await vault("GET", "/users?search=GR")).body.items.map((u) => u.user);
    assert.deepEqual(found, ["grace@example.com", "gregor@example.com"], "case-insensitive, by part of the name");
    assert.deepEqual((await vault("GET", "/users?search=%25")).body.items, [], "% is taken literally");
    const page1 = (await vault("GET", "/users?search=example.com&limit=2")).body;
    const page2 = (await vault("GET", `/users?search=example.com&limit=2&cursor=${page1.next_cursor}`)).body;
    const all = [...page1.items, ...page2.items].map((u) => u.user);
    assert.ok(["grace@example.com", "gregor@example.com", "hal@example.com"].every((u) => all.includes(u)));
    assert.equal(new Set(all).size, all.length, "no user on two pages");

    const state = await pool(worker, l.lid);
    assert.deepEqual([state.seats, state.leases.length, state.revoked, state.lease_seconds], [10, 3, false, 1200]);
    const log = (await vault("GET", `/licenses/${l.lid}/events?kind=granted&limit=2`)).body;
    assert.equal(log.items.length, 2);
    assert.ok(log.items[0].seq > log.items[1].seq, "newest first");
    const rest = (await vault("GET", `/licenses/${l.lid}/events?kind=granted&cursor=${log.next_cursor}`)).body;
    assert.equal(rest.items.length, 1);
  });

  test("bad queries are 400, unknown licenses 404", async () => {
    assertError(await vault("GET", "/users?limit=0"), 400, "INVALID_FIELD", { field: "limit" });
    assertError(await vault("GET", "/users?limit=abc"), 400, "INVALID_FIELD", { field: "limit" });
    assertError(await vault("GET", `/users?search=${"x".repeat(300)}`), 400, "INVALID_FIELD", { field: "search" });
    assertError(await vault("GET", `/users/${"x".repeat(10 * 1024)}/licenses`), 400, "INVALID_FIELD", { field: "user" });
    assertError(await vault("DELETE", "/users/x/licenses?block=yes"), 400, "INVALID_FIELD", { field: "block" });
    assertError(await vault("GET", "/licenses/no-such-license"), 404, "NOT_FOUND");
    assertError(await vault("GET", "/licenses/no-such-license/events"), 404, "NOT_FOUND");
    assertError(await vault("GET", "/licenses/x/events?kind=borrowed"), 400, "INVALID_FIELD", { field: "kind" });
    assertError(await vault("GET", "/licenses/x/events?cursor=abc"), 400, "INVALID_FIELD", { field: "cursor" });
    assertError(await vault("POST", "/products/p/disconnect", { raw: "x=1", contentType: "text/plain" }), 415, "UNSUPPORTED_MEDIA_TYPE");
    assertError(await vault("DELETE", "/users/x/licenses/not-a-lease"), 404, "NOT_FOUND");
    assert.deepEqual((await vault("GET", "/products")).body.filter((p) => p.product === "p"), [], "nothing was disconnected");
  });
});

describe("the vault access token", () => {
  test("reads and manages seats (seeds 001/002), and nothing beyond them", async () => {
    const secret = (await call(worker, "POST", "/api/vault-token")).body.secret;
    const auth = `Bearer ${secret}`;
    const l = await issueLicense(worker, { products: ["vt"] });
    const taken = await granted(await checkout(worker, l.token, "ivy", { product: "vt" }));
    assert.equal((await vault("GET", "/products", { auth })).status, 200);
    await eventually(async () => (await vault("GET", "/users/ivy/licenses", { auth })).body.length === 1, { what: "ivy's lease" });
    const revoked = await vault("DELETE", `/users/ivy/licenses/${taken.lease.id}`, { auth });
    assert.equal(revoked.status, 200);
    assertError(await heartbeat(worker, taken.token), 410, "LEASE_REVOKED");
    assertError(await call(worker, "POST", "/api/licenses", { auth, body: {} }), 403, "FORBIDDEN");
  });
});

describe("a revocation racing renewals", () => {
  test("revoking a license while renewals run at once: it stays revoked", async () => {
    const self = `${worker.url}/`;
    const license = (await call(worker, "POST", "/api/licenses", {
      body: { company: "Race Co", instance: self, products: ["ide"], expires_at: Math.floor(Date.now() / 1000) + 86_400 * 90 },
    })).body;
    assert.equal((await call(worker, "POST", "/api/licensing/token", { body: { token: license.token } })).status, 200);
    const renew = () => call(worker, "POST", "/api/licensing/token/renew", { body: {} });
    const answers = await Promise.all([
      ...Array.from({ length: 10 }, renew),
      call(worker, "POST", `/api/licenses/${license.lid}/revoke`),
      ...Array.from({ length: 10 }, renew),
    ]);
    assert.equal(answers[10].status, 200, JSON.stringify(answers[10].body));
    assert.ok(answers.every((r) => r.status === 200 || (r.status === 400 && r.body.error.reason === "REVOKED")));
    // Every read agrees, however the renewals interleaved.
    assert.equal((await call(worker, "GET", `/api/licenses/${license.lid}`)).body.state, "revoked");
    const listed = (await call(worker, "GET", "/api/licenses?limit=1000")).body.items.find((r) => r.lid === license.lid);
    assert.equal(listed.state, "revoked");
    assert.equal((await call(worker, "GET", "/api/licensing/check")).body, false);
    assertError(await renew(), 400, "INVALID_LICENSE", { reason: "REVOKED" });
    const validate = await call(worker, "POST", "/api/licenses/validate", { auth: null, body: { token: license.token } });
    assert.equal(validate.body.code, "REVOKED");
  });
});

describe("a restart on the same state", () => {
  test("leases, blocks and disconnections remain", async () => {
    // A fixed issuer: the restarted worker listens on another port, and lease tokens
    // name the issuer (as a deployment's stable URL would).
    const env = envFile({ ISSUER_URL: "https://licenses.example/" });
    const first = await startWorker({ keepState: true, envFile: env });
    let second;
    try {
      const l = await issueLicense(first, { products: ["keep", "cut"] });
      const kept = await granted(await checkout(first, l.token, "jack", { product: "keep" }));
      await granted(await checkout(first, l.token, "kim", { product: "keep" }));
      assert.equal((await call(first, "DELETE", "/api/vault/users/kim/licenses?block=true")).status, 200);
      assert.equal((await call(first, "POST", "/api/vault/products/cut/disconnect")).status, 200);
      await first.stop();

      second = await startWorker({ stateDir: first.stateDir, envFile: env });
      const beat = await heartbeat(second, kept.token);
      assert.equal(beat.status, 200, JSON.stringify(beat.body));
      assert.equal(beat.body.lease.id, kept.lease.id);
      assertError(await checkout(second, l.token, "kim", { product: "keep" }), 403, "USER_BLOCKED");
      assertError(await checkout(second, l.token, "jack", { product: "cut" }), 403, "PRODUCT_DISCONNECTED");
      const state = await pool(second, l.lid);
      assert.deepEqual(state.leases.map((h) => h.user), ["jack"]);
      assert.deepEqual((await call(second, "GET", "/api/vault/blocks")).body.map((b) => b.user), ["kim"]);
    } finally {
      await second?.stop();
      await first.stop();
      const { rmSync } = await import("node:fs");
      rmSync(first.stateDir, { recursive: true, force: true });
    }
  });
});
