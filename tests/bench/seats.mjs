// Seats on local `wrangler dev`: throughput through one license's object, and the
// app-facing routes' latency beside /api/health measured in the same run. A benchmark,
// not a test: it prints figures, and fails only if a seat was over-allocated or a
// request errored.
//
//   node tests/bench/seats.mjs [seconds of load, default 8] [concurrent clients, default 32]
//
// Throughput: `wrk` (as the JS baseline of shared/bench is loaded) checks out seats of
// one license (500 seats) for 2,000 distinct users in turn, each from an installation of
// its own with a fresh DPoP proof per request (made before the run), so the object
// grants, refreshes and denies; afterwards the license must hold exactly 500 leases, each
// user at most one. A Node client cannot load workerd enough here (it tops out near 700
// requests/s on a route that does nothing), so throughput needs wrk (`apt-get install
// wrk`; `scripts/bench` installs it).
import { call, issueRequest } from "../support/api.mjs";
import { newInstallation, proof } from "../support/dpop.mjs";
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

const post = (path, body, headers = {}) => call(worker, "POST", path, { auth: null, body, headers });
const url = (path) => `${worker.url}${path}`;
// After wrk, the server may have closed the client's pooled keep-alive socket: a read
// that fails on that is tried once more, on a new connection.
const read = (path) => call(worker, "GET", path).catch(() => call(worker, "GET", path));

/** Medians of a route and of /api/health, in alternating blocks of 20 calls, so both see
 *  the same machine over the same minute. `make` prepares one call (its proof is made
 *  outside the timing) and returns it. */
async function beside(make, n = 400) {
  const health = async () => () => call(worker, "GET", "/api/health", { auth: null });
  for (let i = 0; i < 20; i++) await (await make())();
  const route = [];
  const base = [];
  for (let block = 0; block < n / 20; block++) {
    for (const [prepare, times] of [[health, base], [make, route]]) {
      for (let i = 0; i < 20; i++) {
        const f = await prepare();
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
  const installations = [];
  for (let i = 0; i < USERS; i++) installations.push(await newInstallation());
  const requests = [];
  for (let n = 0; n < SECONDS * Number(process.env.PROOFS_PER_SECOND ?? 5000); n++) {
    const user = n % USERS;
    requests.push({
      dpop: await proof(installations[user], "POST", url("/api/seats/checkout")),
      body: { license: license.token, product: "ide", user: `user-${user}`, host: "h" },
    });
  }
  const health = wrk(url("/api/health"), { connections: CLIENTS, seconds: SECONDS });
  const checkouts = wrk(url("/api/seats/checkout"), { connections: CLIENTS, seconds: SECONDS, requests });
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

  // Latency beside /api/health (interleaved, one client), as a user holding a seat of a
  // license of its own (the one above is full).
  const own = (await call(worker, "POST", "/api/licenses", {
    body: issueRequest(`${worker.url}/`, { products: ["ide"] }),
  })).body;
  const me = await newInstallation();
  const body = { license: own.token, product: "ide", user: "user-0", host: "h" };
  const prove = (path, token) => proof(me, "POST", url(path), { token });
  let { token } = (await post("/api/seats/checkout", body, { DPoP: await prove("/api/seats/checkout") })).body;
  const rows = [
    ["POST /api/licenses/validate", async () => () => post("/api/licenses/validate", { token: license.token, product: "ide" })],
    ["POST /api/seats/checkout (refresh)", async () => {
      const headers = { DPoP: await prove("/api/seats/checkout") };
      return async () => {
        const res = await post("/api/seats/checkout", body, headers);
        token = res.body.token ?? token;
        return res;
      };
    }],
    ["POST /api/seats/heartbeat", async () => {
      const headers = { Authorization: `DPoP ${token}`, DPoP: await prove("/api/seats/heartbeat", token) };
      return async () => {
        const res = await post("/api/seats/heartbeat", undefined, headers);
        token = res.body.token ?? token;
        return res;
      };
    }],
  ];
  const results = [];
  for (const [name, make] of rows) {
    results.push({ name, ...(await beside(make)) });
  }
  printLatencies(results);
} finally {
  await worker.stop();
}
