// Failed sign-ins are limited without letting a stranger lock anyone out (issue 20,
// item 1; OWASP's device cookies): 10 per (username, address) and 100 per address in
// 15 minutes, a loose per-username backoff for unknown clients, and none of these for a
// client that signed in as that user before (its device cookie), which meets only its
// own limit. Refusals are 429 with Retry-After; a success does not count. Addresses are
// the CF-Connecting-IP header, which the local runtime keeps when a client sends it (on
// Cloudflare the edge sets it). Each scenario gets its own worker: limits outlive a test.
// That a refused sign-in does no PBKDF2 work has no black-box observable but its time;
// what is asserted is its consequence: a refused sign-in never verifies the password,
// so the right one is refused every time.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { assertError, call, createUser } from "../support/api.mjs";
import { basic } from "../support/secrets.mjs";
import { startWorker } from "../support/wrangler.mjs";

async function withWorker(fn) {
  const worker = await startWorker();
  try {
    await fn(worker);
  } finally {
    await worker.stop();
  }
}

const from = (address, cookie) => ({ "CF-Connecting-IP": address, ...(cookie ? { Cookie: cookie } : {}) });
const me = (worker, auth, headers = from("198.51.100.1")) => call(worker, "GET", "/api/me", { auth, headers });
const signIn = (worker, user, headers) =>
  call(worker, "POST", "/api/session", { auth: null, body: { username: user.username, password: user.password }, headers });

/** Sign in through the console's endpoint from `address`: the device cookie it leaves. */
async function deviceCookie(worker, user, address) {
  const res = await signIn(worker, user, from(address));
  assert.equal(res.status, 201, JSON.stringify(res.body));
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith("tessera_device="));
  assert.ok(cookie, "a sign-in leaves a device cookie");
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Strict/);
  return cookie.split(";")[0];
}

describe("per username and address", () => {
  test("ten failures from one address stop that name there only; elsewhere and known clients sign in", () =>
    withWorker(async (worker) => {
      const bob = await createUser(worker, "viewer", "bob");
      const known = await deviceCookie(worker, bob, "192.0.2.50");
      for (let i = 0; i < 10; i++) {
        assertError(await me(worker, basic("bob", `wrong-${i}`), from("203.0.113.7")), 401, "UNAUTHORIZED", {}, `failure ${i + 1}`);
      }
      const refused = await me(worker, basic("bob", "wrong-10"), from("203.0.113.7"));
      assertError(refused, 429, "TOO_MANY_REQUESTS");
      const wait = Number(refused.headers.get("retry-after"));
      assert.ok(wait > 0 && wait <= 900, `Retry-After ${wait}`);
      // From that address the right password waits too, and again: had a refused
      // sign-in derived and verified it, the worker would remember it and let the next
      // one through without the limits.
      for (const attempt of ["first", "second"]) {
        assertError(await me(worker, bob.auth, from("203.0.113.7")), 429, "TOO_MANY_REQUESTS", {}, `the right password waits there (${attempt} time)`);
      }
      const session = await signIn(worker, bob, from("203.0.113.7"));
      assertError(session, 429, "TOO_MANY_REQUESTS", {}, "a console sign-in from there waits too");
      assert.equal(session.headers.get("set-cookie"), null, "and starts no session");
      // Case and width variants are the same name, not ten more tries.
      assertError(await me(worker, basic("BOB", "wrong"), from("203.0.113.7")), 429, "TOO_MANY_REQUESTS", {}, "BOB is bob");
      // Another address, and a known client even at the same address, sign in.
      assert.equal((await me(worker, bob.auth, from("203.0.113.8"))).status, 200);
      assert.equal((await me(worker, bob.auth, from("203.0.113.7", known))).status, 200);
      assert.equal((await signIn(worker, bob, from("203.0.113.7", known))).status, 201);
      // Someone else's device cookie, or a forged one, is no device at all.
      const carl = await createUser(worker, "viewer", "carl");
      const carls = await deviceCookie(worker, carl, "192.0.2.11");
      assertError(await me(worker, bob.auth, from("203.0.113.7", carls)), 429, "TOO_MANY_REQUESTS", {}, "carl's cookie for bob");
      const forged = `${known.slice(0, -4)}AAAA`;
      assertError(await me(worker, bob.auth, from("203.0.113.7", forged)), 429, "TOO_MANY_REQUESTS", {}, "a forged cookie");
    }));

  test("the right password from a known client signs in after 1,000 failures from elsewhere", () =>
    withWorker(async (worker) => {
      const ann = await createUser(worker, "admin", "ann");
      const known = await deviceCookie(worker, ann, "192.0.2.10");
      // 1,000 guesses from 1,000 addresses, ten at a time.
      const statuses = {};
      let longest = 0;
      for (let batch = 0; batch < 100; batch++) {
        const answers = await Promise.all(
          Array.from({ length: 10 }, (_, i) => me(worker, basic("ann", `guess-${batch}-${i}`), from(`10.0.${batch}.${i}`))),
        );
        for (const a of answers) {
          statuses[a.status] = (statuses[a.status] ?? 0) + 1;
          longest = Math.max(longest, Number(a.headers.get("retry-after") ?? 0));
        }
      }
      assert.equal(statuses[200], undefined, JSON.stringify(statuses));
      assert.equal((statuses[401] ?? 0) + (statuses[429] ?? 0), 1000, JSON.stringify(statuses));
      assert.ok(statuses[429] > 900, `the per-username backoff refused most: ${JSON.stringify(statuses)}`);
      // Slowed, never locked: no unknown client is told to wait more than 5 minutes.
      assert.ok(longest > 0 && longest <= 300, `the longest Retry-After: ${longest}`);
      // The known client: Basic and the console, from its usual address and another.
      assert.equal((await me(worker, ann.auth, from("192.0.2.10", known))).status, 200);
      assert.equal((await signIn(worker, ann, from("192.0.2.99", known))).status, 201);
    }));

  test("successes do not count, and twenty guesses at once get exactly ten tries", () =>
    withWorker(async (worker) => {
      const erin = await createUser(worker, "viewer", "erin");
      for (let i = 0; i < 15; i++) {
        assert.equal((await me(worker, erin.auth)).status, 200);
      }
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => me(worker, basic("erin", `guess-${i}`))));
      const statuses = answers.map((r) => r.status).sort();
      assert.deepEqual(statuses, [...Array(10).fill(401), ...Array(10).fill(429)]);
    }));

  test("an unknown username is limited the same way (nothing tells names apart)", () =>
    withWorker(async (worker) => {
      for (let i = 0; i < 10; i++) assertError(await me(worker, basic("nobody", `x${i}`)), 401, "UNAUTHORIZED");
      assertError(await me(worker, basic("nobody", "x10")), 429, "TOO_MANY_REQUESTS");
    }));
});

describe("per address", () => {
  test("a hundred failures from one address stop it, whatever the names; a known client there is not", () =>
    withWorker(async (worker) => {
      const dave = await createUser(worker, "viewer", "dave");
      const known = await deviceCookie(worker, dave, "192.0.2.20");
      const here = from("198.51.100.5");
      for (let i = 0; i < 100; i++) {
        assertError(await me(worker, basic(`spray-${i}`, "password"), here), 401, "UNAUTHORIZED");
      }
      assertError(await me(worker, basic("spray-100", "password"), here), 429, "TOO_MANY_REQUESTS");
      assertError(await me(worker, dave.auth, here), 429, "TOO_MANY_REQUESTS");
      assert.equal((await me(worker, dave.auth, from("198.51.100.5", known))).status, 200, "the known client at that address");
      // A Bearer token never costs a derivation, and is not limited here.
      const token = await call(worker, "GET", "/api/me", { auth: "Bearer tsr_nope", headers: here });
      assertError(token, 401, "UNAUTHORIZED");
    }));
});
