// Start the real worker (workerd via `wrangler dev`) for a black-box test file, with a
// fresh state directory unless one is given, on 127.0.0.1 only; stop it afterwards.
//
// The worker and site must already be built (`scripts/test` does that once); wrangler
// is started without a [build] step, so it serves exactly what was built.
import { spawn } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { envFile as defaultEnvFile } from "./secrets.mjs";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const WRANGLER = join(ROOT, "node_modules/.bin/wrangler");

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.unref();
    server.on("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

/**
 * Start `wrangler dev`. Returns `{ url, stateDir, stop, log }`.
 * `stateDir`: reuse a state directory (to test persistence across restarts); by
 * default a fresh temporary one, removed by `stop()` unless `keepState`.
 * `envFile`: the secrets (default: this run's admin password and signing key).
 * `logLevel`: wrangler's `--log-level` (default: wrangler's, which logs every request).
 * `inspector: false`: start through `devserver.mjs`, without wrangler's inspector proxy
 *   (benchmarks; see there why).
 * `config`: another wrangler.toml (with `inspector: false`; the benchmarks' JS baseline).
 */
export async function startWorker({ stateDir, keepState = false, envFile, timeoutMs = 60_000, logLevel, inspector = true, config } = {}) {
  const ownState = !stateDir && !keepState;
  const state = stateDir ?? mkdtempSync(join(tmpdir(), "tessera-state-"));
  const port = await freePort();
  const logPath = join(mkdtempSync(join(tmpdir(), "tessera-log-")), "wrangler.log");
  const out = openSync(logPath, "a");
  const env = {
    ...process.env,
    WRANGLER_SEND_METRICS: "false",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    CI: "true",
  };
  const secrets = envFile ?? defaultEnvFile();
  const [command, args] = inspector
    ? [
        WRANGLER,
        [
          "dev",
          "--ip", "127.0.0.1",
          "--port", String(port),
          "--inspector-port", "0",
          "--local",
          "--show-interactive-dev-session=false",
          "--persist-to", state,
          "--env-file", secrets,
          // Benchmarks pass "warn": wrangler's line per request costs its own CPU.
          ...(logLevel ? ["--log-level", logLevel] : []),
        ],
      ]
    : [
        process.execPath,
        [
          join(ROOT, "tests/support/devserver.mjs"),
          "--port", String(port),
          "--persist-to", state,
          "--env-file", secrets,
          ...(config ? ["--config", config] : []),
        ],
      ];
  // Its own process group: stop() ends wrangler, workerd and esbuild together.
  const child = spawn(command, args, { cwd: ROOT, detached: true, stdio: ["ignore", out, out], env });
  const exited = new Promise((ok) => child.once("exit", ok));
  const url = `http://127.0.0.1:${port}`;
  const log = () => readFileSync(logPath, "utf8");

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {}
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {}
      }, 5_000);
      await exited;
      clearTimeout(timer);
    }
    // Workerd children may outlive wrangler for a moment; end the whole group.
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {}
    if (ownState) rmSync(state, { recursive: true, force: true });
  };

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) {
      throw new Error(`wrangler dev exited with ${child.exitCode}:\n${log()}`);
    }
    try {
      const res = await fetch(`${url}/api/health`);
      if (res.ok) break;
    } catch {}
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler dev did not answer within ${timeoutMs} ms:\n${log()}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { url, stateDir: state, stop, log };
}

/**
 * A wrangler config for this build with `edit` applied to wrangler.toml's text (a
 * binding pointed elsewhere, to take a part away), written with absolute paths into a
 * temporary directory. Start it with `inspector: false`. Fails if `edit` changed nothing.
 */
export function variantConfig(edit) {
  const source = readFileSync(join(ROOT, "wrangler.toml"), "utf8");
  const edited = edit(source);
  if (edited === source) throw new Error("variantConfig: the edit changed nothing");
  const config = edited
    .replace(/^main = .*$/m, `main = "${join(ROOT, "worker/build/index.js")}"`)
    .replace(/^directory = .*$/m, `directory = "${join(ROOT, "site/dist")}"`);
  const path = join(mkdtempSync(join(tmpdir(), "tessera-config-")), "wrangler.toml");
  writeFileSync(path, config);
  return path;
}

