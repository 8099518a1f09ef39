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
import { checkout, eventually, events, issueLicense, release } from "../support/seats.mjs";
import { envFile } from "../support/secrets.mjs";
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
  test("grants, denials and releases reach the reports, marked with the license", async () => {
    const product = unique("ide");
    const license = await issueLicense(worker, { products: [product], included_users: 2 });
    const ann = await checkout(worker, license.token, "ann@example.com", { product });
    const bob = await checkout(worker, license.token, "bob@example.com", { product });
    assert.equal(ann.status, 201);
    assert.equal(bob.status, 201);
    const carl = await checkout(worker, license.token, "carl@example.com", { product });
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
      [["carl@example.com", "NO_SEAT_AVAILABLE", license.lid, "Example Labs", null]],
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
    const license = await issueLicense(worker);
    const token = await createToken(worker, undefined, { description: "ci" });
    const asToken = await call(worker, "POST", `/api/licenses/${license.lid}/revoke`, { auth: token.bearer });
    assert.equal(asToken.status, 200);
    const user = await createUser(worker, "editor");
    assert.equal((await call(worker, "PATCH", `/api/users/${user.username}`, { body: { role: "viewer" } })).status, 200);
    const vault = await call(worker, "POST", "/api/vault-token");
    assert.equal((await call(worker, "POST", "/api/vault/products/audited/disconnect")).status, 200);
    const res = await call(worker, "GET", `/api/audit?from=${since}&limit=1000`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const seen = res.body.items.map((e) => [e.action, e.object, e.actor, e.via, e.token_id]);
    for (const expected of [
      ["license.issue", license.lid, "admin", "password", null],
      ["token.create", token.token.id, "admin", "password", null],
      ["license.revoke", license.lid, "admin", "token", token.token.id],
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
    const issues = await call(worker, "GET", `/api/audit?from=${since}&action=license.issue`);
    assert.ok(issues.body.items.length >= 1 && issues.body.items.every((e) => e.action === "license.issue"));
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

// SQL on the SQLite files of wrangler's local state, run from outside the worker by
// python3's sqlite3: to make one write fail where the test needs it (a trigger that
// raises), and to read what was stored.
const SQLITE = [
  "import json, sqlite3, sys",
  "c = sqlite3.connect(sys.argv[1], timeout=10)",
  "try:",
  "    rows = c.execute(sys.argv[2], json.loads(sys.argv[3])).fetchall()",
  "    c.commit()",
  "finally:",
  "    c.close()",
  "print(json.dumps(rows))",
].join("\n");

function sqlite(file, statement, params = []) {
  const out = execFileSync("python3", ["-c", SQLITE, file, statement, JSON.stringify(params)], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  return JSON.parse(out);
}

/** The local D1's file: the event store. */
function d1File(state) {
  const dir = join(state, "v3/d1/miniflare-D1DatabaseObject");
  const file = readdirSync(dir).find((f) => f.endsWith(".sqlite"));
  assert.ok(file, `a D1 database in ${dir}`);
  return join(dir, file);
}

/** The file of license `lid`'s Durable Object: the one whose `meta` names that lid. */
function licenseObjectFile(state, lid) {
  const root = join(state, "v3/do");
  for (const dir of readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory())) {
    for (const f of readdirSync(join(root, dir.name)).filter((f) => f.endsWith(".sqlite"))) {
      const file = join(root, dir.name, f);
      let rows;
      try {
        rows = sqlite(file, "SELECT value FROM meta WHERE key = 'lid'");
      } catch {
        continue; // another class's object
      }
      if (rows[0]?.[0] === lid) return file;
    }
  }
  assert.fail(`no object under ${root} holds license ${lid}`);
}

/** A license object's outbox: the last event it logged and the last it marked shipped. */
function outbox(objectFile) {
  const [[last, shipped]] = sqlite(
    objectFile,
    "SELECT (SELECT COALESCE(MAX(seq), 0) FROM events), (SELECT value FROM meta WHERE key = 'shipped')",
  );
  return { last, shipped: Number(shipped ?? 0) };
}

/**
 * When (Date.now()) each of the next `count` lines of the worker's log matching `re`
 * (global) after the first `from` appeared, polled every 50 ms.
 */
async function logLines(worker, re, { from, count, timeoutMs, what }) {
  const seen = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const n = (worker.log().match(re) ?? []).length - from;
    while (seen.length < Math.min(n, count)) seen.push(Date.now());
    if (seen.length >= count) return seen;
    if (Date.now() > deadline) assert.fail(`${what}: ${seen.length} of ${count} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * D1 holds each event of license `lid`'s own log exactly once (as `t:<lid>:<seq>`) and
 * nothing else of it, and exactly the seats `spans` of `product`.
 */
async function storedOnce(worker, d1, { lid, product, kinds, spans }) {
  const log = (await events(worker, lid)).reverse();
  assert.deepEqual(log.map((e) => [e.seq, e.kind, e.user]), kinds, "the license's own log");
  const seqOf = (id) => Number(id.split(":").pop());
  const stored = sqlite(d1, "SELECT id, kind, user, at, lease FROM events WHERE lid = ?", [lid]).sort(
    (a, b) => seqOf(a[0]) - seqOf(b[0]),
  );
  assert.deepEqual(
    stored,
    log.map((e) => [`t:${lid}:${e.seq}`, e.kind, e.user, e.at, e.lease ?? null]),
    "each event of the license once in D1, and no other",
  );
  const at = (seq) => log.find((e) => e.seq === seq).at;
  assert.deepEqual(
    sqlite(d1, "SELECT key, user, started, ended, end_event FROM spans WHERE product = ? ORDER BY started, key", [product]),
    spans.map(({ lease, user, opened, closed }) => [lease, user, at(opened), closed ? at(closed) : null, closed ? `t:${lid}:${closed}` : null]),
    "one seat per lease, ended once by the event that ended it",
  );
}

// The worker's own words (worker/src/objects/license/mod.rs) for a hand-over D1 refused,
// and for an alarm that failed (here: the object's write of its shipped mark).
const NOT_HANDED_OVER = /seat events not handed over/g;
const ALARM_FAILED = /license alarm:/g;

describe("the hand-over survives failures", () => {
  test("a refused write is retried by the object's own alarm, backing off; a batch D1 took but the object never marked is handed over again after a restart; nothing is stored twice", async () => {
    // A fixed issuer: the restarted worker listens on another port, and its checkouts
    // must still take this license.
    const env = envFile({ ISSUER_URL: "https://licenses.test/" });
    const own = await startWorker({ keepState: true, envFile: env });
    const state = own.stateDir;
    let restarted;
    try {
      const product = unique("ha");
      const license = await issueLicense(own, { products: [product], included_users: 1 });
      const { lid } = license;
      const q = `from=${now() - H}&to=${now() + H}&product=${product}`;
      const denied = async (w) => (await call(w, "GET", `/api/vault/reports/denials?${q}`)).body.items.map((d) => d.user).sort();
      const ann = await checkout(own, license.token, "ann", { product });
      assert.equal(ann.status, 201, JSON.stringify(ann.body));
      const d1 = d1File(state);
      const object = licenseObjectFile(state, lid);
      await eventually(() => outbox(object).shipped === 1, { what: "ann's grant handed over and marked shipped" });
      const annSpan = { lease: ann.body.lease.id, user: "ann", opened: 1 };

      // (a) D1 refuses every write while the worker keeps running: the object's alarm
      // hands over, fails, and tries again, each time later (2 s, then 4 s).
      const baseline = (own.log().match(NOT_HANDED_OVER) ?? []).length;
      sqlite(d1, "CREATE TRIGGER refuse BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
      for (const user of ["bob", "cy"]) assertError(await checkout(own, license.token, user, { product }), 409, "NO_SEAT_AVAILABLE");
      const [first, second] = await logLines(own, NOT_HANDED_OVER, {
        from: baseline,
        count: 2,
        timeoutMs: 30_000,
        what: "failed hand-overs in the worker's log",
      });
      assert.deepEqual(await denied(own), [], "nothing reached the store while it refused");
      assert.deepEqual(outbox(object), { last: 3, shipped: 1 }, "nothing more marked shipped");
      sqlite(d1, "DROP TRIGGER refuse");
      // No restart and no request to the license: only its own alarm can hand them over.
      await eventually(async () => (await denied(own)).length > 0, { timeoutMs: 60_000, what: "the denials handed over by the retry" });
      const handed = Date.now();
      assert.ok(second - first >= 1500, `the first retry came ${second - first} ms after the failure (backoff 2 s)`);
      assert.ok(handed - second >= 3000, `the next came ${handed - second} ms after the second failure (backoff doubled: 4 s)`);
      await eventually(() => outbox(object).shipped === 3, { what: "the retried batch marked shipped" });
      await storedOnce(own, d1, {
        lid,
        product,
        kinds: [[1, "granted", "ann"], [2, "denied", "bob"], [3, "denied", "cy"]],
        spans: [annSpan],
      });

      // (b) D1 takes a batch but the object cannot mark it shipped (its own write of the
      // mark fails): the rows are in D1 and the object does not know. Then the worker
      // stops, and the restarted one hands the batch over again.
      const alarmErrors = (own.log().match(ALARM_FAILED) ?? []).length;
      sqlite(object, "CREATE TRIGGER refuse_mark BEFORE INSERT ON meta WHEN NEW.key = 'shipped' BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
      assert.equal((await release(own, ann.body.token)).status, 204);
      const dan = await checkout(own, license.token, "dan", { product });
      assert.equal(dan.status, 201, JSON.stringify(dan.body));
      assertError(await checkout(own, license.token, "eve", { product }), 409, "NO_SEAT_AVAILABLE");
      await eventually(() => sqlite(d1, "SELECT count(*) FROM events WHERE lid = ?", [lid])[0][0] === 6, {
        timeoutMs: 20_000,
        what: "the batch in D1",
      });
      await logLines(own, ALARM_FAILED, { from: alarmErrors, count: 1, timeoutMs: 20_000, what: "the object's failed mark in the log" });
      assert.deepEqual(outbox(object), { last: 6, shipped: 3 }, "in D1, but not marked shipped by the object");
      await own.stop();
      sqlite(object, "DROP TRIGGER refuse_mark");
      restarted = await startWorker({ stateDir: state, envFile: env });
      // A later event, handed over after the batch (in order, from the last mark): once it
      // is in D1, the repeated hand-over is done.
      assertError(await checkout(restarted, license.token, "fay", { product }), 409, "NO_SEAT_AVAILABLE");
      await eventually(async () => (await denied(restarted)).includes("fay"), { timeoutMs: 20_000, what: "a later denial, after the batch again" });
      await eventually(() => outbox(object).shipped === 7, { what: "everything marked shipped" });
      assert.deepEqual(await denied(restarted), ["bob", "cy", "eve", "fay"], "each denial once");
      await storedOnce(restarted, d1, {
        lid,
        product,
        kinds: [
          [1, "granted", "ann"], [2, "denied", "bob"], [3, "denied", "cy"],
          [4, "released", "ann"], [5, "granted", "dan"], [6, "denied", "eve"], [7, "denied", "fay"],
        ],
        spans: [{ ...annSpan, closed: 4 }, { lease: dan.body.lease.id, user: "dan", opened: 5 }],
      });
      const seats = await call(restarted, "GET", `/api/vault/reports/usage?${q}`);
      assert.deepEqual(seats.body.users.map((u) => u.user).sort(), ["ann", "dan"]);
    } finally {
      await own.stop();
      await restarted?.stop();
      rmSync(state, { recursive: true, force: true });
    }
  });
});
