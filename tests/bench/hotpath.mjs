// The hot path side by side (issue 11): Tessera and the hand-rolled JS baseline
// (tests/bench/baseline: jose + KV-cached keys), started the same way (workerd through
// tests/support/devserver.mjs, local KV, no inspector), loaded the same way (wrk), in one
// run. Prints req/s, p50 and p99 per route and the ratios the issue's targets name.
// A benchmark, not a test: it fails only if a request errors or answers the wrong thing.
//
//   node tests/bench/hotpath.mjs [seconds per route, default 8] [connections, default 10]
//
// Both validators get 200 distinct tokens, round-robin, as the baseline's README loads
// its own. Tessera's app routes also check revocation (and hold seats), which the
// baseline does not do at all.
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { SignJWT, exportJWK, generateKeyPair } from "jose";
import { call, issueRequest } from "../support/api.mjs";
import { startWorker } from "../support/wrangler.mjs";

const SECONDS = Number(process.argv[2] ?? 8);
const CONNECTIONS = Number(process.argv[3] ?? 10);
const TOKENS = 200;
const HERE = dirname(fileURLToPath(import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), "tessera-hotpath-"));

/** `wrk` on `url`, POSTing the lines of `bodies` round-robin when given. */
function wrk(url, bodies) {
  const args = ["-t2", `-c${CONNECTIONS}`, `-d${SECONDS}s`, "--latency"];
  const env = { ...process.env };
  if (bodies) {
    const file = join(scratch, `bodies-${Math.random().toString(36).slice(2)}.txt`);
    writeFileSync(file, bodies.map((b) => JSON.stringify(b)).join("\n"));
    args.push("-s", join(HERE, "post-bodies.lua"));
    env.BODIES_FILE = file;
  }
  const out = execFileSync("wrk", [...args, url], { env, encoding: "utf8" });
  const ms = (text) => {
    const found = /([\d.]+)(us|ms|s|m)$/.exec(text);
    if (!found) throw new Error(`wrk: cannot read a latency in:\n${out}`);
    return Number(found[1]) * { us: 0.001, ms: 1, s: 1000, m: 60_000 }[found[2]];
  };
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const errors = /Socket errors: .*/.exec(out)?.[0];
  return {
    rate: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]),
    p50: ms(/50%\s+(\S+)/.exec(out)[1]),
    p99: ms(/99%\s+(\S+)/.exec(out)[1]),
    non2xx,
    errors,
  };
}

const rows = [];
function row(side, name, result, { expectNon2xx = false } = {}) {
  if (!expectNon2xx && result.non2xx > 0) throw new Error(`${side} ${name}: ${result.non2xx} non-2xx answers`);
  rows.push({ side, name, ...result });
  return result;
}

// The baseline: its own key pair and tokens with seed-004-style claims.
async function baseline() {
  const worker = await startWorker({ inspector: false, config: join(HERE, "baseline/wrangler.toml") });
  try {
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
    row("JS baseline", "GET /api/health (no I/O)", wrk(`${worker.url}/api/health`));
    row("JS baseline", "POST /validate", wrk(`${worker.url}/validate`, bodies));
  } finally {
    await worker.stop();
  }
}

async function tessera() {
  const worker = await startWorker({ inspector: false });
  try {
    const instance = `${worker.url}/`;
    const validate = [];
    const checkout = [];
    const heartbeat = [];
    for (let i = 0; i < TOKENS; i++) {
      const res = await call(worker, "POST", "/api/licenses", { body: issueRequest(instance, { products: ["ide"] }) });
      if (res.status !== 201) throw new Error(`issue: HTTP ${res.status} ${JSON.stringify(res.body)}`);
      validate.push({ token: res.body.token, product: "ide" });
      const seat = { license: res.body.token, product: "ide", user: `user-${i}`, host: "bench" };
      const lease = await call(worker, "POST", "/api/seats/checkout", { auth: null, body: seat });
      if (lease.status !== 201) throw new Error(`checkout: HTTP ${lease.status} ${JSON.stringify(lease.body)}`);
      checkout.push(seat);
      heartbeat.push({ token: lease.body.token });
    }
    const answer = (await call(worker, "POST", "/api/licenses/validate", { auth: null, body: validate[0] })).body;
    if (!answer.valid) throw new Error(`Tessera refused its own licence: ${JSON.stringify(answer)}`);
    row("Tessera", "GET /api/nope (router → 404, no I/O)", wrk(`${worker.url}/api/nope`), { expectNon2xx: true });
    row("Tessera", "GET /api/health (one KV read)", wrk(`${worker.url}/api/health`));
    row("Tessera", "GET /.well-known/jwks.json", wrk(`${worker.url}/.well-known/jwks.json`));
    row("Tessera", "POST /api/licenses/validate", wrk(`${worker.url}/api/licenses/validate`, validate));
    row("Tessera", "POST /api/seats/checkout (refresh)", wrk(`${worker.url}/api/seats/checkout`, checkout));
    row("Tessera", "POST /api/seats/heartbeat", wrk(`${worker.url}/api/seats/heartbeat`, heartbeat));
  } finally {
    await worker.stop();
  }
}

await baseline();
await tessera();

console.log(`wrk -t2 -c${CONNECTIONS} -d${SECONDS}s, ${TOKENS} distinct tokens round-robin, same run, same dev server:`);
console.log(`${"".padEnd(12)} ${"route".padEnd(40)} ${"req/s".padStart(7)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)}`);
for (const r of rows) {
  console.log(`${r.side.padEnd(12)} ${r.name.padEnd(40)} ${r.rate.toFixed(0).padStart(7)} ${r.p50.toFixed(2).padStart(8)} ${r.p99.toFixed(2).padStart(8)}${r.errors ? `  (${r.errors})` : ""}`);
}
const find = (side, prefix) => rows.find((r) => r.side === side && r.name.startsWith(prefix));
const jsTrivial = find("JS baseline", "GET /api/health");
const jsValidate = find("JS baseline", "POST /validate");
const trivial = find("Tessera", "GET /api/nope");
const ratios = [
  ["trivial route: Tessera / baseline (req/s)", trivial.rate / jsTrivial.rate, "≥ 0.9"],
  ["validate: Tessera / baseline (req/s)", find("Tessera", "POST /api/licenses/validate").rate / jsValidate.rate, "≥ 1.2"],
  ["checkout p50 / Tessera trivial p50", find("Tessera", "POST /api/seats/checkout").p50 / trivial.p50, "≤ 2"],
  ["heartbeat p50 / Tessera trivial p50", find("Tessera", "POST /api/seats/heartbeat").p50 / trivial.p50, "≤ 2"],
];
for (const [name, value, target] of ratios) {
  console.log(`ratio ${name.padEnd(46)} ${value.toFixed(2)}×  (target ${target})`);
}
