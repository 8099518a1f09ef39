// Upgrades keep data (issue 22): the previous release's build (PREVIOUS_CONFIG, a
// wrangler config for it that `./scripts/test` makes with build_worker_at, once per
// machine) writes licenses, seats, seat events and accounts on a state; this build then
// starts on the same state and finds all of it, and keeps going from there.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { test } from "node:test";
import { call, createToken, createUser } from "../support/api.mjs";
import { checkout, eventually, heartbeat, issueLicense, pool } from "../support/seats.mjs";
import { envFile } from "../support/secrets.mjs";
import { startWorker } from "../support/wrangler.mjs";

const PREVIOUS = process.env.PREVIOUS_CONFIG;
// The issuer is pinned: the two runs listen on different ports.
const secrets = () => envFile({ ISSUER_URL: "https://licenses.upgrade.test/" });

test("what the previous release wrote, this one finds and keeps using", async () => {
  assert.ok(PREVIOUS, "PREVIOUS_CONFIG is unset: run through ./scripts/test (it builds the previous release)");
  let worker = await startWorker({ keepState: true, inspector: false, config: PREVIOUS, envFile: secrets() });
  const { stateDir } = worker;
  try {
    // Written by the previous release.
    const product = `upgrade-${Math.random().toString(36).slice(2, 8)}`;
    const license = await issueLicense(worker, { products: [product], company: "Upgrade Co" });
    const leases = [];
    for (const user of ["uma", "vic"]) {
      const res = await checkout(worker, license.token, user, { product, host: `${user}-pc` });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      leases.push(res.body);
    }
    const manager = await createUser(worker, "admin");
    const token = await createToken(worker, manager.auth, { description: "ci" });
    const from = Math.floor(Date.now() / 1000) - 3600;
    const usage = (w) => call(w, "GET", `/api/vault/reports/usage?from=${from}&to=${from + 7200}&interval=hour&product=${product}`);
    await eventually(async () => (await usage(worker)).body.users?.length === 2, {
      what: "the previous release's seat events in its event store",
      timeoutMs: 30_000,
    });
    const seats = async (w) => (await call(w, "GET", "/api/vault/products")).body.find?.((p) => p.product === product);
    await eventually(async () => (await seats(worker))?.allocated === 2, { what: "both leases in the previous release's roll-up" });
    await worker.stop();

    // This release, on the same state.
    worker = await startWorker({ stateDir, keepState: true, envFile: secrets() });
    const record = await call(worker, "GET", `/api/licenses/${license.lid}`);
    assert.equal(record.status, 200, JSON.stringify(record.body));
    assert.equal(record.body.claims.company, "Upgrade Co");
    const valid = await call(worker, "POST", "/api/licenses/validate", { auth: null, body: { token: license.token } });
    assert.equal(valid.body.valid, true, JSON.stringify(valid.body));
    assert.deepEqual((await pool(worker, license.lid)).leases.map((l) => l.user).sort(), ["uma", "vic"]);
    // The roll-up the previous release kept in its one directory, now in the shards: the
    // vault's first read after the upgrade already sees it, counted once.
    const after = await seats(worker);
    assert.equal(after?.allocated, 2, JSON.stringify(after));
    assert.equal(after.licenses, 1);
    const held = await call(worker, "GET", "/api/vault/users/uma/licenses");
    assert.deepEqual(held.body.map((l) => l.lid), [license.lid]);
    const listed = await call(worker, "GET", `/api/vault/products/${product}/licenses`);
    assert.deepEqual(listed.body.items.map((l) => l.lid), [license.lid]);
    for (const lease of leases) {
      const beat = await heartbeat(worker, lease.token);
      assert.equal(beat.status, 200, `a lease from before the upgrade heartbeats: ${JSON.stringify(beat.body)}`);
    }
    assert.deepEqual((await usage(worker)).body.users.map((u) => u.user).sort(), ["uma", "vic"]);
    const me = await call(worker, "GET", "/api/me", { auth: manager.auth });
    assert.equal(me.status, 200, "the user signs in with the password set before");
    assert.equal((await call(worker, "GET", "/api/me", { auth: token.bearer })).status, 200, "the API token still works");
    // And keeps going: a new seat, a new user.
    const third = await checkout(worker, license.token, "wes", { product, host: "wes-pc" });
    assert.equal(third.status, 201, JSON.stringify(third.body));
    // Its report goes to its shard, which holds the moved holdings: three, not five.
    await eventually(async () => (await seats(worker))?.allocated === 3, { what: "the new lease in the roll-up" });
    assert.equal((await seats(worker)).licenses, 1);
    await createUser(worker, "viewer");
  } finally {
    await worker.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
});
