// Where a route's time goes inside workerd: a V8 CPU profile of the worker's isolate,
// taken over wrangler's inspector while wrk loads one route, summarised by self time
// (the issue 11 breakdown). A diagnostic, not a test and not part of the benchmarks.
//
//   node tests/bench/profile.mjs [seconds, default 5] [route ...]
//
// A route is `GET:/api/nope` or `POST:/api/licenses/validate` (POSTs get 200 licenses'
// requests round-robin, as tests/bench/hotpath.mjs sends them). For Rust names rather than
// `wasm-function[N]`, profile a worker built with its name section: the release profile
// strips it (`CARGO_PROFILE_RELEASE_STRIP=false` and wasm-opt `-g` keep it).
//
// The inspector itself forwards an event per subrequest to wrangler, so routes that call
// a Durable Object look slower here than under tests/bench/hotpath.mjs; the split of CPU
// time within the worker is what this is for.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { unstable_startWorker } from "wrangler";
import WebSocket from "ws";
import { seatedLicenses } from "./seated.mjs";
import { envFile } from "../support/secrets.mjs";
import { ROOT, freePort } from "../support/wrangler.mjs";
import { wrk } from "./wrk.mjs";

const SECONDS = Number(process.argv[2] ?? 5);
const ROUTES = process.argv.slice(3).length
  ? process.argv.slice(3)
  : ["GET:/api/nope", "GET:/.well-known/jwks.json", "POST:/api/licenses/validate", "POST:/api/seats/heartbeat"];

const [port, inspectorPort] = [await freePort(), await freePort()];
const dev = await unstable_startWorker({
  config: join(ROOT, "wrangler.toml"),
  envFiles: [envFile()],
  dev: {
    server: { hostname: "127.0.0.1", port },
    inspector: { hostname: "127.0.0.1", port: inspectorPort },
    persist: mkdtempSync(join(tmpdir(), "tessera-profile-state-")),
    logLevel: "warn",
    remote: false,
    liveReload: false,
    watch: false,
  },
});
await dev.ready;
const worker = { url: `http://127.0.0.1:${port}` };

/** A CDP session on the worker's isolate, through wrangler's inspector proxy (which
 *  accepts a local client that names a local origin). */
async function session() {
  const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json();
  const socket = new WebSocket(targets[0].webSocketDebuggerUrl, { headers: { Origin: "http://127.0.0.1" } });
  await new Promise((ok, fail) => {
    socket.once("open", ok);
    socket.once("error", fail);
  });
  let id = 0;
  const pending = new Map();
  socket.on("message", (data) => {
    const msg = JSON.parse(String(data));
    if (msg.id && pending.has(msg.id)) {
      pending.get(msg.id)(msg);
      pending.delete(msg.id);
    }
  });
  const send = (method, params = {}) =>
    new Promise((ok) => {
      id += 1;
      pending.set(id, ok);
      socket.send(JSON.stringify({ id, method, params }));
    });
  return { send, close: () => socket.close() };
}

/** Self time per function (the top `n`) and per kind of code, as percentages of the
 *  samples the isolate was busy in. */
const sites = new Map();
function summarise(profile, n = 25) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map();
  const kinds = new Map();
  let busy = 0;
  profile.samples.forEach((nodeId, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const { functionName, url, lineNumber, columnNumber } = byId.get(nodeId).callFrame;
    if (functionName === "(idle)") return;
    const file = url ? url.split("/").pop() : "";
    const kind = file.includes(".wasm") || functionName.startsWith("js-to-wasm") || functionName === "wasm-to-js"
      ? "Rust (wasm) and its boundary"
      : file
        ? "JS: worker-build glue, wrangler's dev middleware"
        : ["(program)", "(garbage collector)"].includes(functionName)
          ? "V8/workerd outside JS (program, GC)"
          : "runtime built-ins (Response, Headers, ...)";
    const where = file.endsWith(".js") ? `${file}:${lineNumber + 1}:${columnNumber + 1}` : file;
    if (file.endsWith(".js")) sites.set(`${file}:${lineNumber + 1}:${columnNumber + 1}`, byId.get(nodeId).callFrame);
    const key = `${functionName || "(anonymous)"}${where ? ` [${where}]` : ""}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    kinds.set(kind, (kinds.get(kind) ?? 0) + dt);
    busy += dt;
  });
  const pct = (v) => `${((100 * v) / busy).toFixed(1).padStart(5)}%`;
  return [
    ...[...kinds.entries()].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${pct(v)}  = ${k}`),
    ...[...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${pct(v)}  ${k}`),
  ];
}

try {
  const seated = await seatedLicenses(worker, 200);
  const loads = {
    "/api/licenses/validate": seated.validate,
    "/api/seats/checkout": seated.checkout,
    "/api/seats/heartbeat": seated.heartbeat,
  };
  const cdp = await session();
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: 100 });
  for (const route of ROUTES) {
    const [method, path] = route.split(":");
    const sent = method === "POST" ? await loads[path](SECONDS) : {};
    await cdp.send("Profiler.start");
    const load = wrk(`${worker.url}${path}`, { threads: 1, connections: 4, seconds: SECONDS, ...sent });
    const { result } = await cdp.send("Profiler.stop");
    console.log(`\n${route}: ${load.rate.toFixed(0)} req/s under the inspector; self time of the busy samples:`);
    for (const line of summarise(result.profile)) console.log(line);
    if (process.env.SHOW_SOURCE) {
      // The code at the busiest JS sites (the bundle wrangler builds is temporary).
      await cdp.send("Debugger.enable");
      const lines = summarise(result.profile).filter((l) => l.includes(".js:")).slice(0, 8);
      for (const l of lines) {
        const site = /\[(.*)\]/.exec(l)[1];
        const frame = sites.get(site);
        const { result: src } = await cdp.send("Debugger.getScriptSource", { scriptId: frame.scriptId });
        const text = src.scriptSource.split("\n")[frame.lineNumber] ?? "";
        console.log(`  ${site}: ${text.slice(Math.max(0, frame.columnNumber - 60), frame.columnNumber + 400)}`);
      }
    }
  }
  cdp.close();
} finally {
  await dev.dispose();
}
