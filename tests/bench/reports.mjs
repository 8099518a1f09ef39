// Reports over a large store (a benchmark, not a test: it prints figures and asserts
// only that each request succeeds): 100,000 agent events over 30 days ingested in
// batches of 1,000, then the 30-day usage report (by day and by hour) and the denials
// report, each beside /api/health measured in the same run.
//
//   node tests/bench/reports.mjs [events, default 100000]
import { call, createToken, now } from "../support/api.mjs";
import { startWorker } from "../support/wrangler.mjs";

const EVENTS = Number(process.argv[2] ?? 100_000);
const DAY = 86_400;
const worker = await startWorker({ logLevel: "warn" });

async function time(name, fn, n) {
  const times = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    const res = await fn();
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
    if (res.status !== 200) throw new Error(`${name}: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
  }
  times.sort((a, b) => a - b);
  return { name, median: times[Math.floor(n / 2)], max: times[n - 1] };
}

try {
  const agent = await createToken(worker, undefined, { scope: "Agent" });
  const end = Math.floor(now() / 3600) * 3600;
  const start = end - 30 * DAY;
  // Seats of 1–4 hours by 500 users over 20 products; one denial in ten.
  const events = [];
  let i = 0;
  while (events.length < EVENTS) {
    const user = `user${i % 500}`;
    const product = `product${i % 20}`;
    const t = start + Math.floor((i * 7919) % (30 * DAY - 5 * 3600));
    if (i % 10 === 9) {
      events.push({ id: `d${i}`, type: "denial", time: t, server: "bench", product, user, host: "h", reason: "NO_FREE_LICENSE" });
    } else {
      events.push({ id: `o${i}`, type: "checkout", time: t, server: "bench", product, user, host: `h${i}` });
      events.push({ id: `i${i}`, type: "checkin", time: t + 3600 * (1 + (i % 4)), server: "bench", product, user, host: `h${i}` });
    }
    i++;
  }
  events.length = EVENTS;
  events.sort((a, b) => a.time - b.time);
  const t0 = process.hrtime.bigint();
  let batches = 0;
  for (let b = 0; b < events.length; b += 1000) {
    const res = await call(worker, "POST", "/api/agent/events", { auth: agent.bearer, body: { events: events.slice(b, b + 1000) } });
    if (res.status !== 200) throw new Error(`ingest: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
    batches++;
  }
  const ingestMs = Number(process.hrtime.bigint() - t0) / 1e6;
  console.log(`ingested ${events.length} events in ${batches} batches of 1,000: ${(ingestMs / 1000).toFixed(1)} s, ${(ingestMs / batches).toFixed(0)} ms per batch`);
  const range = `from=${start}&to=${end}`;
  const rows = [
    await time("GET /api/health", () => call(worker, "GET", "/api/health", { auth: null }), 50),
    await time("usage, 30 days by day (20 products)", () => call(worker, "GET", `/api/vault/reports/usage?${range}`), 10),
    await time("usage, 30 days by hour (720 intervals)", () => call(worker, "GET", `/api/vault/reports/usage?${range}&interval=hour`), 10),
    await time("usage, 30 days by day, one product", () => call(worker, "GET", `/api/vault/reports/usage?${range}&product=product3`), 10),
    await time("usage CSV, 30 days by day", () => call(worker, "GET", `/api/vault/reports/usage?${range}&format=csv`), 10),
    await time("denials, 30 days (first 100, counts)", () => call(worker, "GET", `/api/vault/reports/denials?${range}`), 10),
  ];
  const health = rows[0].median;
  console.log("| request | median ms | max ms | × health |");
  console.log("| --- | --- | --- | --- |");
  for (const r of rows) console.log(`| ${r.name} | ${r.median.toFixed(1)} | ${r.max.toFixed(1)} | ${(r.median / health).toFixed(1)}× |`);
} finally {
  await worker.stop();
}
