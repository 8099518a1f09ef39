// The app-facing endpoints against the real Workers runtime: online validation,
// checkout / heartbeat / release, the seat count under concurrency, expiry by the
// license object's alarm, and bad input that changes nothing.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { assertError, call, now, untilServerTime } from "../support/api.mjs";
import { signWithRootKey } from "../support/secrets.mjs";
import { proof } from "../support/dpop.mjs";
import {
  checkout,
  eventually,
  events,
  foreignSigner,
  heartbeat,
  heldBy,
  installationFor,
  issueLicense,
  pool,
  release,
} from "../support/seats.mjs";
import { startWorker } from "../support/wrangler.mjs";

let worker;
// A 60-second lease taken first and left alone until the last test: its seat must be
// freed by the license object's alarm, with no request to that license meanwhile.
let expiring;
before(async () => {
  worker = await startWorker();
  const license = await issueLicense(worker, { included_users: 1, lease_seconds: 60 });
  const res = await checkout(worker, license.token, "expiry-user@example.com");
  assert.equal(res.status, 201, JSON.stringify(res.body));
  expiring = { license, lease: res.body };
});
after(async () => {
  await worker?.stop();
});

const claimsOf = (token) => JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString());
const headerOf = (token) => JSON.parse(Buffer.from(token.split(".")[0], "base64url").toString());

describe("ok", () => {
  test("validate online: the npm validator's shape, with revocation", async () => {
    const license = await issueLicense(worker);
    const ok = await call(worker, "POST", "/api/licenses/validate", { auth: null, body: { token: license.token, product: "ide" } });
    assert.equal(ok.status, 200);
    assert.deepEqual(Object.keys(ok.body).sort(), ["claims", "code", "valid", "warnings"]);
    assert.equal(ok.body.valid, true);
    assert.equal(ok.body.code, null);
    assert.equal(ok.body.claims.lid, license.lid);

    const wrong = await call(worker, "POST", "/api/licenses/validate", { auth: null, body: { token: license.token, product: "other" } });
    assert.deepEqual([wrong.status, wrong.body.valid, wrong.body.code], [200, false, "WRONG_PRODUCT"]);
    assert.equal(wrong.body.claims.lid, license.lid, "claims whenever the signature verified");
    const elsewhere = await call(worker, "POST", "/api/licenses/validate", {
      auth: null,
      body: { token: license.token, instance: "https://elsewhere.example/" },
    });
    assert.equal(elsewhere.body.code, "WRONG_INSTANCE");

    // Seen at once here because the isolate that revoked is the one that validates
    // (wrangler dev runs one). Another isolate's "not revoked" answer stands up to
    // REVOCATION_FRESH_SECONDS: that window is the engine's `revocation_known` and its
    // unit tests, which this test does not reach.
    assert.equal((await call(worker, "POST", `/api/licenses/${license.lid}/revoke`)).status, 200);
    const revoked = await call(worker, "POST", "/api/licenses/validate", { auth: null, body: { token: license.token } });
    assert.deepEqual([revoked.status, revoked.body.valid, revoked.body.code], [200, false, "REVOKED"]);
    assert.deepEqual(revoked.body.warnings, []);

    const junk = await call(worker, "POST", "/api/licenses/validate", { auth: null, body: { token: "not-a-license" } });
    assert.deepEqual([junk.status, junk.body.valid, junk.body.code, junk.body.claims], [200, false, "MALFORMED", null]);
  });

  test("checkout → heartbeat → release, with lease tokens the deployment signed", async () => {
    const license = await issueLicense(worker, { included_users: 2, max_concurrent_user_sessions: 2 });
    const first = await checkout(worker, license.token, "ann@example.com", { host: "laptop" });
    assert.equal(first.status, 201, JSON.stringify(first.body));
    const { lease, token } = first.body;
    assert.equal(lease.lid, license.lid);
    assert.deepEqual([lease.product, lease.user, lease.host, lease.overage], ["ide", "ann@example.com", "laptop", false]);
    assert.equal(lease.heartbeat_seconds, 600, "a 20-minute lease by default, heartbeat every 10");
    assert.ok(lease.expires_at - now() > 1190 && lease.expires_at - now() <= 1200);
    assert.equal(headerOf(token).typ, "lease+jwt");
    assert.equal(headerOf(token).alg, "EdDSA");
    const claims = claimsOf(token);
    const laptop = await installationFor(worker, "laptop");
    assert.deepEqual(
      [claims.jti, claims.lid, claims.prod, claims.user, claims.host, claims.exp, claims.iss, claims.cnf, claims.gen],
      [lease.id, license.lid, "ide", "ann@example.com", "laptop", lease.expires_at, `${worker.url}/`, { jkt: laptop.jkt }, 1],
    );
    assert.deepEqual([lease.installation, lease.generation], [laptop.jkt, 1]);

    // Asking again (same user, another installation) joins the same lease: 200, one seat.
    const again = await checkout(worker, license.token, "ann@example.com", { host: "desktop" });
    assert.equal(again.status, 200);
    assert.equal(again.body.lease.id, lease.id);
    assert.equal((await pool(worker, license.lid)).products.find((p) => p.product === "ide").allocated, 1);

    // A heartbeat extends the session to its own time plus the lease's length. It comes
    // at a later second of the worker's clock than the checkout, so an extended lease ends
    // strictly later than the first answer said.
    const leaseSeconds = (await pool(worker, license.lid)).lease_seconds;
    assert.equal(leaseSeconds, 1200);
    await untilServerTime(worker, lease.expires_at - leaseSeconds + 1);
    const beat = await heartbeat(worker, token);
    const answered = now();
    assert.equal(beat.status, 200, JSON.stringify(beat.body));
    assert.equal(beat.body.lease.id, lease.id);
    const beatAt = claimsOf(beat.body.token).iat;
    assert.ok(beatAt > lease.expires_at - leaseSeconds, "the heartbeat's time is after the checkout's");
    assert.ok(
      beat.body.lease.expires_at >= beatAt + leaseSeconds && beat.body.lease.expires_at <= answered + leaseSeconds,
      `extended from the heartbeat's time: ${beat.body.lease.expires_at} in [${beatAt} + ${leaseSeconds}, ${answered} + ${leaseSeconds}]`,
    );
    assert.ok(beat.body.lease.expires_at > lease.expires_at, "later than before the heartbeat");
    assert.equal(claimsOf(beat.body.token).exp, beat.body.lease.expires_at, "a fresh token for the extended lease");
    assert.equal(claimsOf(beat.body.token).gen, 2, "the next generation");

    // The roll-up sees the lease, with both hosts.
    const held = await eventually(async () => (await heldBy(worker, "ann@example.com")).find((h) => h.lease === lease.id), { what: "the lease in the roll-up" });
    assert.deepEqual(held.hosts.sort(), ["desktop", "laptop"]);
    assert.equal(held.company, "Example Labs");

    // Release from both installations: the seat is free; releasing twice is still 204.
    assert.equal((await release(worker, beat.body.token)).status, 204);
    assert.equal((await release(worker, again.body.token)).status, 204);
    assert.equal((await release(worker, token)).status, 204);
    assert.equal((await pool(worker, license.lid)).leases.length, 0);
    assertError(await heartbeat(worker, token), 410, "LEASE_REVOKED");
    // The history is who held what: the heartbeat only moved an expiry, so it is no event.
    const kinds = (await events(worker, license.lid)).map((e) => [e.kind, e.host, e.reason ?? null]).reverse();
    assert.deepEqual(kinds, [
      ["granted", "laptop", null],
      ["refreshed", "desktop", "HOST_JOINED"],
      ["refreshed", "laptop", "HOST_RELEASED"],
      ["released", "desktop", null],
    ]);
  });

  test("max_concurrent_user_sessions caps the installations of one user", async () => {
    const license = await issueLicense(worker, { max_concurrent_user_sessions: 2 });
    assert.equal((await checkout(worker, license.token, "ann", { host: "a" })).status, 201);
    assert.equal((await checkout(worker, license.token, "ann", { host: "b" })).status, 200);
    assertError(await checkout(worker, license.token, "ann", { host: "c" }), 409, "SESSION_LIMIT_REACHED");
    assert.equal((await checkout(worker, license.token, "ann", { host: "a" })).status, 200, "a host it holds refreshes");
  });

  test("usage billing grants beyond the seats, marked as overage", async () => {
    const license = await issueLicense(worker, { included_users: 1, usage_billing: true });
    assert.equal((await checkout(worker, license.token, "ann")).body.lease.overage, false);
    const over = await checkout(worker, license.token, "bob");
    assert.equal(over.status, 201);
    assert.equal(over.body.lease.overage, true);
  });
});

describe("seats under concurrency", () => {
  test("200 users at once on 50 seats: exactly 50 granted, 150 denied and logged; release 10, then 10 more", async () => {
    const license = await issueLicense(worker, { included_users: 50, products: ["ide"] });
    const users = Array.from({ length: 200 }, (_, i) => `user-${String(i).padStart(3, "0")}`);
    // Each from an installation of its own.
    const answers = await Promise.all(users.map((u) => checkout(worker, license.token, u, { host: `host-${u}` })));
    const granted = answers.filter((r) => r.status === 201);
    const denied = answers.filter((r) => r.status === 409);
    assert.equal(granted.length, 50);
    assert.equal(denied.length, 150);
    assert.ok(denied.every((r) => r.body.error.code === "NO_SEAT_AVAILABLE"));
    assert.equal(new Set(granted.map((r) => r.body.lease.id)).size, 50);
    const state = await pool(worker, license.lid);
    assert.equal(state.leases.length, 50);
    assert.equal(state.products[0].free, 0);
    const denials = await events(worker, license.lid, "denied");
    assert.equal(denials.length, 150);
    assert.ok(denials.every((e) => e.reason === "NO_SEAT_AVAILABLE" && e.product === "ide"));
    const deniedUsers = users.filter((_, i) => answers[i].status === 409);
    assert.deepEqual(denials.map((e) => e.user).sort(), deniedUsers);

    // Release 10: exactly 10 of those refused get a seat now, and no more.
    await Promise.all(granted.slice(0, 10).map((r) => release(worker, r.body.token).then((x) => assert.equal(x.status, 204))));
    const retry = await Promise.all(deniedUsers.slice(0, 11).map((u) => checkout(worker, license.token, u, { host: `host-${u}` })));
    assert.equal(retry.filter((r) => r.status === 201).length, 10);
    assert.equal(retry.filter((r) => r.status === 409).length, 1);
    assert.equal((await pool(worker, license.lid)).leases.length, 50);
  });

  test("20 checkouts at once by one user: one lease", async () => {
    const license = await issueLicense(worker, { included_users: 5 });
    const answers = await Promise.all(Array.from({ length: 20 }, () => checkout(worker, license.token, "solo")));
    assert.deepEqual(answers.map((r) => r.status).sort(), [...Array(19).fill(200), 201]);
    assert.equal(new Set(answers.map((r) => r.body.lease.id)).size, 1);
    assert.equal((await pool(worker, license.lid)).leases.length, 1);
    assert.equal((await events(worker, license.lid, "granted")).length, 1);
  });
});

describe("bad input changes nothing", () => {
  let license;
  let lease;
  let snapshot;
  before(async () => {
    license = await issueLicense(worker);
    lease = (await checkout(worker, license.token, "ann")).body;
    snapshot = async () => ({ pool: await pool(worker, license.lid), events: (await events(worker, license.lid)).length });
  });

  const foreign = foreignSigner();
  const longUser = "u".repeat(10 * 1024);
  // Checkout's license is refused only after its proof: each such case carries one.
  const proved = async (options) => {
    const installation = await installationFor(worker, "laptop");
    return { ...options, headers: { DPoP: await proof(installation, "POST", `${worker.url}/api/seats/checkout`) } };
  };
  // A lease token presented as heartbeat and release take it.
  const presenting = async (route, token, options = {}) => {
    const installation = await installationFor(worker, "laptop");
    const url = `${worker.url}/api/seats/${route}`;
    return { ...options, headers: { Authorization: `DPoP ${token}`, DPoP: await proof(installation, "POST", url, { token }) } };
  };
  const cases = async () => [
    ["checkout: malformed JSON", "/api/seats/checkout", { raw: '{"license":' }, 400, "MALFORMED_JSON"],
    ["checkout: a missing field", "/api/seats/checkout", { body: { license: license.token, product: "ide" } }, 400, "INVALID_BODY"],
    ["checkout: a wrong type", "/api/seats/checkout", { body: { license: license.token, product: "ide", user: 42 } }, 400, "INVALID_BODY"],
    ["checkout: an unknown field", "/api/seats/checkout", { body: { license: license.token, product: "ide", user: "x", seats: 9 } }, 400, "INVALID_BODY"],
    ["checkout: a 10 KB user", "/api/seats/checkout", { body: { license: license.token, product: "ide", user: longUser } }, 400, "INVALID_FIELD", { field: "user" }],
    ["checkout: a 10 KB host", "/api/seats/checkout", { body: { license: license.token, product: "ide", user: "x", host: longUser } }, 400, "INVALID_FIELD", { field: "host" }],
    ["checkout: a control character", "/api/seats/checkout", { body: { license: license.token, product: "ide", user: "a\u0000b" } }, 400, "INVALID_FIELD", { field: "user" }],
    ["checkout: an invisible user", "/api/seats/checkout", { body: { license: license.token, product: "ide", user: "\u200b\u200d" } }, 400, "INVALID_FIELD", { field: "user" }],
    ["checkout: no proof", "/api/seats/checkout", { body: { license: license.token, product: "ide", user: "x" } }, 401, "INVALID_PROOF"],
    ["checkout: not a license", "/api/seats/checkout", await proved({ body: { license: "not.a.token", product: "ide", user: "x" } }), 400, "MALFORMED"],
    ["checkout: a lease token for a license", "/api/seats/checkout", await proved({ body: { license: lease.token, product: "ide", user: "x" } }), 400, "MALFORMED"],
    ["checkout: another deployment's license", "/api/seats/checkout", await proved({ body: { license: foreign.sign({ ...claimsOf(license.token) }), product: "ide", user: "x" } }), 403, "UNKNOWN_KEY"],
    ["checkout: forged under our kid", "/api/seats/checkout", await proved({ body: { license: foreign.sign(claimsOf(license.token), { kid: headerOf(license.token).kid }), product: "ide", user: "x" } }), 403, "BAD_SIGNATURE"],
    ["checkout: a product the license lacks", "/api/seats/checkout", await proved({ body: { license: license.token, product: "other", user: "x" } }), 403, "WRONG_PRODUCT"],
    ["checkout: an oversized body", "/api/seats/checkout", { raw: JSON.stringify({ license: license.token, product: "ide", user: "x".repeat(70_000) }) }, 413, "PAYLOAD_TOO_LARGE"],
    ["checkout: a form body", "/api/seats/checkout", { raw: "license=x", contentType: "application/x-www-form-urlencoded" }, 415, "UNSUPPORTED_MEDIA_TYPE"],
    ["heartbeat: a malformed lease token", "/api/seats/heartbeat", await presenting("heartbeat", "abc"), 400, "INVALID_LEASE", { reason: "MALFORMED" }],
    ["heartbeat: a license for a lease", "/api/seats/heartbeat", await presenting("heartbeat", license.token), 400, "INVALID_LEASE", { reason: "MALFORMED" }],
    ["heartbeat: a foreign-key lease token", "/api/seats/heartbeat", await presenting("heartbeat", foreign.sign(claimsOf(lease.token), { typ: "lease+jwt" })), 400, "INVALID_LEASE", { reason: "UNKNOWN_KEY" }],
    ["heartbeat: a lease token forged under our kid", "/api/seats/heartbeat", await presenting("heartbeat", foreign.sign({ ...claimsOf(lease.token), exp: now() + 86_400 * 365 }, { typ: "lease+jwt", kid: headerOf(lease.token).kid })), 400, "INVALID_LEASE", { reason: "BAD_SIGNATURE" }],
    ["heartbeat: no token", "/api/seats/heartbeat", {}, 401, "UNAUTHORIZED"],
    ["heartbeat: the token in the body, as before proofs", "/api/seats/heartbeat", { body: { token: lease.token } }, 400, "INVALID_BODY"],
    ["heartbeat: no proof", "/api/seats/heartbeat", { headers: { Authorization: `DPoP ${lease.token}` } }, 401, "INVALID_PROOF"],
    ["release: a foreign-key lease token", "/api/seats/release", await presenting("release", foreign.sign(claimsOf(lease.token), { typ: "lease+jwt" })), 400, "INVALID_LEASE"],
    ["release: a body", "/api/seats/release", await presenting("release", lease.token, { body: { token: 5 } }), 400, "INVALID_BODY"],
    ["validate: a missing token", "/api/licenses/validate", { body: {} }, 400, "INVALID_BODY"],
    ["validate: a bad instance", "/api/licenses/validate", { body: { token: license.token, instance: "not a url" } }, 400, "INVALID_FIELD", { field: "instance" }],
  ];
  test("each bad request is the 4xx it names, and the license's state and log stay as they were", async () => {
    const before = await snapshot();
    for (const [name, path, options, status, code, extra] of await cases()) {
      const res = await call(worker, "POST", path, { auth: null, ...options });
      assertError(res, status, code, extra, name);
      assert.ok(!/\.rs\b|panicked|RuntimeError/.test(JSON.stringify(res.body)), `${name}: no internals`);
    }
    const after = await snapshot();
    assert.deepEqual(after.pool, before.pool);
    // Refusals of a license that verifies are seat events (WRONG_PRODUCT here); nothing else is.
    const denials = (await events(worker, license.lid, "denied")).map((e) => e.reason);
    assert.deepEqual(denials, ["WRONG_PRODUCT"]);
    assert.equal(after.events, before.events + 1);
    assert.equal((await heartbeat(worker, lease.token)).status, 200, "the real lease still works");
  });

  test("a lease of a license revoked since is 410; an expired license is refused with its code", async () => {
    const l = await issueLicense(worker);
    const taken = (await checkout(worker, l.token, "ann")).body;
    await call(worker, "POST", `/api/licenses/${l.lid}/revoke`);
    assertError(await heartbeat(worker, taken.token), 410, "LEASE_REVOKED");
    assertError(await checkout(worker, l.token, "ann"), 403, "REVOKED");
    // A token signed by this deployment whose license has expired.
    const expired = signWithRootKey({ ...claimsOf(l.token), lid: "expired-lic", exp: now() - 10, lexp: now() - 5 });
    assertError(await checkout(worker, expired, "ann"), 403, "EXPIRED");
  });
});

describe("expiry", () => {
  test("a lease nobody heartbeats frees its seat by the license's alarm; its heartbeat is then 410", async () => {
    const { license, lease } = expiring;
    const user = "expiry-user@example.com";
    assert.equal((await heldBy(worker, user)).length, 1, "held before it expires");
    const expiresAt = lease.lease.expires_at;
    // Only the vault's roll-up is read: the license object itself gets no request until
    // its seat is gone, so only its alarm can have freed it.
    await eventually(async () => (await heldBy(worker, user)).length === 0, {
      timeoutMs: Math.max(0, expiresAt * 1000 - Date.now()) + 20_000,
      what: "the expired lease leaving the roll-up",
    });
    assert.ok(now() >= expiresAt, "not freed before its time");
    const products = (await call(worker, "GET", `/api/vault/products/ide/licenses?limit=1000`)).body.items;
    assert.equal(products.find((p) => p.lid === license.lid).allocated, 0);
    assertError(await heartbeat(worker, lease.token), 410, "LEASE_EXPIRED");
    const expired = await events(worker, license.lid, "expired");
    assert.equal(expired.length, 1);
    assert.ok(expired[0].at >= expiresAt);
  });
});
