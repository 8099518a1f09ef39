// Per-route latency on local `wrangler dev`, each beside /api/health measured in the
// same run (a benchmark, not a test: it prints figures and asserts nothing but 2xx).
//
//   node tests/bench/latency.mjs [requests per route, default 300]
//
// Basic auth is verified once per isolate and then cached, so steady-state figures
// exclude PBKDF2; "wrong password" shows the full derivation cost (never cached).
import { call, createToken, issueRequest } from "../support/api.mjs";
import { basic } from "../support/secrets.mjs";
import { startWorker } from "../support/wrangler.mjs";
import { printLatencies } from "./table.mjs";

const N = Number(process.argv[2] ?? 300);
const worker = await startWorker();

async function measure(name, fn, expect) {
  for (let i = 0; i < 10; i++) await fn(); // warm up
  const times = [];
  for (let i = 0; i < N; i++) {
    const t = process.hrtime.bigint();
    const res = await fn();
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
    if (!expect(res.status)) throw new Error(`${name}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  }
  times.sort((a, b) => a - b);
  return { name, median: times[Math.floor(N / 2)], p95: times[Math.floor(N * 0.95)] };
}

try {
  const self = `${worker.url}/`;
  const record = (await call(worker, "POST", "/api/licenses", { body: issueRequest(self) })).body;
  await call(worker, "POST", "/api/licensing/token", { body: { token: record.token } });
  const ok = (s) => s >= 200 && s < 300;
  const { bearer } = await createToken(worker, undefined, { description: "bench" });
  const routes = [
    ["GET /api/health", () => call(worker, "GET", "/api/health", { auth: null }), ok],
    ["GET /.well-known/jwks.json", () => call(worker, "GET", "/.well-known/jwks.json", { auth: null }), ok],
    ["GET /api/me", () => call(worker, "GET", "/api/me"), ok],
    ["GET /api/licensing/check", () => call(worker, "GET", "/api/licensing/check"), ok],
    ["GET /api/licensing/applied", () => call(worker, "GET", "/api/licensing/applied"), ok],
    ["POST /api/licensing/token", () => call(worker, "POST", "/api/licensing/token", { body: { token: record.token } }), ok],
    ["POST /api/licensing/token/renew", () => call(worker, "POST", "/api/licensing/token/renew", { body: {} }), ok],
    ["GET /api/licenses/:lid", () => call(worker, "GET", `/api/licenses/${record.lid}`), ok],
    ["GET /api/licenses/:lid (Bearer token)", () => call(worker, "GET", `/api/licenses/${record.lid}`, { auth: bearer }), ok],
    ["GET /api/tokens", () => call(worker, "GET", "/api/tokens"), ok],
    ["POST /api/licenses", () => call(worker, "POST", "/api/licenses", { body: issueRequest(self) }), ok],
    ["401 wrong password (PBKDF2)", () => call(worker, "GET", "/api/me", { auth: basic("admin", "wrong-password") }), (s) => s === 401],
  ];
  const results = [];
  for (const [name, fn, expect] of routes) {
    const health = await measure("health", routes[0][1], ok);
    const r = await measure(name, fn, expect);
    results.push({ ...r, health: health.median });
  }
  console.log(`requests per route: ${N} (sequential, one client, loopback)`);
  printLatencies(results);
} finally {
  await worker.stop();
}
