// The package's app client in Node, as a user installs it (this file runs from the
// scratch project): installations and their storage, DPoP proofs (checked with jose),
// and seats and machines against the running API — rotation, clone detection, a lost
// heartbeat answer retried, node-locked licenses, refusals — with Ed25519 and P-256.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as jose from "jose";
import {
  Installation, SeatClient, TesseraError, Validator, activate, deactivate, fileStorage, indexedDbStorage,
  init, jwkThumbprint, memoryStorage,
} from "tessera-license";
import * as client from "tessera-license/client";

const ROOT = process.env.TESSERA_ROOT;
assert.ok(ROOT, "TESSERA_ROOT names the repository (scripts/test sets it)");
const { startWorker } = await import(`${ROOT}/tests/support/wrangler.mjs`);
const { call, issueRequest } = await import(`${ROOT}/tests/support/api.mjs`);

const PRODUCT = "my-app";
const ALGORITHMS = ["Ed25519", "P-256"];
const claimsOf = (token) => JSON.parse(Buffer.from(token.split(".")[1], "base64url"));
const headerOf = (token) => JSON.parse(Buffer.from(token.split(".")[0], "base64url"));
const sha256 = (text) => createHash("sha256").update(text).digest("base64url");
const TMP = mkdtempSync(join(tmpdir(), "tessera-client-"));

before(async () => {
  await init();
});
after(() => {
  rmSync(TMP, { recursive: true, force: true });
});

describe("installations", () => {
  test("the client entry point exports the same classes, and no wasm", () => {
    assert.equal(client.Installation, Installation);
    assert.equal(client.SeatClient, SeatClient);
    assert.equal(client.TesseraError, TesseraError);
    assert.deepEqual(Object.keys(client).sort(), [
      "Installation", "SeatClient", "TesseraError", "activate", "deactivate", "fileStorage", "indexedDbStorage", "memoryStorage",
    ]);
  });

  for (const algorithm of ALGORITHMS) {
    test(`${algorithm}: the JS thumbprint is the engine's (jwkThumbprint) and jose's`, async () => {
      const installation = await Installation.load({ algorithm });
      assert.equal(installation.algorithm, algorithm);
      const jwk = installation.publicJwk;
      assert.deepEqual(Object.keys(jwk).sort(), algorithm === "Ed25519" ? ["crv", "kty", "x"] : ["crv", "kty", "x", "y"]);
      assert.match(installation.thumbprint, /^[A-Za-z0-9_-]{43}$/);
      assert.equal(installation.thumbprint, jwkThumbprint(jwk));
      assert.equal(installation.thumbprint, await jose.calculateJwkThumbprint(jwk, "sha256"));
      jwk.x = "changed";
      assert.notEqual(installation.publicJwk.x, "changed", "publicJwk is a copy");
    });

    test(`${algorithm}: a proof is an RFC 9449 DPoP JWT that jose verifies with its embedded key`, async () => {
      const installation = await Installation.load({ algorithm });
      const url = "https://licenses.example/api/seats/heartbeat";
      const token = "a.lease.token";
      const proof = await installation.proof("post", `${url}?q=1#frag`, { token });
      const { payload, protectedHeader } = await jose.jwtVerify(proof, jose.EmbeddedJWK, { typ: "dpop+jwt" });
      assert.equal(protectedHeader.alg, algorithm === "Ed25519" ? "EdDSA" : "ES256");
      assert.deepEqual(protectedHeader.jwk, installation.publicJwk);
      assert.equal(payload.htm, "POST");
      assert.equal(payload.htu, url, "no query or fragment in htu");
      assert.equal(payload.ath, sha256(token));
      assert.ok(Math.abs(payload.iat - Date.now() / 1000) <= 2);
      assert.match(payload.jti, /^[0-9a-f-]{36}$/, "a random UUID");
      const again = claimsOf(await installation.proof("POST", url));
      assert.notEqual(again.jti, payload.jti, "a fresh jti each time");
      assert.equal(again.ath, undefined, "no ath without a token");
    });
  }

  test("Ed25519 falls back to P-256 where Web Crypto lacks it", async () => {
    const proto = Object.getPrototypeOf(crypto.subtle);
    const generateKey = proto.generateKey;
    proto.generateKey = function (algorithm, ...rest) {
      if (algorithm?.name === "Ed25519") return Promise.reject(new DOMException("Unrecognized name", "NotSupportedError"));
      return generateKey.call(this, algorithm, ...rest);
    };
    try {
      const installation = await Installation.load();
      assert.equal(installation.algorithm, "P-256");
      assert.equal(headerOf(await installation.proof("POST", "https://x.example/")).alg, "ES256");
    } finally {
      proto.generateKey = generateKey;
    }
  });

  test("the server's clock, learned from a Date header, sets the proofs' iat", async () => {
    const installation = await Installation.load();
    const ahead = new Date(Date.now() + 300_000).toUTCString();
    const change = installation.learnClock(new Response(null, { headers: { Date: ahead } }));
    assert.ok(Math.abs(installation.clockOffset - 300_000) < 2_000, `${installation.clockOffset}`);
    assert.equal(change, installation.clockOffset);
    const { iat } = claimsOf(await installation.proof("POST", "https://x.example/"));
    assert.ok(Math.abs(iat - (Date.now() / 1000 + 300)) <= 2);
    // A clock within two seconds is the same clock (the header has whole seconds).
    installation.learnClock(new Response(null, { headers: { Date: new Date().toUTCString() } }));
    assert.equal(installation.clockOffset, 0);
    assert.equal(installation.learnClock(new Response(null)), 0, "no Date header: nothing learned");
  });

  test("fileStorage: the same installation across loads, the private JWK in a 0600 file", async () => {
    for (const algorithm of ALGORITHMS) {
      const file = join(TMP, `keys-${algorithm}`, "nested", "installation.json");
      const first = await Installation.load({ storage: fileStorage(file), algorithm });
      const second = await Installation.load({ storage: fileStorage(file) });
      const asked = await Installation.load({ storage: fileStorage(file), algorithm: algorithm === "Ed25519" ? "P-256" : "Ed25519" });
      assert.equal(second.thumbprint, first.thumbprint);
      assert.equal(asked.thumbprint, first.thumbprint, "a stored key keeps its own algorithm");
      assert.equal(second.algorithm, algorithm);
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.equal(statSync(join(TMP, `keys-${algorithm}`)).mode & 0o077, 0, "the directory it made is private too");
      const stored = JSON.parse(readFileSync(file, "utf8"));
      assert.equal(typeof stored.privateKey.d, "string", "the private JWK");
      assert.equal(jwkThumbprint(stored.publicKey), first.thumbprint);
      // The proofs of both loads verify with one key.
      const proof = await second.proof("POST", "https://x.example/");
      assert.deepEqual(headerOf(proof).jwk, first.publicJwk);
      await jose.jwtVerify(proof, await jose.importJWK(first.publicJwk, algorithm === "Ed25519" ? "EdDSA" : "ES256"));
    }
  });

  test("fileStorage: processes that start at once agree on one installation", async () => {
    const file = join(TMP, "race", "installation.json");
    const loads = await Promise.all(Array.from({ length: 6 }, () => Installation.load({ storage: fileStorage(file) })));
    assert.equal(new Set(loads.map((i) => i.thumbprint)).size, 1);
    assert.equal(jwkThumbprint(JSON.parse(readFileSync(file, "utf8")).publicKey), loads[0].thumbprint);
  });

  test("app storage gets a JWK pair by default, a non-extractable CryptoKeyPair when it asks", async () => {
    let kept;
    const jwkStore = { get: async () => kept, set: async (v) => void (kept = v) };
    const a = await Installation.load({ storage: jwkStore });
    assert.deepEqual(Object.keys(kept).sort(), ["privateKey", "publicKey"]);
    assert.equal(typeof kept.privateKey.d, "string");
    assert.equal(jwkThumbprint(kept.publicKey), a.thumbprint);
    assert.equal((await Installation.load({ storage: jwkStore })).thumbprint, a.thumbprint);
    // Also a bare private JWK, as an app may keep it.
    assert.equal((await Installation.load({ storage: { get: async () => kept.privateKey, set: async () => {} } })).thumbprint, a.thumbprint);

    let pair;
    const keyStore = { format: "cryptokey", get: async () => pair, set: async (v) => void (pair = v) };
    const b = await Installation.load({ storage: keyStore, algorithm: "P-256" });
    assert.equal(pair.privateKey.extractable, false);
    assert.equal(pair.privateKey.type, "private");
    assert.equal((await Installation.load({ storage: keyStore })).thumbprint, b.thumbprint);

    const memory = memoryStorage();
    const m = await Installation.load({ storage: memory });
    assert.equal((await Installation.load({ storage: memory })).thumbprint, m.thumbprint);
    assert.notEqual((await Installation.load()).thumbprint, m.thumbprint, "no storage: a new installation");
  });

  test("bad input is a TypeError; IndexedDB is for browsers", async () => {
    await assert.rejects(Installation.load({ algorithm: "RSA" }), TypeError);
    await assert.rejects(Installation.load({ storage: {} }), TypeError);
    await assert.rejects(Installation.load({ storage: { get: async () => ({ kty: "RSA" }), set: async () => {} } }), TypeError);
    assert.throws(() => new Installation(), TypeError);
    assert.throws(() => fileStorage(""), TypeError);
    await assert.rejects(Installation.load({ storage: indexedDbStorage() }), /no IndexedDB/);
    const installation = await Installation.load();
    assert.throws(() => new SeatClient({ url: "ftp://x", license: "l", product: "p", user: "u", installation }), TypeError);
    assert.throws(() => new SeatClient({ url: "https://x", license: "", product: "p", user: "u", installation }), TypeError);
    assert.throws(() => new SeatClient({ url: "https://x", license: "l", product: "p", user: "u", installation: {} }), TypeError);
    const v = new Validator({ keys: [{ kty: "OKP", crv: "Ed25519", x: installation.publicJwk.x, kid: "k" }] });
    assert.throws(() => v.validateLease("a.b.c", Date.now(), { installation: 5 }), TypeError);
    assert.throws(() => v.validateMachine("a.b.c", Date.now(), "not options"), TypeError);
    assert.throws(() => jwkThumbprint({ kty: "RSA", n: "x", e: "AQAB" }), TypeError);
  });
});

describe("against the running API", () => {
  let worker;
  let issuer;
  let jwks;
  let validator;
  const url = (path) => `${worker.url}${path}`;

  async function issue(overrides = {}) {
    const res = await call(worker, "POST", "/api/licenses", { body: issueRequest(issuer, { products: [PRODUCT], included_users: 10, ...overrides }) });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body;
  }

  /** A seat or machine call sent by hand, proved by `installation`. */
  async function raw(installation, method, path, token, headers = {}) {
    const res = await fetch(url(path), {
      method,
      headers: { Authorization: `DPoP ${token}`, DPoP: await installation.proof(method, url(path), { token }), ...headers },
    });
    const body = res.status === 204 ? null : await res.json();
    return { status: res.status, code: body?.error?.code ?? null, body };
  }

  const seatClient = (license, installation, user, options = {}) =>
    new SeatClient({ url: worker.url, license: license.token, product: PRODUCT, user, installation, validator, ...options });

  before(async () => {
    worker = await startWorker();
    issuer = `${worker.url}/`;
    jwks = await (await fetch(url("/.well-known/jwks.json"))).json();
    validator = new Validator(jwks, { issuer, product: PRODUCT });
  });
  after(async () => {
    await worker?.stop();
  });

  for (const algorithm of ALGORITHMS) {
    test(`${algorithm}: checkout → heartbeat (the token rotates; the old one is refused) → release`, async () => {
      const license = await issue();
      const installation = await Installation.load({ algorithm });
      const lost = [];
      const seat = seatClient(license, installation, `ann-${algorithm}`, { host: "laptop", onLost: (code) => lost.push(code) });
      assert.equal(seat.lease, null);
      assert.deepEqual(seat.validate(), { valid: false, code: "NO_LEASE", claims: null, warnings: [] });

      const first = await seat.checkout();
      assert.deepEqual(seat.lease, first.lease);
      assert.equal(seat.token, first.token);
      assert.equal(first.lease.installation, installation.thumbprint);
      assert.equal(first.lease.host, "laptop");
      assert.deepEqual(claimsOf(first.token).cnf, { jkt: installation.thumbprint });
      assert.equal(headerOf(first.token).typ, "lease+jwt");

      const second = await seat.heartbeat();
      assert.equal(second.lease.id, first.lease.id);
      assert.equal(second.lease.generation, first.lease.generation + 1);
      assert.equal(claimsOf(second.token).gen, second.lease.generation);
      assert.notEqual(second.token, first.token);
      assert.equal(seat.token, second.token);

      // Offline: valid for this installation (object or thumbprint), until the lease ends.
      const ok = seat.validate();
      assert.equal(ok.valid, true, JSON.stringify(ok));
      assert.equal(ok.claims.cnf.jkt, installation.thumbprint);
      assert.equal(validator.validateLease(seat.token, undefined, { installation: installation.thumbprint }).valid, true);
      assert.equal(validator.validateLease(seat.token).valid, true, "the one-argument form: any installation");
      assert.equal(seat.validate(new Date((second.lease.expires_at - 1) * 1000)).valid, true);
      assert.equal(seat.validate(second.lease.expires_at * 1000).code, "EXPIRED");
      const stranger = await Installation.load({ algorithm });
      assert.equal(validator.validateLease(seat.token, Date.now(), { installation: stranger }).code, "WRONG_INSTALLATION");

      // The old token, from a copy that lacks the key: refused, and nothing changes.
      const thief = await raw(stranger, "POST", "/api/seats/heartbeat", first.token);
      assert.deepEqual([thief.status, thief.code], [401, "INVALID_PROOF"]);
      assert.equal((await seat.heartbeat()).lease.generation, second.lease.generation + 1, "the seat is still ours");

      await seat.release();
      assert.equal(seat.lease, null);
      assert.equal(seat.token, null);
      await seat.release(); // nothing held: nothing to do
      const gone = await raw(installation, "POST", "/api/seats/heartbeat", second.token);
      assert.equal(gone.status, 410);
      assert.deepEqual(lost, [], "a release is not a loss");
      await assert.rejects(seat.heartbeat(), (e) => e instanceof TesseraError && e.code === "NO_LEASE");
    });
  }

  test("an old generation presented with the key is a clone: the lease ends for both, and onLost says so", async () => {
    const license = await issue();
    const installation = await Installation.load();
    const lost = [];
    const seat = seatClient(license, installation, "bob", { onLost: (code) => lost.push(code) });
    const first = await seat.checkout();
    await seat.heartbeat();
    const clone = await raw(installation, "POST", "/api/seats/heartbeat", first.token);
    assert.deepEqual([clone.status, clone.code], [410, "CLONE_DETECTED"]);
    await assert.rejects(seat.heartbeat(), (e) => e instanceof TesseraError && e.status === 410 && e.code === "CLONE_DETECTED");
    assert.deepEqual(lost, ["CLONE_DETECTED"]);
    assert.equal(seat.lease, null);
    assert.equal(seat.validate().code, "NO_LEASE");
    assert.throws(() => seat.start(), TesseraError, "nothing to heartbeat");
  });

  test("a heartbeat whose answer was lost is retried with the same Idempotency-Key: not a clone", async () => {
    const license = await issue();
    const installation = await Installation.load();
    const sent = [];
    let lostAnswer;
    const lossy = async (input, init) => {
      const res = await fetch(input, init);
      if (String(input).endsWith("/api/seats/heartbeat")) {
        sent.push(init.headers);
        if (sent.length === 1) {
          lostAnswer = await res.json(); // the server did it; the app never hears
          throw new TypeError("fetch failed: connection reset");
        }
      }
      return res;
    };
    const seat = seatClient(license, installation, "carol", { fetch: lossy, onLost: () => assert.fail("not lost") });
    const first = await seat.checkout();
    const beat = await seat.heartbeat();
    assert.equal(sent.length, 2, "one retry");
    assert.equal(sent[1]["Idempotency-Key"], sent[0]["Idempotency-Key"], "the same key");
    assert.equal(sent[1].Authorization, `DPoP ${first.token}`, "the same (old) token");
    assert.notEqual(sent[1].DPoP, sent[0].DPoP, "a new proof");
    assert.match(sent[0]["Idempotency-Key"], /^[\x21-\x7e]{1,64}$/);
    assert.equal(beat.lease.generation, lostAnswer.lease.generation, "the same generation answered again");
    assert.equal(seat.validate().valid, true);

    // The next heartbeat is a new one (a new key), and the seat goes on.
    const next = await seat.heartbeat();
    assert.equal(next.lease.generation, beat.lease.generation + 1);
    assert.notEqual(sent[2]["Idempotency-Key"], sent[0]["Idempotency-Key"]);
    await seat.release();
  });

  test("a 5xx answer is retried too; a refusal is not", async () => {
    const license = await issue();
    const installation = await Installation.load();
    let beats = 0;
    const flaky = async (input, init) => {
      if (String(input).endsWith("/heartbeat") && beats++ === 0) {
        return new Response(JSON.stringify({ error: { code: "INTERNAL", message: "try again" } }), { status: 503 });
      }
      return fetch(input, init);
    };
    const seat = seatClient(license, installation, "dan", { fetch: flaky });
    await seat.checkout();
    const beat = await seat.heartbeat();
    assert.equal(beats, 2);
    assert.equal(beat.lease.generation, 2);
    await seat.release();

    // A refusal is final: sent once.
    let sends = 0;
    const counted = (input, init) => {
      sends++;
      return fetch(input, init);
    };
    const bad = new SeatClient({ url: worker.url, license: "not.a.license", product: PRODUCT, user: "x", installation, fetch: counted });
    const err = await bad.checkout().catch((e) => e);
    assert.ok(err instanceof TesseraError, String(err));
    assert.equal(err.name, "TesseraError");
    assert.ok(err.status >= 400 && err.status < 500, `${err.status} ${err.code}`);
    assert.equal(sends, 1);
  });

  test("refusals are TesseraErrors with the API's code and status", async () => {
    const license = await issue({ included_users: 1 });
    const ann = seatClient(license, await Installation.load(), "ann");
    await ann.checkout();
    const full = await seatClient(license, await Installation.load(), "bob").checkout().catch((e) => e);
    assert.ok(full instanceof TesseraError);
    assert.deepEqual([full.status, full.code, full.retryAfter], [409, "NO_SEAT_AVAILABLE", null]);
    // One installation per user at a time (the license's default).
    const twice = await seatClient(license, await Installation.load(), "ann").checkout().catch((e) => e);
    assert.deepEqual([twice.status, twice.code], [409, "SESSION_LIMIT_REACHED"]);
    await ann.release();
    const unreachable = new SeatClient({ url: "http://127.0.0.1:9", license: license.token, product: PRODUCT, user: "x", installation: await Installation.load() });
    const down = await unreachable.checkout().catch((e) => e);
    assert.deepEqual([down.status, down.code], [0, "NETWORK_ERROR"]);
  });

  test("a clock far from the server's: the proof is refused once, then sent again with the clock its Date header gave", async () => {
    // wrangler dev sends no Date header (Cloudflare's edge does): add one, from the same clock.
    const dated = async (input, init) => {
      const res = await fetch(input, init);
      const headers = new Headers(res.headers);
      headers.set("Date", new Date().toUTCString());
      return new Response(res.status === 204 ? null : await res.arrayBuffer(), { status: res.status, headers });
    };
    const license = await issue();
    const installation = await Installation.load();
    installation.learnClock(new Response(null, { headers: { Date: new Date(Date.now() - 600_000).toUTCString() } }));
    assert.ok(installation.clockOffset < -590_000, "this installation believes the server is 10 minutes behind");
    const statuses = [];
    const counting = async (input, init) => {
      const res = await dated(input, init);
      statuses.push(res.status);
      return res;
    };
    const seat = seatClient(license, installation, "fay", { fetch: counting });
    await seat.checkout();
    assert.deepEqual(statuses, [401, 201]);
    assert.equal(installation.clockOffset, 0);
    await seat.release();
  });

  test("start() heartbeats every lease.heartbeat_seconds until stop(); a lease ended elsewhere reaches onLost", async () => {
    // The API asks for a heartbeat every 10 minutes; say 1 s instead, to watch the loop.
    const fast = async (input, init) => {
      const res = await fetch(input, init);
      if (res.status !== 200 && res.status !== 201) return res;
      const body = await res.json();
      body.lease.heartbeat_seconds = 1;
      return new Response(JSON.stringify(body), { status: res.status, headers: { "Content-Type": "application/json" } });
    };
    const license = await issue();
    const installation = await Installation.load();
    const lost = [];
    const errors = [];
    const seat = seatClient(license, installation, "gus", { fetch: fast, onLost: (code) => lost.push(code), onError: (e) => errors.push(e) });
    await seat.checkout();
    seat.start();
    seat.start(); // once is enough
    const deadline = Date.now() + 10_000;
    while (seat.lease.generation < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.ok(seat.lease.generation >= 3, `generation ${seat.lease.generation}`);
    seat.stop();
    const stopped = seat.lease.generation;
    await new Promise((r) => setTimeout(r, 1_500));
    assert.equal(seat.lease.generation, stopped, "no heartbeat after stop()");

    // Ended by someone else (here: released by hand with the current token and key).
    seat.start();
    assert.equal((await raw(installation, "POST", "/api/seats/release", seat.token)).status, 204);
    const until = Date.now() + 5_000;
    while (lost.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(lost, ["LEASE_REVOKED"]);
    assert.equal(seat.lease, null);
    assert.deepEqual(errors, []);
  });

  test("the heartbeat loop does not keep Node alive", async () => {
    const license = await issue();
    const script = `
      import { Installation, SeatClient } from "tessera-license";
      const seat = new SeatClient({ url: process.argv[1], license: process.argv[2], product: "${PRODUCT}", user: "hal", installation: await Installation.load() });
      await seat.checkout();
      seat.start();
      console.log("started");`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script, worker.url, license.token], { cwd: process.cwd() });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const killer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    const [code, signal] = await new Promise((ok) => child.on("close", (c, s) => ok([c, s])));
    clearTimeout(killer);
    assert.deepEqual([code, signal, out.trim()], [0, null, "started"]);
  });

  for (const algorithm of ALGORITHMS) {
    test(`${algorithm}: a node-locked license — activate, the machine token checked offline, deactivate`, async () => {
      const license = await issue({ max_machines: 1 });
      const installation = await Installation.load({ algorithm });
      const stranger = await Installation.load({ algorithm });

      const early = await seatClient(license, installation, "ivy").checkout().catch((e) => e);
      assert.deepEqual([early.status, early.code], [403, "MACHINE_NOT_ACTIVATED"]);

      const made = await activate({ url: worker.url, license: license.token, installation, name: "build-box", platform: "linux-x64", fingerprint: "fp-1" });
      assert.equal(made.created, true);
      assert.equal(made.machine.thumbprint, installation.thumbprint);
      assert.deepEqual([made.machine.name, made.machine.platform, made.machine.lid], ["build-box", "linux-x64", license.lid]);
      assert.equal(headerOf(made.token).typ, "machine+jwt");
      const again = await activate({ url: worker.url, license: license.token, installation });
      assert.equal(again.created, false, "already active here");
      assert.equal(again.machine.id, made.machine.id);

      const ok = validator.validateMachine(made.token, Date.now(), { installation });
      assert.equal(ok.valid, true, JSON.stringify(ok));
      assert.deepEqual([ok.claims.jti, ok.claims.lid, ok.claims.cnf.jkt, ok.claims.name], [made.machine.id, license.lid, installation.thumbprint, "build-box"]);
      assert.deepEqual(ok.claims.prod, [PRODUCT]);
      assert.equal(validator.validateMachine(made.token, undefined, { installation: installation.thumbprint }).valid, true);
      assert.equal(validator.validateMachine(made.token).valid, true);
      assert.equal(validator.validateMachine(made.token, Date.now(), { installation: stranger }).code, "WRONG_INSTALLATION");
      assert.equal(validator.validateLease(made.token).code, "MALFORMED", "a machine token is not a lease");
      assert.equal(validator.validateMachine("x.y.z").code, "MALFORMED");

      const full = await activate({ url: worker.url, license: license.token, installation: stranger }).catch((e) => e);
      assert.ok(full instanceof TesseraError);
      assert.deepEqual([full.status, full.code], [409, "MACHINE_LIMIT_REACHED"]);

      const seat = seatClient(license, installation, "ivy");
      await seat.checkout();
      assert.equal(seat.validate().valid, true);

      const stolen = await deactivate({ url: worker.url, token: made.token, installation: stranger }).catch((e) => e);
      assert.deepEqual([stolen.status, stolen.code], [401, "INVALID_PROOF"], "another key cannot deactivate it");
      const gone = await deactivate({ url: worker.url, token: made.token, installation });
      assert.equal(gone.id, made.machine.id);
      assert.equal(gone.thumbprint, installation.thumbprint);
      const after = await seatClient(license, installation, "ivy").checkout().catch((e) => e);
      assert.deepEqual([after.status, after.code], [403, "MACHINE_NOT_ACTIVATED"], "no machine, no seat");
      const heartbeat = await seat.heartbeat().catch((e) => e);
      assert.equal(heartbeat.status, 410, "its seat ended with it");
    });
  }

  test("too many activations in a day: 429 TOO_MANY_ACTIVATIONS with retryAfter", async () => {
    const license = await issue({ max_machines: 1, max_activations_per_day: 1 });
    const installation = await Installation.load();
    const { token } = await activate({ url: worker.url, license: license.token, installation });
    await deactivate({ url: worker.url, token, installation });
    const churn = await activate({ url: worker.url, license: license.token, installation: await Installation.load() }).catch((e) => e);
    assert.ok(churn instanceof TesseraError, String(churn));
    assert.deepEqual([churn.status, churn.code], [429, "TOO_MANY_ACTIVATIONS"]);
    assert.ok(churn.retryAfter > 0 && churn.retryAfter <= 86_400, `retryAfter ${churn.retryAfter}`);
  });
});
