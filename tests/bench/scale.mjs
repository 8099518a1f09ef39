// The scale-out load model (issue 21): thousands of licenses, each with a seat held by an
// installation of its own and heartbeating, and in the middle of the load a block and a
// disconnect. It prints, from the directory's and its roll-up shards' own counts of the
// calls they served (`GET /api/vault/directory`): their calls per 1,000 app requests in
// steady state and while the changes spread; the time until every license holding
// seats was told (every shard told, every shard's backlog at 0); and the heartbeats'
// p50/p99 before and during.
//
//   node tests/bench/scale.mjs [licenses, default 5000] [seconds of load, default 10]
//
// With CONFIG (a wrangler config of another build), it loads that build instead; a
// build without the directory's status route prints no call counts.
import { randomUUID } from "node:crypto";
import { call, issueRequest } from "../support/api.mjs";
import { newInstallation, proof } from "../support/dpop.mjs";
import { startWorker } from "../support/wrangler.mjs";
import { wrk, wrkAsync } from "./wrk.mjs";

const LICENSES = Number(process.argv[2] ?? 5000);
const SECONDS = Number(process.argv[3] ?? 10);
const PARALLEL = 8;
const PER_SECOND = Number(process.env.PROOFS_PER_SECOND ?? 1500);

/** Run `task(i)` for i in [0, n), `PARALLEL` at a time. */
async function inParallel(n, task) {
  let next = 0;
  await Promise.all(Array.from({ length: PARALLEL }, async () => {
    while (next < n) await task(next++);
  }));
}

const worker = await startWorker({ inspector: false, config: process.env.CONFIG, logLevel: "warn" });
try {
  const checkoutUrl = `${worker.url}/api/seats/checkout`;
  const heartbeatUrl = `${worker.url}/api/seats/heartbeat`;
  const seats = [];
  const started = Date.now();
  await inParallel(LICENSES, async (i) => {
    const issued = await call(worker, "POST", "/api/licenses", {
      body: issueRequest(`${worker.url}/`, { products: ["ide", "extra"] }),
    });
    if (issued.status !== 201) throw new Error(`issue: HTTP ${issued.status} ${JSON.stringify(issued.body)}`);
    const installation = await newInstallation();
    const body = { license: issued.body.token, product: "ide", user: `user-${i}`, host: "bench" };
    const lease = await call(worker, "POST", "/api/seats/checkout", {
      auth: null,
      headers: { DPoP: await proof(installation, "POST", checkoutUrl) },
      body,
    });
    if (lease.status !== 201) throw new Error(`checkout: HTTP ${lease.status} ${JSON.stringify(lease.body)}`);
    seats.push({ installation, token: lease.body.token });
  });
  console.log(`${LICENSES} licenses issued and a seat checked out on each in ${((Date.now() - started) / 1000).toFixed(0)} s`);

  const status = async () => {
    for (let attempt = 0; ; attempt++) {
      try {
        // A request the runtime lost would otherwise wait out fetch's 300 s.
        const res = await Promise.race([
          call(worker, "GET", "/api/vault/directory"),
          new Promise((_, fail) => setTimeout(() => fail(new Error("no answer in 10 s")), 10_000)),
        ]);
        return res.status === 200 ? res.body : undefined;
      } catch (e) {
        // The local dev server drops a connection now and then under wrk's load.
        if (attempt === 3) throw e;
        await new Promise((ok) => setTimeout(ok, 200));
      }
    }
  };
  // The calls license objects make (reports; before this design, pulls too): the
  // vault's own reads and changes are not app traffic.
  const served = (s) => (s?.calls?.report ?? 0) + (s?.calls?.pull ?? 0);
  // Let the reports of the seats just granted arrive (the roll-up has every seat).
  const settle = Date.now();
  for (;;) {
    const ide = (await call(worker, "GET", "/api/vault/products")).body.find?.((p) => p.product === "ide");
    if (ide?.allocated >= LICENSES) break;
    if (Date.now() - settle > 120_000) throw new Error(`the roll-up has ${ide?.allocated} of ${LICENSES} seats after 2 minutes`);
    await new Promise((ok) => setTimeout(ok, 500));
  }
  await new Promise((ok) => setTimeout(ok, 2000));

  // One real heartbeat per seat; the load then retries it (that token and its
  // Idempotency-Key, a fresh proof each, within the 60 s retry window), which the
  // object answers as a heartbeat without moving the lease's generation on.
  const load = async (seconds) => {
    await inParallel(seats.length, async (i) => {
      const seat = seats[i];
      seat.key = randomUUID();
      seat.presented = seat.token;
      const beat = await call(worker, "POST", "/api/seats/heartbeat", {
        auth: null,
        headers: {
          Authorization: `DPoP ${seat.token}`,
          DPoP: await proof(seat.installation, "POST", heartbeatUrl, { token: seat.token }),
          "Idempotency-Key": seat.key,
        },
      });
      if (beat.status !== 200) throw new Error(`heartbeat: HTTP ${beat.status} ${JSON.stringify(beat.body)}`);
      seat.token = beat.body.token;
    });
    const requests = [];
    for (let n = 0; n < Math.ceil(seconds * PER_SECOND); n++) {
      const seat = seats[n % seats.length];
      const dpop = await proof(seat.installation, "POST", heartbeatUrl, { token: seat.presented });
      requests.push({ authorization: `DPoP ${seat.presented}`, dpop, key: seat.key });
    }
    return { seconds, connections: 10, requests };
  };
  const line = (name, r, calls) =>
    console.log(`${name.padEnd(34)} ${String(Math.round(r.rate * SECONDS)).padStart(6)} heartbeats  ${r.rate.toFixed(0).padStart(5)} req/s  p50 ${r.p50.toFixed(2).padStart(6)} ms  p99 ${r.p99.toFixed(2).padStart(7)} ms  non-2xx ${r.non2xx}${calls}`);
  const per1000 = (calls, r) => (calls === undefined ? "" : `  directory/roll-up calls from licenses ${calls} (${((calls / (r.rate * SECONDS)) * 1000).toFixed(2)} per 1,000 app requests)`);

  // Calls between two readings (the directory keeps its count in its storage).
  const between = (a, b) => (a && b ? served(b) - served(a) : undefined);

  // Steady state.
  const steadyLoad = await load(SECONDS);
  const s0 = await status();
  const steady = wrk(heartbeatUrl, steadyLoad);
  const s1 = await status();
  line("steady: heartbeats", steady, per1000(between(s0, s1), steady));

  // The same load, with a block of a user holding nothing and a disconnect of a
  // product no seat uses: every license holding seats must be told.
  const duringLoad = await load(SECONDS);
  const s1b = await status();
  const during = wrkAsync(heartbeatUrl, duringLoad);
  await new Promise((ok) => setTimeout(ok, (SECONDS * 1000) / 4));
  const changedAt = Date.now();
  const block = await call(worker, "DELETE", "/api/vault/users/mallory/licenses?block=true");
  const blockMs = Date.now() - changedAt;
  const disconnect = await call(worker, "POST", "/api/vault/products/extra/disconnect", { body: {} });
  const answeredMs = Date.now() - changedAt;
  let reachedMs;
  let timedOut = false;
  for (;;) {
    const s = await status();
    if (!s || (s.behind === 0 && !s.shards_behind)) {
      reachedMs = s ? Date.now() - changedAt : undefined;
      break;
    }
    if (Date.now() - changedAt > Number(process.env.TOLD_WITHIN_MS ?? 300_000)) {
      timedOut = s.behind;
      break;
    }
    await new Promise((ok) => setTimeout(ok, 250));
  }
  const r = await during;
  const s2 = await status();
  line("during block + disconnect", r, per1000(between(s1b, s2), r));
  console.log(`block answered in ${blockMs} ms ${JSON.stringify(block.body)}; disconnect answered ${answeredMs - blockMs} ms later ${JSON.stringify(disconnect.body)}`);
  console.log(timedOut !== false
    ? `after 300 s, ${timedOut} licenses holding seats still not told`
    : reachedMs === undefined
    ? "every license holding seats told: not measurable on this build (no directory status)"
    : `every one of ${LICENSES} licenses holding seats told ${reachedMs} ms after the block began (backlog 0 in every shard)`);
  console.log(`heartbeat p50 during / steady: ${(r.p50 / steady.p50).toFixed(2)}×, p99 ${(r.p99 / steady.p99).toFixed(2)}×`);
  if (process.env.SCALE_LOG) (await import("node:fs")).writeFileSync(process.env.SCALE_LOG, worker.log());
  if (process.env.VERBOSE) console.error(worker.log().split("\n").filter((l) => /job|rror|warn|shard|exceed|limit/i.test(l)).slice(-40).join("\n"));
} catch (e) {
  console.error(worker.log().split("\n").slice(-30).join("\n"));
  throw e;
} finally {
  await worker.stop();
}
