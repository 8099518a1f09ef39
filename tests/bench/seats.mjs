// Seats on local `wrangler dev`: throughput through one license's object, and the
// app-facing routes' latency beside /api/health measured in the same run. A benchmark,
// not a test: it prints figures, and fails only if a seat was over-allocated or a
// request errored.
//
//   node tests/bench/seats.mjs [seconds of load, default 8] [concurrent clients, default 32]
//
// Throughput: `wrk` (as the JS baseline of shared/bench is loaded) checks out seats of
// one license (500 seats) for 2,000 distinct users in turn, so the object grants,
// refreshes and denies; afterwards the license must hold exactly 500 leases, each user
// at most one. A Node client cannot load workerd enough here (it tops out near 700
// requests/s on a route that does nothing), so throughput needs wrk (`apt-get install
// wrk`; `scripts/bench` installs it).
import { call, issueRequest } from "../support/api.mjs";
import { startWorker } from "../support/wrangler.mjs";
import { printLatencies } from "./table.mjs";
import { wrk } from "./wrk.mjs";

const SECONDS = Number(process.argv[2] ?? 8);
const CLIENTS = Number(process.argv[3] ?? 32);
const SEATS = 500;
const USERS = 2000;
// Without wrangler's inspector proxy (see tests/support/devserver.mjs): it forwards every
// Durable Object call to Node as devtools events, a cost of the dev tooling only.
const worker = await startWorker({ inspector: false });

const post = (path, body) => call(worker, "POST", path, { auth: null, body });
// After wrk, the server may have closed the client's pooled keep-alive socket: a read
// that fails on that is tried once more, on a new connection.
const read = (path) => call(worker, "GET", path).catch(() => call(worker, "GET", path));

/** Medians of `fn` and of /api/health, in alternating blocks of 20 calls, so both see
 *  the same machine over the same minute. */
async function beside(fn, n = 400) {
  const health = () => call(worker, "GET", "/api/health", { auth: null });
  for (let i = 0; i < 20; i++) await fn();
  const route = [];
  const base = [];
  for (let block = 0; block < n / 20; block++) {
    for (const [f, times] of [[health, base], [fn, route]]) {
      for (let i = 0; i < 20; i++) {
        const t = process.hrtime.bigint();
        const res = await f();
        times.push(Number(process.hrtime.bigint() - t) / 1e6);
        if (res.status >= 400) throw new Error(`HTTP ${res.status} ${JSON.stringify(res.body)}`);
      }
    }
  }
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const p95 = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length * 0.95)];
  return { median: median(route), p95: p95(route), health: median(base) };
}

try {
  const license = (await call(worker, "POST", "/api/licenses", {
    body: issueRequest(`${worker.url}/`, { products: ["ide"], included_users: SEATS }),
  })).body;

  // Throughput through one object, and the same load on /api/health for a baseline.
  const load = (path, script) =>
    wrk(`${worker.url}${path}`, {
      connections: CLIENTS,
      seconds: SECONDS,
      script,
      env: { LICENSE_TOKEN: license.token, USERS: String(USERS) },
    });
  const health = load("/api/health");
  const checkouts = load("/api/seats/checkout", "checkout.lua");
  const state = (await read(`/api/vault/licenses/${license.lid}`)).body;
  const holders = new Set(state.leases.map((l) => l.user));
  const over = state.leases.length - SEATS;
  const denials = (await read(`/api/vault/licenses/${license.lid}/events?kind=denied&limit=1`)).body;
  console.log(`wrk -t2 -c${CLIENTS} -d${SECONDS}s, same run:`);
  const ms = (v) => `${v.toFixed(2)}ms`;
  console.log(`  GET /api/health                      ${health.rate.toFixed(0)} req/s  p50 ${ms(health.p50)}  p99 ${ms(health.p99)}`);
  console.log(`  POST /api/seats/checkout (one license) ${checkouts.rate.toFixed(0)} req/s  p50 ${ms(checkouts.p50)}  p99 ${ms(checkouts.p99)}  (${checkouts.errors ?? "no socket errors"})`);
  console.log(`  ratio checkout/health: ${(checkouts.rate / health.rate).toFixed(2)}×`);
  console.log(`  leases held ${state.leases.length} of ${SEATS} seats (over-allocation: ${Math.max(0, over)}); last denial seq ${denials.items[0]?.seq ?? "-"}`);
  if (over > 0 || holders.size !== state.leases.length) {
    throw new Error("over-allocation");
  }

  // Latency beside /api/health (interleaved, one client).
  const seat = (await post("/api/seats/checkout", { license: license.token, product: "ide", user: "user-0", host: "h" })).body;
  const rows = [
    ["GET /api/health", null],
    ["POST /api/licenses/validate", () => post("/api/licenses/validate", { token: license.token, product: "ide" })],
    ["POST /api/seats/checkout (refresh)", () => post("/api/seats/checkout", { license: license.token, product: "ide", user: "user-0", host: "h" })],
    ["POST /api/seats/heartbeat", () => post("/api/seats/heartbeat", { token: seat.token })],
  ];
  const results = [];
  for (const [name, fn] of rows.slice(1)) {
    results.push({ name, ...(await beside(fn)) });
  }
  printLatencies(results);
} finally {
  await worker.stop();
}
