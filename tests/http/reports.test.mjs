// Reports, agent ingestion and the audit log against the real Workers runtime and its
// local D1: a known event sequence gives hand-checked figures, CSV parses back to the
// JSON, retries count once, seat events reach the store once even when a hand-over
// fails and the worker restarts, and bad input is a 4xx that stores nothing.
import assert from "node:assert/strict";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { parse } from "csv-parse/sync";
import { assertError, call, createToken, createUser, now } from "../support/api.mjs";
import { checkout, eventually, issueLicence, release } from "../support/seats.mjs";
import { startWorker } from "../support/wrangler.mjs";

let worker;
let agent;
before(async () => {
  worker = await startWorker();
  agent = await createToken(worker, undefined, { scope: "Agent", description: "flex agent" });
});
after(async () => {
  await worker?.stop();
});

const H = 3600;
// Three days ago at midnight UTC: the known sequence's day.
const DAY0 = Math.floor(now() / 86_400) * 86_400 - 3 * 86_400;
const T = (h, m = 0) => DAY0 + h * H + m * 60;
const unique = (name) => `${name}-${Math.random().toString(36).slice(2, 8)}`;

const ev = (id, type, time, user, extra = {}) => ({
  id,
  type,
  time,
  server: "flex-1",
  product: extra.product,
  user,
  host: extra.host ?? "pc",
  ...(extra.reason ? { reason: extra.reason } : {}),
});

/** The hand-checked sequence of seed reports, for `product`. */
function knownSequence(product) {
  const p = { product };
  return [
    ev("1", "checkout", T(10), "ann", p),
    ev("2", "checkin", T(12, 30), "ann", p),
    ev("3", "checkout", T(10, 15), "bob", p),
    ev("4", "checkin", T(10, 45), "bob", p),
    ev("5", "checkout", T(10, 45), "bob", p),
    ev("6", "checkin", T(11, 15), "bob", p),
    ev("7", "checkout", T(10, 30), "cy", p),
    ev("8", "checkout", T(9), "dee", p),
    ev("9", "checkin", T(10, 10), "dee", p),
    ev("10", "denial", T(10, 50), "eve", { ...p, reason: "NO_LICENSE" }),
    ev("11", "denial", T(10, 51), "eve", { ...p, reason: "NO_LICENSE" }),
    ev("12", "denial", T(11, 20), "frank", { ...p, reason: "NO_LICENSE" }),
    ev("13", "denial", T(12), "gus", p),
  ];
}

const ingest = (events, auth = agent.bearer) => call(worker, "POST", "/api/agent/events", { auth, body: { events } });

function usage(product, extra = "") {
  return call(worker, "GET", `/api/vault/reports/usage?from=${T(10)}&to=${T(13)}&interval=hour&product=${product}${extra}`);
}

describe("reports from a known sequence", () => {
  let product;
  before(async () => {
    product = unique("cad");
    const res = await ingest(knownSequence(product));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, { accepted: 13, duplicates: 0 });
  });

  test("usage: peak seats, seat-hours across interval boundaries, distinct users", async () => {
    const res = await usage(product);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.interval, "hour");
    const rows = res.body.products.map((r) => [r.start, r.peak_seats, r.seat_hours, r.users]);
    // 10:00–11:00: ann 60 min, dee 10 (from 10:00), bob 45, cy 30 = 145 min; three at once
    // from 10:30 (bob's checkin and checkout at 10:45 are not two seats).
    // 11:00–12:00: ann 60, bob 15, cy 60 = 135 min. 12:00–13:00: ann 30, cy 60 = 90 min.
    assert.deepEqual(rows, [
      [T(10), 3, 2.417, 4],
      [T(11), 3, 2.25, 3],
      [T(12), 2, 1.5, 2],
    ]);
    assert.ok(res.body.products.every((r) => r.product === product));
    const users = res.body.users.map((u) => [u.user, u.seat_hours, u.last_seen]);
    assert.deepEqual(users, [
      ["ann", 2.5, T(12, 30)],
      ["cy", 2.5, T(13)], // still held: up to the range's end
      ["bob", 1, T(11, 15)],
      ["dee", 0.167, T(10, 10)],
    ]);
    // By day, the same seats: one interval, peak 3.
    const day = await call(worker, "GET", `/api/vault/reports/usage?from=${DAY0}&to=${DAY0 + 86_400}&product=${product}`);
    assert.equal(day.body.products.length, 1);
    assert.equal(day.body.products[0].peak_seats, 3);
    // One user's view.
    const bob = await usage(product, "&user=bob");
    assert.deepEqual(bob.body.products.map((r) => r.peak_seats), [1, 1, 0]);
    assert.deepEqual(bob.body.users.map((u) => u.user), ["bob"]);
  });

  test("denials: each one, newest first, and counts per product and reason", async () => {
    const res = await call(worker, "GET", `/api/vault/reports/denials?from=${T(0)}&to=${T(24)}&product=${product}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(
      res.body.items.map((d) => [d.at, d.user, d.reason, d.server, d.host]),
      [
        [T(12), "gus", "", "flex-1", "pc"],
        [T(11, 20), "frank", "NO_LICENSE", "flex-1", "pc"],
        [T(10, 51), "eve", "NO_LICENSE", "flex-1", "pc"],
        [T(10, 50), "eve", "NO_LICENSE", "flex-1", "pc"],
      ],
    );
    assert.deepEqual(res.body.counts, [
      { product, reason: "", count: 1 },
      { product, reason: "NO_LICENSE", count: 3 },
    ]);
    const byReason = await call(worker, "GET", `/api/vault/reports/denials?from=${T(0)}&to=${T(24)}&product=${product}&reason=NO_LICENSE&limit=2`);
    assert.equal(byReason.body.items.length, 2);
    assert.ok(byReason.body.next_cursor);
    const next = await call(
      worker,
      "GET",
      `/api/vault/reports/denials?from=${T(0)}&to=${T(24)}&product=${product}&reason=NO_LICENSE&limit=2&cursor=${encodeURIComponent(byReason.body.next_cursor)}`,
    );
    assert.deepEqual(next.body.items.map((d) => d.at), [T(10, 50)]);
    assert.equal(next.body.next_cursor, null);
  });

  test("CSV parses back to the JSON, with a header row, as a download", async () => {
    const json = (await usage(product)).body;
    for (const [how, res] of [
      ["?format=csv", await usage(product, "&format=csv")],
      ["Accept", await call(worker, "GET", `/api/vault/reports/usage?from=${T(10)}&to=${T(13)}&interval=hour&product=${product}`, { headers: { Accept: "text/csv" } })],
    ]) {
      assert.equal(res.status, 200, how);
      assert.match(res.headers.get("content-type"), /^text\/csv/, how);
      assert.match(res.headers.get("content-disposition"), /^attachment; filename="tessera-usage-products-\d+-\d+\.csv"$/, how);
      const rows = parse(res.body, { columns: true });
      assert.deepEqual(
        rows.map((r) => ({ product: r.product, start: +r.start, peak_seats: +r.peak_seats, seat_hours: +r.seat_hours, users: +r.users })),
        json.products,
        how,
      );
    }
    const users = await usage(product, "&format=csv&table=users");
    assert.deepEqual(
      parse(users.body, { columns: true }).map((r) => ({ user: r.user, seat_hours: +r.seat_hours, last_seen: +r.last_seen })),
      json.users,
    );
    const denials = await call(worker, "GET", `/api/vault/reports/denials?from=${T(0)}&to=${T(24)}&product=${product}`);
    const csv = await call(worker, "GET", `/api/vault/reports/denials?from=${T(0)}&to=${T(24)}&product=${product}&format=csv`);
    assert.deepEqual(
      parse(csv.body, { columns: true }),
      denials.body.items.map((d) => ({
        at: String(d.at),
        product: d.product,
        user: d.user,
        host: d.host,
        lid: d.lid ?? "",
        company: d.company ?? "",
        reason: d.reason,
        server: d.server ?? "",
      })),
    );
  });

  test("a retried batch counts once; a partly new one stores only what is new", async () => {
    const before = (await usage(product)).body;
    const again = await ingest(knownSequence(product));
    assert.deepEqual(again.body, { accepted: 0, duplicates: 13 });
    const fresh = ev("14", "denial", T(12, 5), "hal", { product, reason: "NO_LICENSE" });
    const partly = await ingest([...knownSequence(product).slice(0, 3), fresh]);
    assert.deepEqual(partly.body, { accepted: 1, duplicates: 3 });
    assert.deepEqual((await usage(product)).body, before, "the seats are as before: no checkin closed anything twice");
    const denials = await call(worker, "GET", `/api/vault/reports/denials?from=${T(0)}&to=${T(24)}&product=${product}`);
    assert.equal(denials.body.items.length, 5);
    // Ten concurrent copies of one new batch: stored once.
    const batch = [ev("20", "checkout", T(14), "ivy", { product }), ev("21", "checkin", T(15), "ivy", { product })];
    const copies = await Promise.all(Array.from({ length: 10 }, () => ingest(batch)));
    assert.ok(copies.every((r) => r.status === 200));
    assert.equal(copies.reduce((n, r) => n + r.body.accepted, 0), 2);
    const ivy = await call(worker, "GET", `/api/vault/reports/usage?from=${T(14)}&to=${T(16)}&interval=hour&product=${product}&user=ivy`);
    assert.deepEqual(ivy.body.users.map((u) => [u.user, u.seat_hours]), [["ivy", 1]]);
  });
});

describe("Tessera's own seat events", () => {
  test("grants, denials and releases reach the reports, marked with the licence", async () => {
    const product = unique("ide");
    const licence = await issueLicence(worker, { products: [product], included_users: 2 });
    const ann = await checkout(worker, licence.token, "ann@example.com", { product });
    const bob = await checkout(worker, licence.token, "bob@example.com", { product });
    assert.equal(ann.status, 201);
    assert.equal(bob.status, 201);
    const carl = await checkout(worker, licence.token, "carl@example.com", { product });
    assertError(carl, 409, "NO_SEAT_AVAILABLE");
    assert.equal((await release(worker, bob.body.token)).status, 204);
    const q = `from=${now() - H}&to=${now() + H}&product=${product}`;
    const denials = await eventually(
      async () => {
        const res = await call(worker, "GET", `/api/vault/reports/denials?${q}`);
        return res.body.items.length > 0 && res.body;
      },
      { what: "the denial in the report" },
    );
    assert.deepEqual(
      denials.items.map((d) => [d.user, d.reason, d.lid, d.company, d.server]),
      [["carl@example.com", "NO_SEAT_AVAILABLE", licence.lid, "Example Labs", null]],
    );
    const report = await eventually(async () => {
      const res = await call(worker, "GET", `/api/vault/reports/usage?${q}&interval=hour`);
      return res.body.users.length === 2 && res.body;
    });
    assert.equal(Math.max(...report.products.map((r) => r.peak_seats)), 2);
    assert.deepEqual(report.users.map((u) => u.user).sort(), ["ann@example.com", "bob@example.com"]);
  });

  test("readable with the vault token and reports:read; not with an Agent token or without reports:read", async () => {
    const vault = await call(worker, "POST", "/api/vault-token");
    assert.equal(vault.status, 201);
    const viewer = await createUser(worker, "viewer");
    for (const auth of [`Bearer ${vault.body.secret}`, viewer.auth]) {
      assert.equal((await call(worker, "GET", "/api/vault/reports/usage", { auth })).status, 200);
      assert.equal((await call(worker, "GET", "/api/vault/reports/denials", { auth })).status, 200);
    }
    assertError(await call(worker, "GET", "/api/vault/reports/usage", { auth: agent.bearer }), 403, "FORBIDDEN");
    assertError(await call(worker, "GET", "/api/audit", { auth: viewer.auth }), 403, "FORBIDDEN");
    assertError(await call(worker, "GET", "/api/audit", { auth: `Bearer ${vault.body.secret}` }), 403, "FORBIDDEN");
    assertError(await ingest([ev("x", "checkout", now(), "ann", { product: "p" })], viewer.auth), 403, "FORBIDDEN");
  });
});

describe("bad input is a 4xx and stores nothing", () => {
  test("report parameters", async () => {
    const bad = [
      ["/api/vault/reports/usage?from=200&to=100", "from"],
      ["/api/vault/reports/usage?from=100&to=100", "from"],
      ["/api/vault/reports/usage?interval=week", "interval"],
      ["/api/vault/reports/usage?from=0&to=100000000&interval=hour", "interval"],
      ["/api/vault/reports/usage?from=yesterday", "from"],
      ["/api/vault/reports/usage?to=-5", "to"],
      ["/api/vault/reports/usage?to=99999999999999", "to"],
      ["/api/vault/reports/usage?format=xml", "format"],
      ["/api/vault/reports/usage?table=everything", "table"],
      [`/api/vault/reports/usage?product=${"p".repeat(201)}`, "product"],
      ["/api/vault/reports/denials?cursor=garbage", "cursor"],
      ["/api/vault/reports/denials?limit=0", "limit"],
      ["/api/audit?cursor=abc", "cursor"],
      ["/api/audit?from=5&to=1", "from"],
    ];
    for (const [path, field] of bad) {
      assertError(await call(worker, "GET", path), 400, "INVALID_FIELD", { field });
    }
  });

  test("agent batches: all or nothing", async () => {
    const product = unique("bad");
    const q = `/api/vault/reports/denials?from=${T(0)}&to=${now() + 600}&product=${product}`;
    const good = ev("g1", "denial", T(10), "ann", { product, reason: "X" });
    const cases = [
      [{ events: [good, { ...good, id: "g2", time: "yesterday" }] }, 400, "INVALID_BODY", /item 1/],
      [{ events: [good, { ...good, id: "g3", type: "borrow" }] }, 400, "INVALID_BODY", /item 1/],
      [{ events: [good, { ...good, id: "g4", extra: 1 }] }, 400, "INVALID_BODY", /item 1/],
      [{ events: [good, { ...good, id: "g5", time: now() + 3600 }] }, 400, "INVALID_FIELD", /item 1: time/],
      [{ events: [good, { ...good, id: "" }] }, 400, "INVALID_FIELD", /item 1: id/],
      [{ events: [good, { ...good, id: "g6", user: "a\u0000b" }] }, 400, "INVALID_FIELD", /item 1: user/],
      [{ events: [good, { ...good, id: "g7", user: "u".repeat(10_000) }] }, 400, "INVALID_FIELD", /item 1: user/],
      [{ events: Array.from({ length: 1001 }, (_, i) => ({ ...good, id: `n${i}` })) }, 400, "INVALID_BODY", /more than 1000/],
      [{ events: [] }, 400, "INVALID_FIELD", /1 to 1000/],
      [{ events: "all of them" }, 400, "INVALID_BODY", /array/],
      [{}, 400, "INVALID_BODY", /events/],
      [[good], 400, "INVALID_BODY", /object/],
    ];
    for (const [body, status, code, message] of cases) {
      const res = await call(worker, "POST", "/api/agent/events", { auth: agent.bearer, body });
      assertError(res, status, code);
      assert.match(res.body.error.message, message, JSON.stringify(body).slice(0, 200));
    }
    assertError(await call(worker, "POST", "/api/agent/events", { auth: agent.bearer, raw: "{\"events\": [" }), 400, "MALFORMED_JSON");
    assertError(await call(worker, "POST", "/api/agent/events", { auth: agent.bearer, raw: "x".repeat(1024 * 1024 + 1) }), 413, "PAYLOAD_TOO_LARGE");
    assertError(await call(worker, "POST", "/api/agent/events", { auth: agent.bearer, raw: "events=1", contentType: "application/x-www-form-urlencoded" }), 415, "UNSUPPORTED_MEDIA_TYPE");
    assertError(await call(worker, "POST", "/api/agent/events", { auth: "Bearer tsr_forged", body: { events: [good] } }), 401, "UNAUTHORIZED");
    const stored = await call(worker, "GET", q);
    assert.deepEqual(stored.body.items, [], "no item of a refused batch was stored");
    // The good item alone is taken.
    assert.deepEqual((await ingest([good])).body, { accepted: 1, duplicates: 0 });
  });
});

describe("audit log", () => {
  test("who did what to which object, from where; never a secret", async () => {
    const since = now() - 1;
    const licence = await issueLicence(worker);
    const token = await createToken(worker, undefined, { description: "ci" });
    const asToken = await call(worker, "POST", `/api/licenses/${licence.lid}/revoke`, { auth: token.bearer });
    assert.equal(asToken.status, 200);
    const user = await createUser(worker, "editor");
    assert.equal((await call(worker, "PATCH", `/api/users/${user.username}`, { body: { role: "viewer" } })).status, 200);
    const vault = await call(worker, "POST", "/api/vault-token");
    assert.equal((await call(worker, "POST", "/api/vault/products/audited/disconnect")).status, 200);
    const res = await call(worker, "GET", `/api/audit?from=${since}&limit=1000`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const seen = res.body.items.map((e) => [e.action, e.object, e.actor, e.via, e.token_id]);
    for (const expected of [
      ["licence.issue", licence.lid, "admin", "password", null],
      ["token.create", token.token.id, "admin", "password", null],
      ["licence.revoke", licence.lid, "admin", "token", token.token.id],
      ["user.create", user.username, "admin", "password", null],
      ["user.update", user.username, "admin", "password", null],
      ["vault_token.generate", null, "admin", "password", null],
      ["product.disconnect", "audited", "admin", "password", null],
    ]) {
      assert.ok(seen.some((s) => JSON.stringify(s) === JSON.stringify(expected)), `${JSON.stringify(expected)} in ${JSON.stringify(seen)}`);
    }
    // Newest first, and each with a time and an address.
    const seqs = res.body.items.map((e) => e.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => b - a));
    assert.ok(res.body.items.every((e) => e.at >= since && typeof e.address === "string"));
    // Filters, and CSV.
    const issues = await call(worker, "GET", `/api/audit?from=${since}&action=licence.issue`);
    assert.ok(issues.body.items.length >= 1 && issues.body.items.every((e) => e.action === "licence.issue"));
    const csv = await call(worker, "GET", `/api/audit?from=${since}&limit=1000&format=csv`);
    assert.match(csv.headers.get("content-disposition"), /^attachment/);
    assert.deepEqual(
      parse(csv.body, { columns: true }).map((r) => r.action),
      res.body.items.map((e) => e.action),
    );
    const everything = JSON.stringify(res.body) + csv.body;
    for (const secret of [token.secret, vault.body.secret, user.password]) {
      assert.ok(!everything.includes(secret), "no secret in the audit log");
    }
  });
});

describe("the hand-over survives failures", () => {
  test("a failed write is retried, across a restart, and nothing is doubled", async () => {
    const own = await startWorker({ keepState: true });
    const state = own.stateDir;
    const dbFile = () => {
      const dir = join(state, "v3/d1/miniflare-D1DatabaseObject");
      const file = readdirSync(dir).find((f) => f.endsWith(".sqlite"));
      return join(dir, file);
    };
    const sql = (statement) => execFileSync("python3", ["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1], timeout=10); c.execute(sys.argv[2]); c.commit()", dbFile(), statement]);
    let restarted;
    try {
      const product = unique("ha");
      const licence = await issueLicence(own, { products: [product], included_users: 1 });
      const q = `from=${now() - H}&to=${now() + H}&product=${product}`;
      assert.equal((await checkout(own, licence.token, "ann", { product })).status, 201);
      await eventually(async () => (await call(own, "GET", `/api/vault/reports/usage?${q}`)).body.users.length === 1, { what: "ann's seat in the report" });
      // The store now refuses every write.
      sql("CREATE TRIGGER refuse BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
      for (const user of ["bob", "cy"]) assertError(await checkout(own, licence.token, user, { product }), 409, "NO_SEAT_AVAILABLE");
      await new Promise((r) => setTimeout(r, 3000));
      const during = await call(own, "GET", `/api/vault/reports/denials?${q}`);
      assert.deepEqual(during.body.items, [], "nothing reached the store while it refused");
      await own.stop();
      sql("DROP TRIGGER refuse");
      restarted = await startWorker({ stateDir: state });
      const denials = await eventually(
        async () => {
          const res = await call(restarted, "GET", `/api/vault/reports/denials?${q}`);
          return res.body.items.length >= 2 && res.body;
        },
        { timeoutMs: 20_000, what: "the denials handed over after the restart" },
      );
      await new Promise((r) => setTimeout(r, 2500));
      const final = (await call(restarted, "GET", `/api/vault/reports/denials?${q}`)).body;
      assert.deepEqual(final.items.map((d) => d.user).sort(), ["bob", "cy"], "each denial once");
      assert.deepEqual(final, denials);
      const seats = await call(restarted, "GET", `/api/vault/reports/usage?${q}`);
      assert.deepEqual(seats.body.users.map((u) => u.user), ["ann"]);
    } finally {
      await own.stop();
      await restarted?.stop();
      rmSync(state, { recursive: true, force: true });
    }
  });
});
