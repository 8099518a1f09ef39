// wrk, the benchmarks' load generator (Debian's; `setup_wrk` installs it): one run,
// read back as numbers.
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
let scratch;

/**
 * Load `url` with wrk. `script`: a Lua script in tests/bench, with `env` for it;
 * `bodies`: JSON bodies to POST round-robin (through post-bodies.lua); `requests`:
 * single-use requests with headers, each sent once (through post-requests.lua).
 * Returns `{ rate, p50, p99, non2xx, errors }`: req/s, latencies in ms, the count of
 * non-2xx answers, and wrk's socket errors line (or undefined).
 */
export function wrk(url, options = {}) {
  const { args, vars } = command(url, options);
  return parse(execFileSync("wrk", args, { env: vars, encoding: "utf8" }));
}

/** `wrk`, without blocking this process: for a load that runs while the caller acts. */
export function wrkAsync(url, options = {}) {
  const { args, vars } = command(url, options);
  return new Promise((ok, fail) => {
    execFile("wrk", args, { env: vars, encoding: "utf8" }, (e, out) => (e ? fail(e) : ok(parse(out))));
  });
}

function command(url, { threads = 2, connections = 10, seconds = 8, script, env = {}, bodies, requests } = {}) {
  const args = [`-t${threads}`, `-c${connections}`, `-d${seconds}s`, "--latency"];
  const vars = { ...process.env, ...env };
  if (requests) {
    // Single-use requests (DPoP proofs): `{ authorization?, dpop?, key?, body }` each.
    scratch ??= mkdtempSync(join(tmpdir(), "tessera-wrk-"));
    const file = join(scratch, `requests-${Math.random().toString(36).slice(2)}.txt`);
    const line = (r) => [r.authorization ?? "", r.dpop ?? "", r.key ?? "", JSON.stringify(r.body ?? {})].join("\t");
    writeFileSync(file, requests.map(line).join("\n"));
    script = "post-requests.lua";
    vars.REQUESTS_FILE = file;
    vars.WRK_THREADS = String(threads);
  } else if (bodies) {
    scratch ??= mkdtempSync(join(tmpdir(), "tessera-wrk-"));
    const file = join(scratch, `bodies-${Math.random().toString(36).slice(2)}.txt`);
    writeFileSync(file, bodies.map((b) => JSON.stringify(b)).join("\n"));
    script = "post-bodies.lua";
    vars.BODIES_FILE = file;
  }
  if (script) args.push("-s", join(HERE, script));
  return { args: [...args, url], vars };
}

function parse(out) {
  const ms = (percentile) => {
    const found = new RegExp(`^\\s+${percentile}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, "m").exec(out);
    if (!found) throw new Error(`wrk: no ${percentile}% latency in:\n${out}`);
    return Number(found[1]) * { us: 0.001, ms: 1, s: 1000, m: 60_000 }[found[2]];
  };
  return {
    rate: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)[1]),
    p50: ms(50),
    p99: ms(99),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0),
    errors: /Socket errors: .*/.exec(out)?.[0],
  };
}
