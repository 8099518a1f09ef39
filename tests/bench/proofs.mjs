// What proving an installation costs: checkout and heartbeat with RFC 9449 DPoP proofs
// (this build) beside the same routes without proofs on a build from before
// installations (config A: a wrangler config whose `main` and `[assets]` point at that
// build, as for tests/bench/ab.mjs). Both workers are up at once, each with 200 licenses
// and a seat held on each; rounds interleave the two sides and swap their order every
// round. The proof check is one signature verification and one `jti` write in the
// license's object, so the budget is 1.3× the proof-less cost (p50).
//
//   node tests/bench/proofs.mjs <config A, the proof-less build> [seconds, default 6]
//
// Every request of B carries a fresh proof (a proof is single-use), made before its
// round. B's heartbeats present the token a heartbeat just rotated away from, with that
// heartbeat's Idempotency-Key: retries, which the object answers as it answers a
// heartbeat (the same checks and writes) without moving the generation on, so they can
// be replayed by wrk.
import { startWorker } from "../support/wrangler.mjs";
import { seatedLicenses } from "./seated.mjs";
import { wrk } from "./wrk.mjs";

const [CONFIG_A] = process.argv.slice(2);
const SECONDS = Number(process.argv[3] ?? 6);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const LICENSES = 200;
if (!CONFIG_A) throw new Error("usage: node tests/bench/proofs.mjs <config A: a proof-less build> [seconds]");

async function side(config, proofs) {
  const worker = await startWorker({ inspector: false, config });
  const loads = await seatedLicenses(worker, LICENSES, { proofs });
  return {
    worker,
    rows: {
      checkout: async () => ({ url: `${worker.url}/api/seats/checkout`, ...(await loads.checkout(SECONDS)) }),
      heartbeat: async () => ({ url: `${worker.url}/api/seats/heartbeat`, ...(await loads.heartbeat(SECONDS)) }),
    },
  };
}

const a = await side(CONFIG_A, false);
const b = await side(undefined, true).catch(async (e) => {
  await a.worker.stop();
  throw e;
});
// Let the new seats' reports to the directory settle before the first round.
await new Promise((ok) => setTimeout(ok, 5000));
const plan = [
  ["A checkout (no proof)", a.rows.checkout],
  ["B checkout + DPoP", b.rows.checkout],
  ["A heartbeat (no proof)", a.rows.heartbeat],
  ["B heartbeat + DPoP", b.rows.heartbeat],
];
const runs = plan.map(() => []);
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const k of [0, 1, 2, 3].map((k) => (round % 2 ? k ^ 1 : k))) {
      const [name, row] = plan[k];
      const { url, bodies, requests } = await row();
      const result = wrk(url, { seconds: SECONDS, connections: 10, bodies, requests });
      if (result.non2xx > 0) throw new Error(`${name}: ${result.non2xx} non-2xx answers`);
      runs[k].push(result);
      if (process.env.VERBOSE) console.error(`round ${round + 1}: ${name}: ${result.rate.toFixed(0)} req/s, p50 ${result.p50} ms`);
      await new Promise((ok) => setTimeout(ok, 3000));
    }
  }
} finally {
  await a.worker.stop();
  await b.worker.stop();
}
const med = runs.map((rs) => rs.sort((x, y) => x.rate - y.rate)[Math.floor(rs.length / 2)]);
console.log(`A = ${CONFIG_A} (no proofs), B = this build (DPoP proofs); wrk -t2 -c10 -d${SECONDS}s, median of ${ROUNDS} rounds:`);
for (const [k, [name]] of plan.entries()) {
  console.log(`${name.padEnd(26)} ${med[k].rate.toFixed(0).padStart(6)} req/s  p50 ${med[k].p50.toFixed(2).padStart(6)} ms  p99 ${med[k].p99.toFixed(2).padStart(7)} ms`);
}
const ratio = (b, a) => (b / a).toFixed(3);
console.log(`proof cost (B p50 / A p50, budget 1.3): checkout ${ratio(med[1].p50, med[0].p50)}×, heartbeat ${ratio(med[3].p50, med[2].p50)}×`);
console.log(`throughput (A req/s / B req/s): checkout ${ratio(med[0].rate, med[1].rate)}×, heartbeat ${ratio(med[2].rate, med[3].rate)}×`);
