// A/B: Tessera under two wrangler configurations, side by side in one run — for a
// change that lives in the configuration (or in a second build it points at). Both
// workers are up at once, each gets 200 licenses with a seat held on each, and the
// trivial route and the app routes (validate, checkout, heartbeat) are loaded in
// interleaved rounds (the order swapped every round), so a slow minute on this shared
// machine hits both sides alike.
// A diagnostic, not a test and not part of ./scripts/bench.
//
//   node tests/bench/ab.mjs <config B> [config A, default wrangler.toml] [seconds, default 6]
//
// ROUNDS (default 5) sets the rounds; each row reports its median round (by req/s).
import { startWorker } from "../support/wrangler.mjs";
import { seatedLicenses } from "./seated.mjs";
import { wrk } from "./wrk.mjs";

const [CONFIG_B, CONFIG_A] = process.argv.slice(2);
const SECONDS = Number(process.argv[4] ?? 6);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const LICENSES = 200;
if (!CONFIG_B) throw new Error("usage: node tests/bench/ab.mjs <config B> [config A] [seconds]");

async function side(name, config) {
  const worker = await startWorker({ inspector: false, config });
  const { validate, checkout, heartbeat } = await seatedLicenses(worker, LICENSES);
  return {
    worker,
    rows: [
      { name: `${name} GET /api/nope`, url: `${worker.url}/api/nope`, non2xx: true },
      { name: `${name} POST /api/licenses/validate`, url: `${worker.url}/api/licenses/validate`, load: validate },
      { name: `${name} POST /api/seats/checkout`, url: `${worker.url}/api/seats/checkout`, load: checkout },
      { name: `${name} POST /api/seats/heartbeat`, url: `${worker.url}/api/seats/heartbeat`, load: heartbeat },
    ],
  };
}

const a = await side("A", CONFIG_A);
const b = await side("B", CONFIG_B).catch(async (e) => {
  await a.worker.stop();
  throw e;
});
// The seats just granted are reported to the directory by each license's alarm: let
// that settle before the first round, or it lands on whichever side runs first.
await new Promise((ok) => setTimeout(ok, 5000));
// Each route's A and B rows side by side; every other round runs B before A.
const plan = a.rows.flatMap((row, i) => [row, b.rows[i]]);
const runs = plan.map(() => []);
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const k of [...plan.keys()].map((k) => (round % 2 ? k ^ 1 : k))) {
      const row = plan[k];
      const result = wrk(row.url, { seconds: SECONDS, connections: 10, ...(await row.load?.(SECONDS)) });
      if (!row.non2xx && result.non2xx > 0) throw new Error(`${row.name}: ${result.non2xx} non-2xx answers`);
      runs[k].push(result);
      if (process.env.VERBOSE) console.error(`round ${round + 1}: ${row.name}: ${result.rate.toFixed(0)} req/s, p50 ${result.p50} ms`);
      // Let the seat route's background work (alarms) settle before the next row.
      if (row.load) await new Promise((ok) => setTimeout(ok, 3000));
    }
  }
} finally {
  await a.worker.stop();
  await b.worker.stop();
}
const med = runs.map((rs) => rs.sort((x, y) => x.rate - y.rate)[Math.floor(rs.length / 2)]);
console.log(`A = ${CONFIG_A ?? "wrangler.toml"}, B = ${CONFIG_B}; wrk -t2 -c10 -d${SECONDS}s, median of ${ROUNDS} rounds:`);
for (const [k, row] of plan.entries()) {
  console.log(`${row.name.padEnd(32)} ${med[k].rate.toFixed(0).padStart(6)} req/s  p50 ${med[k].p50.toFixed(2).padStart(6)} ms`);
}
const routes = ["trivial", "validate", "checkout", "heartbeat"];
console.log(`B / A req/s: ${routes.map((r, i) => `${r} ${(med[2 * i + 1].rate / med[2 * i].rate).toFixed(3)}×`).join(", ")}`);
console.log(`B / A p50: ${routes.map((r, i) => `${r} ${(med[2 * i + 1].p50 / med[2 * i].p50).toFixed(3)}×`).join(", ")}`);
console.log(`heartbeat p50 / trivial p50: A ${(med[6].p50 / med[0].p50).toFixed(2)}×, B ${(med[7].p50 / med[1].p50).toFixed(2)}×`);
