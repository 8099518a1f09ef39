// Per-route latency on local `wrangler dev`, each beside /api/health measured in the
// same run (a benchmark, not a test: it prints figures and asserts nothing but 2xx).
//
//   node tests/bench/latency.mjs [requests per route, default 300]
//
// Basic auth is verified once per isolate and then cached, so steady-state figures
// exclude PBKDF2; "wrong password" shows the full derivation cost (never cached).
import { call, createToken, issueRequest } from "../support/api.mjs";
import { ADMIN, basic } from "../support/secrets.mjs";
import { startWorker } from "../support/wrangler.mjs";
import { printLatencies } from "./table.mjs";

const N = Number(process.argv[2] ?? 300);
const worker = await startWorker();

async function measure(name, fn, expect, n = N) {
  for (let i = 0; i < 10; i++) await fn(); // warm up
  const times = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    const res = await fn();
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
    if (!expect(res.status)) throw new Error(`${name}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  }
  times.sort((a, b) => a - b);
  return { name, median: times[Math.floor(n / 2)], p95: times[Math.floor(n * 0.95)] };
}

try {
  const self = `${worker.url}/`;
  const record = (await call(worker, "POST", "/api/licenses", { body: issueRequest(self) })).body;
  await call(worker, "POST", "/api/licensing/token", { body: { token: record.token } });
  const ok = (s) => s >= 200 && s < 300;
  const { bearer } = await createToken(worker, undefined, { description: "bench" });
  const signedIn = await call(worker, "POST", "/api/session", { auth: null, body: { username: ADMIN.username, password: ADMIN.password } });
  const cookie = signedIn.headers.get("set-cookie").split(";")[0];
  let ghost = 0;
  const routes = [
    ["GET /api/health", () => call(worker, "GET", "/api/health", { auth: null }), ok],
    ["GET /.well-known/jwks.json", () => call(worker, "GET", "/.well-known/jwks.json", { auth: null }), ok],
    ["GET /api/me", () => call(worker, "GET", "/api/me"), ok],
    ["GET /api/me (Bearer token)", () => call(worker, "GET", "/api/me", { auth: bearer }), ok],
    ["GET /api/me (session cookie)", () => call(worker, "GET", "/api/me", { auth: null, headers: { Cookie: cookie } }), ok],
    ["GET /api/licensing/check", () => call(worker, "GET", "/api/licensing/check"), ok],
    ["GET /api/licensing/applied", () => call(worker, "GET", "/api/licensing/applied"), ok],
    ["POST /api/licensing/token", () => call(worker, "POST", "/api/licensing/token", { body: { token: record.token } }), ok],
    ["POST /api/licensing/token/renew", () => call(worker, "POST", "/api/licensing/token/renew", { body: {} }), ok],
    ["GET /api/licenses/:lid", () => call(worker, "GET", `/api/licenses/${record.lid}`), ok],
    ["GET /api/licenses/:lid (Bearer token)", () => call(worker, "GET", `/api/licenses/${record.lid}`, { auth: bearer }), ok],
    ["GET /api/tokens", () => call(worker, "GET", "/api/tokens"), ok],
    ["POST /api/licenses", () => call(worker, "POST", "/api/licenses", { body: issueRequest(self) }), ok],
    // Failed sign-ins are limited (10 per name, 100 per address in 15 minutes): a fresh
    // unknown name each time (derived anyway), 60 of them after the warm-up's 10.
    ["401 wrong password (PBKDF2)", () => call(worker, "GET", "/api/me", { auth: basic(`ghost-${ghost++}`, "wrong-password") }), (s) => s === 401, 60],
  ];
  const results = [];
  for (const [name, fn, expect, n] of routes) {
    const health = await measure("health", routes[0][1], ok);
    const r = await measure(name, fn, expect, n);
    results.push({ ...r, health: health.median });
  }
  console.log(`requests per route: ${N} (sequential, one client, loopback)`);
  printLatencies(results);
} finally {
  await worker.stop();
}
