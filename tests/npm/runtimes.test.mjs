// The client in every runtime an app may run in — Node, Deno, Bun, a Cloudflare Worker
// (workerd, through wrangler dev) and Chromium — each against the running API (check
// out, heartbeat, validate offline bound to its installation, release) and offline (a
// lease and a machine token with the JWKS passed in, no network). Every runtime runs
// the same scenario module (tests/npm/runtime/scenario.mjs), importing the package as
// this scratch project installed it; this file asserts the JSON each answers.
//
// Deno and Bun are the npm registry's `deno` and `bun` packages (their platform binaries
// come as optional dependencies), pinned in the repository's package.json.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, extname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { Installation, SeatClient, Validator, activate, init, jwkThumbprint } from "tessera-license";

const ROOT = process.env.TESSERA_ROOT;
assert.ok(ROOT, "TESSERA_ROOT names the repository (scripts/test sets it)");
const { freePort, startWorker } = await import(`${ROOT}/tests/support/wrangler.mjs`);
const { call, issueRequest } = await import(`${ROOT}/tests/support/api.mjs`);
const { launchBrowser } = await import(`${ROOT}/tests/support/browser.mjs`);

const HERE = dirname(fileURLToPath(import.meta.url)); // the scratch project
const RUNTIME = join(HERE, "runtime");
cpSync(join(ROOT, "tests/npm/runtime"), RUNTIME, { recursive: true });
const TMP = mkdtempSync(join(HERE, "tmp-"));
const PRODUCT = "my-app";
const BIN = {
  node: process.execPath,
  deno: join(ROOT, "node_modules/.bin/deno"),
  bun: join(ROOT, "node_modules/.bin/bun"),
};

const claimsOf = (token) => JSON.parse(Buffer.from(token.split(".")[1], "base64url"));

/** Run `command` in this project; resolves `{ code, stdout, stderr }`. */
function run(command, args, { env = {}, timeoutMs = 90_000 } = {}) {
  return new Promise((ok, fail) => {
    const child = spawn(command, args, { cwd: HERE, env: { ...process.env, NO_COLOR: "1", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", fail);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      ok({ code, signal, stdout, stderr });
    });
  });
}

/** The JSON line main.mjs printed, its error surfaced. */
function answer({ code, signal, stdout, stderr }, what) {
  const line = stdout.trim().split("\n").at(-1) ?? "";
  let parsed;
  try {
    parsed = JSON.parse(line);
  } catch {
    assert.fail(`${what}: no JSON answer (exit ${code}${signal ? `, ${signal}` : ""}):\n${stdout}\n${stderr}`);
  }
  assert.equal(parsed.error, undefined, `${what} (${parsed.runtime}) failed: ${parsed.error}\n${stderr}`);
  assert.equal(code, 0, `${what} exited ${code}:\n${stderr}`);
  return parsed;
}

let worker;
let jwks;
let issuer;
let seats; // a floating license, one user per runtime
let fixture; // for the offline runs: an installation (as a JWK pair), its lease and machine token

before(async () => {
  worker = await startWorker();
  issuer = `${worker.url}/`;
  await init();
  jwks = await (await fetch(`${worker.url}/.well-known/jwks.json`)).json();
  const issue = async (overrides) => {
    const res = await call(worker, "POST", "/api/licenses", { body: issueRequest(issuer, { products: [PRODUCT], ...overrides }) });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body;
  };
  seats = await issue({ included_users: 10 });

  // An installation kept as a JWK pair, as an app's own storage would hand it over.
  let pair;
  const capture = { format: "jwk", get: async () => pair, set: async (v) => void (pair = v) };
  const installation = await Installation.load({ storage: capture });
  const client = new SeatClient({ url: worker.url, license: seats.token, product: PRODUCT, user: "offline-user", installation });
  const { token: lease } = await client.checkout();
  const locked = await issue({ max_machines: 1 });
  const { token: machine } = await activate({ url: worker.url, license: locked.token, installation, name: "offline-box" });
  fixture = { jwks, issuer, product: PRODUCT, pair, lease, machine, thumbprint: installation.thumbprint };
});

after(async () => {
  await worker?.stop();
  rmSync(TMP, { recursive: true, force: true });
});

function onlineConfig(name, extra = {}) {
  return { api: worker.url, license: seats.token, product: PRODUCT, user: `${name}-user`, host: `${name}-host`, jwks, issuer, ...extra };
}

/** What every runtime's online run must show. */
function assertOnline({ runtime, result: r }, name, t) {
  const what = `${name} (${runtime})`;
  t?.diagnostic(`${runtime}: a ${r.algorithm} installation`);
  assert.ok(["Ed25519", "P-256"].includes(r.algorithm), what);
  assert.equal(r.reloadedThumbprint, r.thumbprint, `${what}: the stored installation loads again as itself`);
  assert.equal(jwkThumbprint(r.publicJwk), r.thumbprint, `${what}: the JS thumbprint is the engine's`);
  const [first, second] = r.leases;
  assert.equal(first.installation, r.thumbprint, `${what}: the lease is this installation's`);
  assert.equal(claimsOf(r.tokens[0]).cnf.jkt, r.thumbprint, `${what}: the token is bound to it`);
  assert.equal(first.user, `${name}-user`);
  assert.equal(first.host, `${name}-host`);
  assert.equal(second.id, first.id, `${what}: the heartbeat kept the lease`);
  assert.equal(second.generation, first.generation + 1, `${what}: the heartbeat rotated the token`);
  assert.notEqual(r.tokens[1], r.tokens[0]);
  assert.deepEqual(r.afterCheckout, { valid: true, code: null, jkt: r.thumbprint, gen: first.generation }, what);
  assert.deepEqual(r.afterHeartbeat, { valid: true, code: null, jkt: r.thumbprint, gen: second.generation }, what);
  assert.equal(r.forStranger.code, "WRONG_INSTALLATION", `${what}: another installation's lease`);
  assert.equal(r.atExpiry.code, "EXPIRED", `${what}: offline until the lease ends, not after`);
  assert.equal(r.releasedLease, null, `${what}: released`);
  assert.equal(r.releasedValidate, "NO_LEASE");
  assert.deepEqual(r.gone, { status: 410, code: "LEASE_REVOKED" }, `${what}: the API refuses the released lease`);
  assert.deepEqual(r.lost, [], `${what}: a release is not a loss`);
  // The same token, checked here by the Node validator: good until it expires.
  const v = new Validator(jwks, { issuer, product: PRODUCT });
  assert.equal(v.validateLease(r.tokens[1], Date.now(), { installation: r.thumbprint }).valid, true);
}

/** What every runtime's offline run must show. */
function assertOffline({ runtime, result: r }, name) {
  const what = `${name} (${runtime}) offline`;
  const jkt = fixture.thumbprint;
  const gen = claimsOf(fixture.lease).gen;
  assert.equal(r.thumbprint, jkt, `${what}: the JWK pair loads as the same installation`);
  assert.deepEqual(r.lease, { valid: true, code: null, jkt, gen }, what);
  assert.deepEqual(r.leaseByThumbprint, { valid: true, code: null, jkt, gen }, what);
  assert.deepEqual(r.leaseAnyInstallation, { valid: true, code: null, jkt, gen }, what);
  assert.equal(r.leaseOneArgument, null, `${what}: the one-argument form`);
  assert.deepEqual(r.leaseStranger, { valid: false, code: "WRONG_INSTALLATION", jkt, gen }, what);
  assert.deepEqual(r.leaseExpired, { valid: false, code: "EXPIRED", jkt, gen }, what);
  assert.deepEqual(r.leaseTampered, { valid: false, code: "BAD_SIGNATURE", jkt: null, gen: null }, what);
  assert.deepEqual(r.machine, { valid: true, code: null, jkt, gen: null }, what);
  assert.deepEqual(r.machineStranger, { valid: false, code: "WRONG_INSTALLATION", jkt, gen: null }, what);
  assert.equal(r.machineAsLease, "MALFORMED", `${what}: a machine token is not a lease`);
  assert.equal(r.proof, 3, `${what}: a proof is a JWS`);
}

// Node, Deno and Bun: main.mjs, with the key in a file (fileStorage).
const COMMANDS = {
  node: (mode, config, keyDir) => [BIN.node, [join(RUNTIME, "main.mjs"), mode, JSON.stringify(config)], {}],
  deno: (mode, config, keyDir) => {
    const port = new URL(worker.url).port;
    // Reads in this project only (the key directory is in it); offline, no network
    // permission at all and nothing written.
    const permissions = [`--allow-read=${HERE}`];
    if (mode === "online") permissions.push(`--allow-net=127.0.0.1:${port}`, `--allow-write=${keyDir}`);
    return [
      BIN.deno,
      ["run", "--no-lock", "--no-prompt", "--no-remote", ...permissions, join(RUNTIME, "main.mjs"), mode, JSON.stringify(config)],
      { DENO_DIR: join(TMP, "deno-dir"), DENO_NO_UPDATE_CHECK: "1" },
    ];
  },
  bun: (mode, config, keyDir) => [
    BIN.bun,
    ["--no-install", join(RUNTIME, "main.mjs"), mode, JSON.stringify(config)],
    { DO_NOT_TRACK: "1", BUN_INSTALL_CACHE_DIR: join(TMP, "bun-cache") },
  ],
};

for (const [name, command] of Object.entries(COMMANDS)) {
  describe(name, () => {
    test(`${name}: checkout, heartbeat, offline validation and release against the API, the key in a 0600 file`, async (t) => {
      const keyDir = mkdtempSync(join(TMP, `${name}-`));
      const keyFile = join(keyDir, "keys", "installation.json");
      const [bin, args, env] = command("online", onlineConfig(name, { keyFile }), keyDir);
      const out = answer(await run(bin, args, { env }), name);
      assertOnline(out, name, t);
      assert.equal(statSync(keyFile).mode & 0o777, 0o600, `${name}: the key file is mode 0600`);
      const stored = JSON.parse(readFileSync(keyFile, "utf8"));
      assert.ok(stored.privateKey.d, "the private JWK is in the file");
      assert.equal(jwkThumbprint(stored.publicKey), out.result.thumbprint, "the file holds this installation's key");
      if (name === "deno") assert.match(out.runtime, /^deno 2\./);
      if (name === "bun") assert.match(out.runtime, /^bun 1\./);
    });

    test(`${name}: offline, a lease and a machine token bound to the installation`, async () => {
      const [bin, args, env] = command("offline", { ...fixture, now: Date.now() }, TMP);
      assertOffline(answer(await run(bin, args, { env }), name), name);
    });
  });
}

// A Cloudflare Worker of the app's own (its wrangler config in a temp dir), run by the
// repository's wrangler on another port, 127.0.0.1 only.
describe("a Cloudflare Worker (workerd)", () => {
  let app;
  before(async () => {
    const dir = mkdtempSync(join(HERE, "app-worker-"));
    cpSync(join(RUNTIME, "worker.mjs"), join(dir, "worker.mjs"));
    cpSync(join(RUNTIME, "scenario.mjs"), join(dir, "scenario.mjs"));
    writeFileSync(
      join(dir, "wrangler.toml"),
      ['name = "tessera-client-test"', 'main = "worker.mjs"', 'compatibility_date = "2026-04-01"', ""].join("\n"),
    );
    const port = await freePort();
    const log = join(dir, "wrangler.log");
    const out = openSync(log, "a");
    const child = spawn(
      join(ROOT, "node_modules/.bin/wrangler"),
      ["dev", "--config", join(dir, "wrangler.toml"), "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", "0",
        "--local", "--show-interactive-dev-session=false", "--persist-to", join(dir, "state")],
      { cwd: dir, detached: true, stdio: ["ignore", out, out], env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "true" } },
    );
    const exited = new Promise((ok) => child.once("exit", ok));
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          process.kill(-child.pid, "SIGTERM");
        } catch {}
        const t = setTimeout(() => {
          try {
            process.kill(-child.pid, "SIGKILL");
          } catch {}
        }, 5_000);
        await exited;
        clearTimeout(t);
      }
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {}
      rmSync(dir, { recursive: true, force: true });
    };
    app = { url: `http://127.0.0.1:${port}`, stop, log: () => readFileSync(log, "utf8") };
    if (process.env.TESSERA_SHOW_APP_WORKER_LOG) after(() => console.error(app.log()));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) assert.fail(`wrangler dev (the app's worker) exited:\n${app.log()}`);
      try {
        await fetch(app.url);
        break;
      } catch {}
      if (Date.now() > deadline) {
        const log = app.log();
        await stop();
        assert.fail(`the app's worker did not start:\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  });
  after(async () => {
    await app?.stop();
  });

  const ask = async (mode, config) => {
    const res = await fetch(app.url, { method: "POST", body: JSON.stringify({ mode, config }) });
    const body = await res.json();
    assert.equal(body.error, undefined, `the worker failed: ${body.error}\n${app.log().slice(-3000)}`);
    return body;
  };

  test("workerd: checkout, heartbeat, offline validation and release against the API", async (t) => {
    const out = await ask("online", onlineConfig("workerd"));
    assert.match(out.runtime, /^workerd/);
    assertOnline(out, "workerd", t);
  });

  test("workerd: offline, no fetch made", async () => {
    const out = await ask("offline", { ...fixture, now: Date.now() });
    assertOffline(out, "workerd");
    assert.equal(out.result.fetches, 0);
  });
});

// Chromium: a page on its own origin (a static server here) calling the API on another
// (so every call is a CORS request), its key non-extractable in IndexedDB.
describe("Chromium", () => {
  const PACKAGE = join(HERE, "node_modules/tessera-license");
  const TYPES = { ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".html": "text/html" };
  const PAGE = `<!doctype html><title>tessera client</title>
<script type="importmap">{ "imports": { "tessera-license": "/pkg/index.js", "tessera-license/client": "/pkg/client.js" } }</script>
<script type="module">
  import * as lib from "tessera-license";
  import * as scenario from "/runtime/scenario.mjs";
  Object.assign(window, { lib, scenario, ready: true });
</script>`;
  let server;
  let origin;
  let browser;
  let context;
  let page;
  const errors = [];
  before(async () => {
    server = createServer(async (req, res) => {
      const path = normalize(decodeURIComponent(req.url.split("?")[0]));
      try {
        let body;
        if (path === "/") body = PAGE;
        else if (path.startsWith("/pkg/")) body = readFileSync(join(PACKAGE, path.slice(5)));
        else if (path === "/runtime/scenario.mjs") body = readFileSync(join(RUNTIME, "scenario.mjs"));
        else throw new Error("not found");
        res.writeHead(200, { "Content-Type": TYPES[extname(path)] ?? "text/html" }).end(body);
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
    origin = `http://127.0.0.1:${server.address().port}`;
    browser = await launchBrowser();
    context = await browser.newContext();
    page = await context.newPage();
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => window.ready === true);
  });
  after(async () => {
    await browser?.close();
    await new Promise((ok) => (server ? server.close(ok) : ok()));
  });

  test("chromium: checkout, heartbeat, offline validation and release from another origin (CORS), the key in IndexedDB", async (t) => {
    assert.notEqual(new URL(origin).origin, new URL(worker.url).origin, "the page and the API are different origins");
    const apiRequests = [];
    page.on("requestfinished", (r) => r.url().startsWith(worker.url) && apiRequests.push(`${r.method()} ${new URL(r.url()).pathname}`));
    const out = await page.evaluate(
      async (config) => ({
        runtime: navigator.userAgent,
        result: await window.scenario.online({ ...config, makeStorage: () => window.lib.indexedDbStorage("tessera-test") }),
      }),
      onlineConfig("chromium"),
    );
    assertOnline(out, "chromium", t);
    assert.equal(out.result.algorithm, "Ed25519", "Chromium's Web Crypto has Ed25519");
    for (const call of ["POST /api/seats/checkout", "POST /api/seats/heartbeat", "POST /api/seats/release"]) {
      assert.ok(apiRequests.includes(call), `${call} made from the page: ${apiRequests}`);
    }

    // A new page load finds the same installation, its private key not extractable.
    await page.reload();
    await page.waitForFunction(() => window.ready === true);
    const again = await page.evaluate(async () => {
      const storage = window.lib.indexedDbStorage("tessera-test");
      const stored = await storage.get();
      const installation = await window.lib.Installation.load({ storage });
      return {
        thumbprint: installation.thumbprint,
        isCryptoKey: stored.privateKey instanceof CryptoKey,
        extractable: stored.privateKey.extractable,
      };
    });
    assert.deepEqual(again, { thumbprint: out.result.thumbprint, isCryptoKey: true, extractable: false });
    assert.deepEqual(errors, []);
  });

  test("chromium: offline, no request made", async () => {
    await page.evaluate(() => window.lib.init()); // the wasm, while online
    const requests = [];
    const onRequest = (r) => requests.push(r.url());
    page.on("request", onRequest);
    await context.setOffline(true);
    try {
      const out = await page.evaluate(async (config) => ({ runtime: navigator.userAgent, result: await window.scenario.offline(config) }), {
        ...fixture,
        now: Date.now(),
      });
      assertOffline(out, "chromium");
    } finally {
      await context.setOffline(false);
      page.off("request", onRequest);
    }
    assert.deepEqual(requests, []);
    assert.deepEqual(errors, []);
  });
});
