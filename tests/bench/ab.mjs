// A/B: Tessera under two wrangler configurations, side by side in one run — for a
// change that lives in the configuration (or in a second build it points at). Both
// workers are up at once, each gets 200 licences with a seat held on each, and the
// trivial route and the heartbeat are loaded in interleaved rounds (the order swapped
// every round), so a slow minute on this shared machine hits both sides alike.
// A diagnostic, not a test and not part of ./scripts/bench.
//
//   node tests/bench/ab.mjs <config B> [config A, default wrangler.toml] [seconds, default 6]
//
// ROUNDS (default 5) sets the rounds; each row reports its median round (by req/s).
import { call, issueRequest } from "../support/api.mjs";
import { startWorker } from "../support/wrangler.mjs";
import { wrk } from "./wrk.mjs";

const [CONFIG_B, CONFIG_A] = process.argv.slice(2);
const SECONDS = Number(process.argv[4] ?? 6);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const LICENCES = 200;
if (!CONFIG_B) throw new Error("usage: node tests/bench/ab.mjs <config B> [config A] [seconds]");

async function side(name, config) {
  const worker = await startWorker({ inspector: false, config });
  const beats = [];
  for (let i = 0; i < LICENCES; i++) {
    const res = await call(worker, "POST", "/api/licenses", { body: issueRequest(`${worker.url}/`, { products: ["ide"] }) });
    if (res.status !== 201) throw new Error(`${name}: issue: HTTP ${res.status}`);
    const seat = { license: res.body.token, product: "ide", user: `user-${i}`, host: "bench" };
    const lease = await call(worker, "POST", "/api/seats/checkout", { auth: null, body: seat });
    if (lease.status !== 201) throw new Error(`${name}: checkout: HTTP ${lease.status}`);
    beats.push({ token: lease.body.token });
  }
  return {
    worker,
    rows: [
      { name: `${name} GET /api/nope`, url: `${worker.url}/api/nope`, non2xx: true },
      { name: `${name} POST /api/seats/heartbeat`, url: `${worker.url}/api/seats/heartbeat`, bodies: beats },
    ],
  };
}

const a = await side("A", CONFIG_A);
const b = await side("B", CONFIG_B).catch(async (e) => {
  await a.worker.stop();
  throw e;
});
const plan = [a.rows[0], b.rows[0], a.rows[1], b.rows[1]];
const runs = plan.map(() => []);
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const k of round % 2 ? [1, 0, 3, 2] : [0, 1, 2, 3]) {
      const row = plan[k];
      const result = wrk(row.url, { seconds: SECONDS, connections: 10, bodies: row.bodies });
      if (!row.non2xx && result.non2xx > 0) throw new Error(`${row.name}: ${result.non2xx} non-2xx answers`);
      runs[k].push(result);
      if (process.env.VERBOSE) console.error(`round ${round + 1}: ${row.name}: ${result.rate.toFixed(0)} req/s, p50 ${result.p50} ms`);
      // Let the seat route's background work (alarms) settle before the next row.
      if (row.bodies) await new Promise((ok) => setTimeout(ok, 3000));
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
console.log(`B / A req/s: trivial ${(med[1].rate / med[0].rate).toFixed(3)}×, heartbeat ${(med[3].rate / med[2].rate).toFixed(3)}×`);
console.log(`heartbeat p50 / trivial p50: A ${(med[2].p50 / med[0].p50).toFixed(2)}×, B ${(med[3].p50 / med[1].p50).toFixed(2)}×`);
