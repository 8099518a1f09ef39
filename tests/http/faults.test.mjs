// Faults (issue 22), short and deterministic, against the real runtime on persisted
// state: the runtime killed in the middle of concurrent checkouts loses no lease it
// answered and grants no seat beyond the license's; seat events written while the event
// store is unreachable reach it once it is back.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { describe, test } from "node:test";
import { call } from "../support/api.mjs";
import { checkout, eventually, issueLicense, pool } from "../support/seats.mjs";
import { envFile } from "../support/secrets.mjs";
import { startWorker, variantConfig } from "../support/wrangler.mjs";

// The issuer is pinned: a restarted worker listens on another port.
const secrets = () => envFile({ ISSUER_URL: "https://licenses.faults.test/" });

describe("a restart in the middle of concurrent checkouts", () => {
  test("no answered lease is lost and no seat is granted beyond the license's", async () => {
    let worker = await startWorker({ keepState: true, envFile: secrets() });
    const { stateDir } = worker;
    try {
      const license = await issueLicense(worker, { included_users: 5, products: ["ide"], company: "Crash Co" });
      // Twenty apps at once; the runtime dies while they are in flight.
      const attempts = Array.from({ length: 20 }, (_, i) =>
        checkout(worker, license.token, `crash-${i}`, { host: `pc-${i}` }).catch((e) => ({ status: 0, error: e })),
      );
      await new Promise((ok) => setTimeout(ok, 60));
      await worker.stop();
      const answers = await Promise.all(attempts);
      const granted = answers.filter((a) => a.status === 201).map((a) => a.body.lease.id);
      const refused = answers.filter((a) => a.status === 403).length;
      const cut = answers.filter((a) => a.status === 0 || a.status >= 500).length;
      assert.equal(granted.length + refused + cut, 20, JSON.stringify(answers.map((a) => a.status)));
      assert.ok(granted.length <= 5, `at most the license's 5 seats: ${granted.length}`);

      worker = await startWorker({ stateDir, keepState: true, envFile: secrets() });
      const leases = (await pool(worker, license.lid)).leases;
      assert.ok(leases.length <= 5, `after the restart, ${leases.length} leases on 5 seats`);
      const held = new Set(leases.map((l) => l.lease));
      for (const id of granted) assert.ok(held.has(id), `lease ${id} was answered, then lost`);
      // The seats still add up: the rest can be taken, and not one more.
      let more = 0;
      for (let i = 0; i < 10; i++) {
        const res = await checkout(worker, license.token, `after-${i}`, { host: `after-${i}` });
        if (res.status === 201) more += 1;
        else assert.equal(res.body.error?.code, "NO_SEAT_AVAILABLE", JSON.stringify(res.body));
      }
      assert.equal(leases.length + more, 5, `${leases.length} kept + ${more} new`);
    } finally {
      await worker.stop();
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});

describe("the event store unreachable for a while", () => {
  test("seat events written meanwhile arrive once it is back", async () => {
    const product = `outage-${Math.random().toString(36).slice(2, 8)}`;
    let worker = await startWorker({ keepState: true, envFile: secrets() });
    const { stateDir } = worker;
    try {
      const license = await issueLicense(worker, { products: [product], company: "Outage Co" });
      await worker.stop();
      // The same state, the EVENTS binding renamed away: every hand-over fails.
      const down = variantConfig((toml) => toml.replace('binding = "EVENTS"', 'binding = "EVENTS_UNREACHABLE"'));
      worker = await startWorker({ stateDir, keepState: true, inspector: false, config: down, envFile: secrets() });
      const users = ["ola", "pia", "quinn"];
      for (const user of users) {
        const res = await checkout(worker, license.token, user, { product, host: `${user}-pc` });
        assert.equal(res.status, 201, JSON.stringify(res.body));
      }
      // Let the license's alarm try (and fail) to hand the events over.
      await new Promise((ok) => setTimeout(ok, 3000));
      await worker.stop();

      worker = await startWorker({ stateDir, keepState: true, envFile: secrets() });
      const from = Math.floor(Date.now() / 1000) - 3600;
      const to = from + 7200;
      // The next request to the license (any) wakes it; its outbox goes out in order.
      assert.equal((await pool(worker, license.lid)).leases.length, 3);
      const seen = await eventually(async () => {
        const res = await call(worker, "GET", `/api/vault/reports/usage?from=${from}&to=${to}&interval=hour&product=${product}`);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const names = res.body.users.map((u) => u.user).sort();
        return names.length === 3 && names;
      }, { what: "the three checkouts in the event store", timeoutMs: 90_000 });
      assert.deepEqual(seen, users);
    } finally {
      await worker.stop();
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
