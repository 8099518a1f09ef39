// Failed sign-ins are limited (issue 9, finding 5): 10 per username and 100 per client
// address in 15 minutes, refused with 429 and Retry-After before any PBKDF2 work; a
// success does not count. Each scenario gets its own worker: the address limit is shared
// by every request of a run.
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

const me = (worker, auth) => call(worker, "GET", "/api/me", { auth });
const ms = async (fn) => {
  const t = process.hrtime.bigint();
  const res = await fn();
  return [res, Number(process.hrtime.bigint() - t) / 1e6];
};

describe("per username", () => {
  test("ten failures lock the name for everyone, the right password too; others are untouched", () =>
    withWorker(async (worker) => {
      const bob = await createUser(worker, "viewer", "bob");
      const other = await createUser(worker, "viewer", "carol");
      const failed = [];
      for (let i = 0; i < 10; i++) {
        const [res, took] = await ms(() => me(worker, basic("bob", `wrong-${i}`)));
        assertError(res, 401, "UNAUTHORIZED");
        failed.push(took);
      }
      const [refused, took] = await ms(() => me(worker, basic("bob", "wrong-10")));
      assertError(refused, 429, "TOO_MANY_REQUESTS");
      const wait = Number(refused.headers.get("retry-after"));
      assert.ok(wait > 0 && wait <= 900, `Retry-After ${wait}`);
      assertError(await me(worker, bob.auth), 429, "TOO_MANY_REQUESTS", {}, "the right password waits too");
      assert.equal((await me(worker, other.auth)).status, 200);
      failed.sort((a, b) => a - b);
      console.log(`a failed sign-in (PBKDF2): median ${failed[5].toFixed(1)} ms; a refused one: ${took.toFixed(1)} ms`);
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
  test("a hundred failures from one address lock it, whatever the names", () =>
    withWorker(async (worker) => {
      const dave = await createUser(worker, "viewer", "dave");
      for (let i = 0; i < 100; i++) {
        assertError(await me(worker, basic(`spray-${i}`, "password")), 401, "UNAUTHORIZED");
      }
      assertError(await me(worker, basic("spray-100", "password")), 429, "TOO_MANY_REQUESTS");
      assertError(await me(worker, dave.auth), 429, "TOO_MANY_REQUESTS");
      // A Bearer token never costs a derivation, and is not limited here.
      const token = await call(worker, "GET", "/api/me", { auth: "Bearer tsr_nope" });
      assertError(token, 401, "UNAUTHORIZED");
    }));
});
