// The hot path side by side (issue 11): Tessera and the hand-rolled JS baseline
// (tests/bench/baseline: jose + KV-cached keys), started the same way (workerd through
// tests/support/devserver.mjs, local KV, no inspector), loaded the same way (wrk), in one
// run. Prints req/s, p50 and p99 per route and the ratios the issue's targets name.
// A benchmark, not a test: it fails only if a request errors or answers the wrong thing.
//
//   node tests/bench/hotpath.mjs [seconds per route, default 8] [connections, default 10]
//
// The baseline runs twice: as issue 11 defined it, and behind the same static-assets
// router Tessera has in front of it for its console, which issue 21's targets name.
// With BENCH_CONFIG (scripts/lib.sh build_bench_worker), Tessera runs as a bench build,
// which adds one route — an empty call to a license object — that the seat routes'
// p50 is measured against: the floor a seat route cannot go below.
// Both validators get 200 distinct tokens, round-robin, as the baseline's README loads
// its own. Tessera's app routes also check revocation (and hold seats), which the
// baseline does not do at all.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { SignJWT, exportJWK, generateKeyPair } from "jose";
import { call } from "../support/api.mjs";
import { startWorker } from "../support/wrangler.mjs";
import { seatedLicenses } from "./seated.mjs";
import { wrk } from "./wrk.mjs";

const SECONDS = Number(process.argv[2] ?? 8);
const CONNECTIONS = Number(process.argv[3] ?? 10);
const TOKENS = 200;
// The heartbeat's stages, in order (worker/src/bench.rs).
const STAGES = [
  ["context", "keys loaded"],
  ["lease", "lease token + DPoP proof verified"],
  ["object", "license object's heartbeat answered"],
];
const VALIDATE_STAGES = [
  ["body", "read and parsed"],
  ["context", "keys loaded"],
  ["verify", "signature and claims checked"],
];
const HERE = dirname(fileURLToPath(import.meta.url));

// The workers run at once (an idle one costs nothing) and every row is measured in each
// of ROUNDS rounds, the rows interleaved, so a slow minute on this shared machine hits
// both sides alike; each row reports its median round (by req/s).
const ROUNDS = Number(process.env.ROUNDS ?? 5);
/** Seat routes leave work behind (each license object's alarm hands its events to the
 *  event store about a second later): the next round starts once that has settled. */
const SETTLE_MS = 5000;

/** The baseline, with its own key pair and 200 tokens with seed-004-style claims; with
 *  `assets`, behind the same static-assets router as Tessera (wrangler-assets.toml). */
async function baseline({ assets = false } = {}) {
  const config = join(HERE, assets ? "baseline/wrangler-assets.toml" : "baseline/wrangler.toml");
  const side = assets ? "JS + assets" : "JS baseline";
  const worker = await startWorker({ inspector: false, config });
  const { publicKey, privateKey } = await generateKeyPair("EdDSA", { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "EdDSA", use: "sig" };
  const now = Math.floor(Date.now() / 1000);
  const bodies = [];
  for (let i = 0; i < TOKENS; i++) {
    const token = await new SignJWT({
      lid: `L${i}`, prod: ["tessera"], company: "Acme", included_users: 15,
      lexp: now + 86400 * 365, lic_exp_warn_days: 30, tok_exp_warn_days: 2, update_days: 1,
    })
      .setProtectedHeader({ alg: "EdDSA", kid: "k1" })
      .setIssuer("https://issuer.example").setSubject("https://instance.example/")
      .setJti(String(i)).setIssuedAt(now).setExpirationTime(now + 86400 * 7)
      .sign(privateKey);
    bodies.push({ token });
  }
  const setup = await fetch(`${worker.url}/setup`, { method: "POST", body: JSON.stringify({ keys: [jwk] }) });
  if (!setup.ok) throw new Error(`baseline setup: HTTP ${setup.status}`);
  const check = await (await fetch(`${worker.url}/validate`, { method: "POST", body: JSON.stringify(bodies[0]) })).json();
  if (!check.valid) throw new Error(`baseline refused its own token: ${JSON.stringify(check)}`);
  return {
    worker,
    rows: [
      [side, "GET /api/health (no I/O)", `${worker.url}/api/health`],
      [side, "POST /validate", `${worker.url}/validate`, async () => ({ bodies })],
    ],
  };
}

/** Tessera, with 200 licenses, a seat held on each. */
async function tessera() {
  const worker = await startWorker({ inspector: false, config: process.env.BENCH_CONFIG });
  const { validate, checkout, heartbeat } = await seatedLicenses(worker, TOKENS);
  const { bodies } = await validate();
  const answer = (await call(worker, "POST", "/api/licenses/validate", { auth: null, body: bodies[0] })).body;
  if (!answer.valid) throw new Error(`Tessera refused its own license: ${JSON.stringify(answer)}`);
  const lids = bodies.map((b) => ({ lid: JSON.parse(Buffer.from(b.token.split(".")[1], "base64url")).lid }));
  const writes = lids.map((l) => ({ ...l, write: true }));
  const empty = process.env.BENCH_CONFIG
    ? [
        ["Tessera", "POST /api/bench/object (empty object call)", `${worker.url}/api/bench/object`, async () => ({ bodies: lids })],
        ["Tessera", "POST /api/bench/object (one durable write)", `${worker.url}/api/bench/object`, async () => ({ bodies: writes })],
      ]
    : [];
  // The heartbeat's bisect (bench builds): the same requests, answered right after a stage.
  const stages = process.env.BENCH_CONFIG
    ? STAGES.map(([stage, what]) =>
        ["Tessera", `heartbeat, stop after ${stage} (${what})`, `${worker.url}/api/seats/heartbeat?bench-stop=${stage}`, heartbeat])
    : [];
  const validateStages = process.env.BENCH_CONFIG
    ? VALIDATE_STAGES.map(([stage, what]) =>
        ["Tessera", `validate, stop after ${stage} (${what})`, `${worker.url}/api/licenses/validate?bench-stop=${stage}`, validate])
    : [];
  return {
    worker,
    rows: [
      ["Tessera", "GET /api/nope (router → 404, no I/O)", `${worker.url}/api/nope`, undefined, true],
      ...empty,
      ["Tessera", "GET /api/health (one KV read)", `${worker.url}/api/health`],
      ["Tessera", "GET /.well-known/jwks.json", `${worker.url}/.well-known/jwks.json`],
      ["Tessera", "POST /api/licenses/validate", `${worker.url}/api/licenses/validate`, validate],
      ...validateStages,
      ["Tessera", "POST /api/seats/checkout (refresh)", `${worker.url}/api/seats/checkout`, checkout],
      ["Tessera", "POST /api/seats/heartbeat", `${worker.url}/api/seats/heartbeat`, heartbeat],
      ...stages,
    ],
  };
}

const js = await baseline();
const jsAssets = await baseline({ assets: true }).catch(async (e) => {
  await js.worker.stop();
  throw e;
});
const ts = await tessera().catch(async (e) => {
  await js.worker.stop();
  await jsAssets.worker.stop();
  throw e;
});
const plan = [js.rows[0], jsAssets.rows[0], ts.rows[0], js.rows[1], jsAssets.rows[1], ...ts.rows.slice(1)];
const runs = new Map(plan.map((r) => [r, []]));
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const r of plan) {
      const [side, name, url, load, expectNon2xx] = r;
      const result = wrk(url, { seconds: SECONDS, connections: CONNECTIONS, ...(await load?.(SECONDS)) });
      if (!expectNon2xx && result.non2xx > 0) throw new Error(`${side} ${name}: ${result.non2xx} non-2xx answers`);
      runs.get(r).push(result);
      if (name.includes("/api/seats/")) await new Promise((ok) => setTimeout(ok, SETTLE_MS));
      if (process.env.VERBOSE) console.error(`round ${round + 1}: ${side} ${name}: ${result.rate.toFixed(0)} req/s, p50 ${result.p50} ms`);
    }
  }
} finally {
  await js.worker.stop();
  await jsAssets.worker.stop();
  await ts.worker.stop();
}
const rows = plan.map((r) => {
  const sorted = runs.get(r).sort((a, b) => a.rate - b.rate);
  return { side: r[0], name: r[1], ...sorted[Math.floor(sorted.length / 2)] };
});

console.log(`wrk -t2 -c${CONNECTIONS} -d${SECONDS}s, ${TOKENS} distinct tokens round-robin, all three workers up, median of ${ROUNDS} interleaved rounds:`);
console.log(`${"".padEnd(12)} ${"route".padEnd(40)} ${"req/s".padStart(7)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)}`);
for (const r of rows) {
  console.log(`${r.side.padEnd(12)} ${r.name.padEnd(40)} ${r.rate.toFixed(0).padStart(7)} ${r.p50.toFixed(2).padStart(8)} ${r.p99.toFixed(2).padStart(8)}${r.errors ? `  (${r.errors})` : ""}`);
}
const find = (side, prefix) => rows.find((r) => r.side === side && r.name.startsWith(prefix));
const jsTrivial = find("JS baseline", "GET /api/health");
const jsValidate = find("JS baseline", "POST /validate");
const trivial = find("Tessera", "GET /api/nope");
const assetsTrivial = find("JS + assets", "GET /api/health");
const assetsValidate = find("JS + assets", "POST /validate");
const validate = find("Tessera", "POST /api/licenses/validate");
const emptyObject = find("Tessera", "POST /api/bench/object");
const ratios = [
  ["trivial: Tessera / baseline behind the router (req/s)", trivial.rate / assetsTrivial.rate, "≥ 1.0"],
  ["validate: Tessera / baseline behind the router (req/s)", validate.rate / assetsValidate.rate, "≥ 1.05"],
  ...(emptyObject
    ? [
        ["checkout p50 / empty object call p50", find("Tessera", "POST /api/seats/checkout").p50 / emptyObject.p50, "≤ 1.5"],
        ["heartbeat p50 / empty object call p50", find("Tessera", "POST /api/seats/heartbeat").p50 / emptyObject.p50, "≤ 1.5"],
      ]
    : []),
];
for (const [name, value, target] of ratios) {
  console.log(`ratio ${name.padEnd(56)} ${value.toFixed(2)}×  (target ${target})`);
}
// Not targets now: issue 11's ratios, against the baseline without the router.
console.log(`ratio ${"trivial: Tessera / plain baseline (req/s)".padEnd(56)} ${(trivial.rate / jsTrivial.rate).toFixed(2)}×`);
console.log(`ratio ${"validate: Tessera / plain baseline (req/s)".padEnd(56)} ${(validate.rate / jsValidate.rate).toFixed(2)}×`);
console.log(`ratio ${"heartbeat p50 / Tessera trivial p50".padEnd(56)} ${(find("Tessera", "POST /api/seats/heartbeat").p50 / trivial.p50).toFixed(2)}×`);

// The heartbeat's bisect: each stage's p50, and what it adds to the one before (the
// first stage's base is the trivial route; the last, the whole heartbeat).
function bisect(route, stages, whole, floor) {
  const stageRows = stages.map(([stage]) => find("Tessera", `${route}, stop after ${stage}`)).filter(Boolean);
  if (!stageRows.length) return;
  console.log(`${route} bisect (p50; the trivial route ${trivial.p50.toFixed(2)} ms, ${floor.name} ${floor.p50.toFixed(2)} ms):`);
  let previous = { name: "trivial route", p50: trivial.p50 };
  for (const row of [...stageRows, whole]) {
    const name = row.name.replace(new RegExp(`^${route}, `), "");
    console.log(`  ${name.padEnd(60)} ${row.p50.toFixed(2).padStart(6)} ms  ${(row.p50 - previous.p50 >= 0 ? "+" : "")}${(row.p50 - previous.p50).toFixed(2).padStart(5)} ms  ${(row.p50 / floor.p50).toFixed(2)}× ${floor.name}`);
    previous = row;
  }
}
const emptyWrite = find("Tessera", "POST /api/bench/object (one durable write)");
if (emptyWrite) {
  console.log(`ratio ${"heartbeat p50 / object call with one durable write p50".padEnd(56)} ${(find("Tessera", "POST /api/seats/heartbeat").p50 / emptyWrite.p50).toFixed(2)}×`);
  bisect("heartbeat", STAGES, { name: "whole heartbeat (+ new lease token signed, answer)", p50: find("Tessera", "POST /api/seats/heartbeat").p50 },
    { name: "empty call", p50: emptyObject.p50 });
  bisect("validate", VALIDATE_STAGES, { name: "whole validate (+ revocation, cached 5 s)", p50: validate.p50 },
    { name: "JS + assets /validate", p50: assetsValidate.p50 });
}
