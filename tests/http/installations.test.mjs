// A seat is a machine, proven — tried as a customer who wants more seats than they bought
// would try it, against the real Workers runtime: copied lease tokens, replayed and
// misdirected proofs, two machines sharing one lease, case-variant names, node-locked
// licenses and their churn, and a flood of denials.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { assertError, call, now } from "../support/api.mjs";
import { claimsOf, newInstallation, proof } from "../support/dpop.mjs";
import { checkout, eventually, events, heartbeat, issueLicense, knowInstallation, pool, release } from "../support/seats.mjs";
import { startWorker } from "../support/wrangler.mjs";

let worker;
before(async () => {
  worker = await startWorker();
});
after(async () => {
  await worker?.stop();
});

const url = (path) => `${worker.url}${path}`;

/** A heartbeat as an app sends it, with every part of the proof overridable. */
async function beat(token, installation, { proofOptions = {}, key, path = "/api/seats/heartbeat" } = {}) {
  const headers = {
    Authorization: `DPoP ${token}`,
    DPoP: await proof(installation, "POST", url(path), { token, ...proofOptions }),
  };
  if (key) headers["Idempotency-Key"] = key;
  return call(worker, "POST", path, { auth: null, headers });
}

describe("proofs bind a lease to its installation", () => {
  let license;
  let mine;
  let lease;
  before(async () => {
    license = await issueLicense(worker, { included_users: 3 });
    mine = knowInstallation(await newInstallation());
    lease = (await checkout(worker, license.token, "ann", { installation: mine })).body;
  });

  test("a lease token copied to another installation is refused, and changes nothing", async () => {
    const thief = await newInstallation();
    const before = await pool(worker, license.lid);
    assertError(await beat(lease.token, thief), 401, "INVALID_PROOF", {}, "heartbeat with another key");
    const releaseUrl = "/api/seats/release";
    assertError(await beat(lease.token, thief, { path: releaseUrl }), 401, "INVALID_PROOF", {}, "release with another key");
    // Even a proof that names the lease's key in its header, signed by the thief.
    const forged = await beat(lease.token, thief, { proofOptions: { jwk: mine.jwk } });
    assertError(forged, 401, "INVALID_PROOF", {}, "another key's jwk in the header");
    assert.deepEqual(await pool(worker, license.lid), before);
    const res = await beat(lease.token, mine);
    assert.equal(res.status, 200, "the installation itself still heartbeats");
    lease = res.body;
  });

  test("a replayed proof is refused", async () => {
    const jti = randomUUID();
    const first = await beat(lease.token, mine, { proofOptions: { jti } });
    assert.equal(first.status, 200);
    lease = first.body;
    // The same proof again (same jti), even for the new token, is a replay.
    const again = await beat(lease.token, mine, { proofOptions: { jti } });
    assertError(again, 401, "INVALID_PROOF", {}, "a jti used before");
    assert.match(again.body.error.message, /used before/);
    assert.match(again.headers.get("www-authenticate") ?? "", /^DPoP error="invalid_dpop_proof"/);
  });

  test("a proof for another URL, another method, or an hour old is refused", async () => {
    const cases = [
      ["another URL", { htu: url("/api/seats/release") }],
      ["another host", { htu: "https://evil.example/api/seats/heartbeat" }],
      ["another method", { htm: "GET" }],
      ["an hour old", { iat: now() - 3600 }],
      ["an hour ahead", { iat: now() + 3600 }],
      ["another token's hash", { ath: "bm90IHRoZSB0b2tlbidzIGhhc2g" }],
      ["not a DPoP proof", { typ: "JWT" }],
    ];
    for (const [name, proofOptions] of cases) {
      assertError(await beat(lease.token, mine, { proofOptions }), 401, "INVALID_PROOF", {}, name);
    }
    const res = await beat(lease.token, mine);
    assert.equal(res.status, 200, "none of them rotated the lease");
    lease = res.body;
  });

  test("P-256 installations (runtimes without Ed25519) work the same", async () => {
    const p256 = knowInstallation(await newInstallation({ alg: "ES256" }));
    const taken = await checkout(worker, license.token, "bob", { installation: p256 });
    assert.equal(taken.status, 201, JSON.stringify(taken.body));
    assert.equal(claimsOf(taken.body.token).cnf.jkt, p256.jkt);
    assert.equal((await beat(taken.body.token, p256)).status, 200);
    assertError(await beat(taken.body.token, mine), 401, "INVALID_PROOF", {}, "an Ed25519 key for a P-256 lease");
  });
});

describe("clones and retries", () => {
  test("two machines sharing one lease (token and key copied) are caught within two heartbeats", async () => {
    const license = await issueLicense(worker);
    const image = knowInstallation(await newInstallation());
    const first = await checkout(worker, license.token, "ann", { installation: image });
    const copied = first.body.token;
    // Machine A heartbeats with its token and moves on to the next generation.
    const a1 = await beat(copied, image, { key: randomUUID() });
    assert.equal(a1.status, 200);
    // Machine B, a copy of the same disk (the same token, the same key), heartbeats in turn.
    const b1 = await beat(copied, image, { key: randomUUID() });
    assertError(b1, 410, "CLONE_DETECTED", {}, "the second machine");
    // A's next heartbeat finds the lease gone too.
    const a2 = await beat(a1.body.token, image, { key: randomUUID() });
    assertError(a2, 410, "CLONE_DETECTED", {}, "the first machine");
    assert.equal((await pool(worker, license.lid)).leases.length, 0);
    const revoked = await events(worker, license.lid, "revoked");
    assert.deepEqual(revoked.map((e) => e.reason), ["CLONE_DETECTED"]);
  });

  test("a heartbeat retried after its answer was lost is not a clone: still one lease", async () => {
    const license = await issueLicense(worker);
    const me = knowInstallation(await newInstallation());
    const lease = (await checkout(worker, license.token, "ann", { installation: me })).body;
    const key = randomUUID();
    const lost = await beat(lease.token, me, { key });
    assert.equal(lost.status, 200, "the answer the app never saw");
    const retried = await beat(lease.token, me, { key });
    assert.equal(retried.status, 200, JSON.stringify(retried.body));
    assert.equal(retried.body.lease.id, lease.lease.id);
    assert.equal(retried.body.lease.generation, lost.body.lease.generation, "the same generation again");
    const next = await beat(retried.body.token, me, { key: randomUUID() });
    assert.equal(next.status, 200);
    const state = await pool(worker, license.lid);
    assert.equal(state.leases.length, 1);
    assert.equal((await events(worker, license.lid, "revoked")).length, 0);
    // Without the same key, the same old token is a second machine.
    assertError(await beat(lease.token, me, { key: randomUUID() }), 410, "CLONE_DETECTED");
  });

  test("two installations of one user on a license allowing one machine: the second is refused, same label or not", async () => {
    const license = await issueLicense(worker, { max_concurrent_user_sessions: 1 });
    const desk = await newInstallation();
    const laptop = await newInstallation();
    assert.equal((await checkout(worker, license.token, "ann", { installation: desk, host: "ann-pc" })).status, 201);
    assertError(await checkout(worker, license.token, "ann", { installation: laptop, host: "ann-pc" }), 409, "SESSION_LIMIT_REACHED");
    assert.equal((await pool(worker, license.lid)).max_sessions, 1);
    // New licenses allow one machine per user unless issued otherwise.
    assert.equal((await issueLicense(worker)).claims.max_concurrent_user_sessions, 1);
  });

  test("200 installations on 50 seats: exactly 50", async () => {
    const license = await issueLicense(worker, { included_users: 50, products: ["ide"] });
    const installations = await Promise.all(Array.from({ length: 200 }, () => newInstallation()));
    const answers = await Promise.all(
      installations.map((installation, i) => checkout(worker, license.token, `user-${i}`, { installation })),
    );
    assert.equal(answers.filter((r) => r.status === 201).length, 50);
    assert.equal(answers.filter((r) => r.status === 409).length, 150);
    assert.equal((await pool(worker, license.lid)).leases.length, 50);
  });
});

describe("one identity form", () => {
  test("blocking bob blocks Bob, \"bob \" and ｂｏｂ", async () => {
    const license = await issueLicense(worker, { included_users: 5 });
    const blocked = await call(worker, "DELETE", "/api/vault/users/bob/licenses?block=true");
    assert.equal(blocked.status, 200, JSON.stringify(blocked.body));
    for (const user of ["bob", "Bob", "bob ", "ＢＯＢ", "ｂｏｂ", "b\u200bob"]) {
      assertError(await checkout(worker, license.token, user, { host: `h-${user}` }), 403, "USER_BLOCKED", {}, JSON.stringify(user));
    }
    const blocks = (await call(worker, "GET", "/api/vault/blocks")).body;
    assert.deepEqual(blocks.map((b) => b.user), ["bob"]);
    // Unblocking in another form lifts it.
    assert.equal((await call(worker, "DELETE", `/api/vault/blocks/${encodeURIComponent("BOB")}`)).status, 200);
    const res = await checkout(worker, license.token, "Bob ");
    assert.equal(res.status, 201);
    assert.equal(res.body.lease.user, "bob", "stored in its identity form");
  });

  test("one user in any form holds one lease", async () => {
    const license = await issueLicense(worker, { max_concurrent_user_sessions: 0 });
    const a = await checkout(worker, license.token, "Ann@Example.com", { host: "one" });
    const b = await checkout(worker, license.token, " ann@example.com", { host: "two" });
    assert.equal(a.status, 201);
    assert.equal(b.status, 200);
    assert.equal(a.body.lease.id, b.body.lease.id);
  });

  // The worker takes NFKC from the runtime (String.prototype.normalize) where the engine's
  // unit tests use tables: the same identities, through the API.
  test("the worker's identity form: ligatures, superscripts, Kelvin, ß and composed forms", async () => {
    const license = await issueLicense(worker, { max_concurrent_user_sessions: 0 });
    const same = [
      ["ﬁle", "FILE", "file"],
      ["x²", "X2", "x2"],
      ["\u212A", "k", "k"],
      ["Straße", "STRASSE", "strasse"],
      ["e\u0301", "\u00C9", "\u00E9"],
    ];
    for (const [one, other, stored] of same) {
      const a = await checkout(worker, license.token, one, { host: "one" });
      const b = await checkout(worker, license.token, other, { host: "two" });
      assert.equal(a.status, 201, JSON.stringify(one));
      assert.equal(b.status, 200, `${JSON.stringify(other)} is ${JSON.stringify(one)}`);
      assert.equal(b.body.lease.user, stored);
    }
  });
});

describe("node-locked licenses", () => {
  const activate = async (license, installation, body = {}) =>
    call(worker, "POST", "/api/machines/activate", {
      auth: null,
      headers: { DPoP: await proof(installation, "POST", url("/api/machines/activate")) },
      body: { license, name: "build-agent", platform: "linux-x64", ...body },
    });
  const deactivateSelf = async (id, token, installation) =>
    call(worker, "DELETE", `/api/machines/${id}`, {
      auth: null,
      headers: { Authorization: `DPoP ${token}`, DPoP: await proof(installation, "DELETE", url(`/api/machines/${id}`), { token }) },
    });

  test("three of three machines, then 409; deactivate one, then 201; a machine holds seats only while active", async () => {
    const license = await issueLicense(worker, { max_machines: 3, max_concurrent_user_sessions: 0 });
    const outsider = knowInstallation(await newInstallation());
    assertError(await checkout(worker, license.token, "ann", { installation: outsider }), 403, "MACHINE_NOT_ACTIVATED");
    const machines = await Promise.all([1, 2, 3].map(() => newInstallation()));
    const activated = [];
    for (const m of machines) {
      knowInstallation(m);
      const res = await activate(license.token, m);
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal(res.body.machine.thumbprint, m.jkt);
      assert.equal(claimsOf(res.body.token).cnf.jkt, m.jkt);
      activated.push(res.body);
    }
    // A machine token lasts a week (checked offline, so a deactivated machine lapses);
    // activating again renews it, as the same machine.
    const first = claimsOf(activated[0].token);
    assert.equal(first.exp - first.iat, 7 * 86_400);
    const renewed = await activate(license.token, machines[0]);
    assert.equal(renewed.status, 200, "already active");
    assert.equal(renewed.body.machine.id, activated[0].machine.id);
    assert.ok(claimsOf(renewed.body.token).exp >= first.exp);
    const fourth = await newInstallation();
    assertError(await activate(license.token, fourth), 409, "MACHINE_LIMIT_REACHED");
    // An activated machine takes a seat; deactivating it ends the seat.
    const seat = await checkout(worker, license.token, "ann", { installation: machines[0] });
    assert.equal(seat.status, 201);
    const admin = await call(worker, "DELETE", `/api/machines/${activated[0].machine.id}`);
    assert.equal(admin.status, 200, JSON.stringify(admin.body));
    assertError(await heartbeat(worker, seat.body.token), 410, "LEASE_REVOKED");
    assert.equal((await activate(license.token, fourth)).status, 201);
    // A machine deactivates itself with its own token and key — not another's.
    const [, second, third] = activated;
    assertError(await deactivateSelf(second.machine.id, third.token, machines[2]), 404, "NOT_FOUND", {}, "another machine's id");
    assertError(await deactivateSelf(second.machine.id, second.token, machines[2]), 401, "INVALID_PROOF", {}, "another machine's key");
    const self = await deactivateSelf(second.machine.id, second.token, machines[1]);
    assert.equal(self.status, 200, JSON.stringify(self.body));
    const listed = await call(worker, "GET", `/api/vault/licenses/${license.lid}/machines`);
    assert.deepEqual(listed.body.items.map((m) => m.thumbprint).sort(), [machines[2].jkt, fourth.jkt].sort());
    const kinds = (await events(worker, license.lid)).map((e) => e.kind);
    assert.equal(kinds.filter((k) => k === "activated").length, 4);
    assert.equal(kinds.filter((k) => k === "deactivated").length, 2);
    const audit = (await call(worker, "GET", "/api/audit?action=machine.deactivate")).body.items;
    assert.deepEqual(audit.map((a) => a.via).sort(), ["installation", "password"]);
  });

  test("activations over the day's limit are 429 with Retry-After", async () => {
    const license = await issueLicense(worker, { max_machines: 1, max_activations_per_day: 2 });
    for (let i = 0; i < 2; i++) {
      const m = await newInstallation();
      const res = await activate(license.token, m);
      assert.equal(res.status, 201);
      assert.equal((await call(worker, "DELETE", `/api/machines/${res.body.machine.id}`)).status, 200);
    }
    const third = await activate(license.token, await newInstallation());
    assertError(third, 429, "TOO_MANY_ACTIVATIONS");
    const wait = Number(third.headers.get("retry-after"));
    assert.ok(wait > 86_000 && wait <= 86_400, `Retry-After ${wait}`);
    assert.equal((await call(worker, "GET", `/api/vault/licenses/${license.lid}/machines`)).body.items.length, 0);
  });

  test("bad activations are clear 4xx and change nothing", async () => {
    const license = await issueLicense(worker, { max_machines: 2 });
    const m = await newInstallation();
    assertError(await call(worker, "POST", "/api/machines/activate", { auth: null, body: { license: license.token } }), 401, "INVALID_PROOF");
    assertError(await activate(license.token, m, { name: "x".repeat(300) }), 400, "INVALID_FIELD", { field: "name" });
    assertError(await activate(license.token, m, { cores: 8 }), 400, "INVALID_BODY");
    assertError(await activate("not.a.license", m), 400, "MALFORMED");
    assertError(await call(worker, "DELETE", `/api/machines/${license.lid}.nope`), 404, "NOT_FOUND");
    assertError(await call(worker, "DELETE", "/api/machines/not-a-machine"), 404, "NOT_FOUND");
    assertError(await call(worker, "DELETE", `/api/machines/${license.lid}.x`, { auth: null }), 401, "UNAUTHORIZED");
    assert.equal((await call(worker, "GET", `/api/vault/licenses/${license.lid}/machines`)).body.items.length, 0);
  });
});

describe("denials cannot be flooded", () => {
  test("1,000 wrong-product checkouts with invented names store a handful of events, every one counted", async () => {
    const license = await issueLicense(worker);
    const me = knowInstallation(await newInstallation());
    for (let i = 0; i < 1000; i += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, j) =>
          checkout(worker, license.token, `invented-${i + j}`, { product: `not-ours-${i + j}`, installation: me }),
        ),
      );
    }
    const denied = await events(worker, license.lid, "denied");
    assert.ok(denied.length <= 2, `${denied.length} denial events`);
    assert.ok(denied.every((e) => e.product === "*" && e.reason === "WRONG_PRODUCT"));
    // The rest are gathered into one event when the minute's window closes.
    const counted = await eventually(
      async () => {
        const all = await events(worker, license.lid, "denied");
        const sum = all.reduce((n, e) => n + e.count, 0);
        return sum === 1000 && all;
      },
      { timeoutMs: 120_000, what: "the window's count" },
    );
    assert.ok(counted.length <= 2);
  });
});
