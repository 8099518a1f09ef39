// The npm package as a user installs it (this file runs from a scratch project that
// installed the packed tarball): every code and warning, bad input, interop both ways
// with `jose`, and the same answers as the running API.
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { after, before, describe, test } from "node:test";
import * as jose from "jose";
import { CODES, Installation, RemoteValidator, SeatClient, Validator, WARNINGS, createValidator, init } from "tessera-license";

const ROOT = process.env.TESSERA_ROOT;
assert.ok(ROOT, "TESSERA_ROOT names the repository (scripts/test sets it)");
const { startWorker } = await import(`${ROOT}/tests/support/wrangler.mjs`);
const { call, issueRequest, untilServerTime } = await import(`${ROOT}/tests/support/api.mjs`);
const { signToLength } = await import(`${ROOT}/tests/support/jwt.mjs`);
const { envFile, signWithRootKey } = await import(`${ROOT}/tests/support/secrets.mjs`);

const DAY = 86_400;
const NOW = 1_800_000_000; // seconds; fixed: the validator takes `now`
const at = (seconds) => seconds * 1000; // the package takes milliseconds
const ISSUER = "https://licenses.example/";
const INSTANCE = "https://app.example/";

// An issuer key of our own, signing through jose.
const { publicKey, privateKey } = generateKeyPairSync("ed25519");
const jwk = { ...(await jose.exportJWK(publicKey)), kid: "test-key", alg: "EdDSA", use: "sig" };
const JWKS = { keys: [jwk] };

function claims(overrides = {}) {
  return {
    jti: "t-1", iss: ISSUER, sub: INSTANCE, iat: NOW - DAY, nbf: NOW - DAY, exp: NOW + 30 * DAY,
    lexp: NOW + 365 * DAY, lid: "lic-1", limit_by: "users", included_users: 15,
    lic_exp_warn_days: 30, tok_exp_warn_days: 2, update_days: 0, prod: ["tessera-pro"],
    company: "Example Labs", account: "acct", slug: "example", usage_billing: false,
    max_concurrent_user_sessions: 0, details_url: "", trial: false, trial_exp: 0, anonymousRatio: 0,
    ...overrides,
  };
}

const sign = (c, header = { alg: "EdDSA", kid: "test-key" }, key = privateKey) =>
  new jose.SignJWT(c).setProtectedHeader(header).sign(key);

const b64 = (v) => Buffer.from(JSON.stringify(v)).toString("base64url");

describe("before init", () => {
  test("a Validator needs init() first, with a clear Error", () => {
    assert.throws(() => new Validator(JWKS), { name: "Error", message: /await init\(\)/ });
  });
});

describe("the package", () => {
  let v;
  before(async () => {
    await init();
    await init(); // idempotent
    v = new Validator(JWKS, { issuer: ISSUER, product: "tessera-pro", instance: INSTANCE });
  });

  test("a valid license: claims, no warnings", async () => {
    const r = v.validate(await sign(claims()), at(NOW));
    assert.deepEqual(r, { valid: true, code: null, claims: claims(), warnings: [] });
  });

  test("the JWKS may be a JSON string; now may be a Date", async () => {
    const s = new Validator(JSON.stringify(JWKS));
    assert.equal(s.validate(await sign(claims()), new Date(at(NOW))).valid, true);
  });

  test("every code", async () => {
    const stranger = generateKeyPairSync("ed25519").privateKey;
    const good = await sign(claims());
    const [h, p, s] = good.split(".");
    const cases = {
      MALFORMED: "garbage",
      WRONG_ALGORITHM: `${b64({ alg: "none", kid: "test-key" })}.${p}.`,
      UNKNOWN_KEY: await sign(claims(), { alg: "EdDSA", kid: "nope" }),
      BAD_SIGNATURE: await sign(claims(), { alg: "EdDSA", kid: "test-key" }, stranger),
      WRONG_ISSUER: await sign(claims({ iss: "https://evil.example/" })),
      WRONG_INSTANCE: await sign(claims({ sub: "https://other.example/" })),
      WRONG_PRODUCT: await sign(claims({ prod: ["other"] })),
      NOT_YET_VALID: await sign(claims({ nbf: NOW + 1 })),
      EXPIRED: await sign(claims({ exp: NOW })),
      LICENSE_EXPIRED: await sign(claims({ lexp: NOW })),
      TRIAL_EXPIRED: await sign(claims({ trial: true, trial_exp: NOW })),
    };
    for (const [code, token] of Object.entries(cases)) {
      const r = v.validate(token, at(NOW));
      assert.equal(r.valid, false, code);
      assert.equal(r.code, code);
      assert.deepEqual(r.warnings, []);
    }
    assert.equal(v.validate(`${h}.${p}x.${s}`, at(NOW)).code, "BAD_SIGNATURE", "tampered payload");
    // Every code the package lists is covered here, or is the API-only REVOKED, or
    // WRONG_INSTALLATION (lease and machine tokens only: client.test.mjs).
    assert.deepEqual([...Object.keys(cases), "REVOKED", "WRONG_INSTALLATION"].sort(), [...CODES].sort());
  });

  test("claims come back whenever the signature verified, never otherwise", async () => {
    assert.equal(v.validate(await sign(claims({ exp: NOW })), at(NOW)).claims.lid, "lic-1");
    assert.equal(v.validate(await sign(claims(), { alg: "EdDSA", kid: "nope" }), at(NOW)).claims, null);
  });

  test("every warning, at its exact boundary", async () => {
    const c = claims({ exp: NOW + 2 * DAY, lexp: NOW + 30 * DAY, update_days: 1, iat: NOW - DAY });
    const token = await sign(c);
    const r = v.validate(token, at(NOW));
    assert.deepEqual(r.warnings, [
      { code: "LICENSE_EXPIRING", at: NOW + 30 * DAY, days_left: 30 },
      { code: "TOKEN_EXPIRING", at: NOW + 2 * DAY, days_left: 2 },
      { code: "RENEWAL_DUE", at: NOW },
    ]);
    assert.deepEqual(r.warnings.map((w) => w.code), [...WARNINGS]);
    assert.deepEqual(v.validate(token, at(NOW - 1)).warnings, [], "one second earlier: none");
  });

  test("bad input throws TypeError, never a wasm error", async () => {
    for (const bad of [undefined, null, 42, "not json", "{}", "[]", { keys: "x" }, { keys: [] }, { keys: [{ kty: "RSA", n: "AQAB", e: "AQAB" }] },
      // Wrong types inside the key set, met by the engine as JavaScript values.
      { keys: [null] }, { keys: [{ kty: "OKP", crv: "Ed25519", x: 123 }] },
      { keys: [{ ...JWKS.keys[0], x: "c2hvcnQ" }] }, { keys: [{ ...JWKS.keys[0], kid: ["k"] }] },
      { keys: [JWKS.keys[0], JWKS.keys[0]] }]) {
      assert.throws(() => new Validator(bad), TypeError, JSON.stringify(bad));
    }
    assert.throws(() => new Validator(JWKS, { issuer: 5 }), TypeError);
    assert.throws(() => new Validator(JWKS, { leeway: -1 }), TypeError);
    assert.throws(() => new Validator(JWKS, null), TypeError);
    for (const bad of [undefined, null, 42, {}, ["a"], Buffer.from("x")]) {
      assert.throws(() => v.validate(bad), TypeError);
    }
    assert.throws(() => v.validate("a.b.c", "yesterday"), TypeError);
    assert.throws(() => v.validate("a.b.c", Number.NaN), TypeError);
    assert.equal(v.validate("x".repeat(1_000_000), at(NOW)).code, "MALFORMED", "huge input is just malformed");
  });

  test("the 8 KiB cap, on real licenses: 8,192 bytes valid, 8,193 MALFORMED with no claims read", async () => {
    // Signed by jose with the trusted key, the company padded to the exact length (with
    // the kid where the length allows it, else without: every trusted key is tried).
    const headers = [{ alg: "EdDSA", kid: "test-key" }, { alg: "EdDSA" }];
    const exact = await signToLength(8192, claims(), { key: privateKey, headers });
    assert.deepEqual(v.validate(exact.token, at(NOW)), { valid: true, code: null, claims: exact.claims, warnings: [] });
    const over = await signToLength(8193, claims(), { key: privateKey, headers });
    assert.deepEqual(v.validate(over.token, at(NOW)), { valid: false, code: "MALFORMED", claims: null, warnings: [] });
  });

  test("the outcome is a plain object, as JSON.parse would make it", async () => {
    const token = await sign(claims());
    const ok = v.validate(token, at(NOW));
    assert.equal(Object.getPrototypeOf(ok), Object.prototype);
    assert.equal(Object.getPrototypeOf(ok.claims), Object.prototype);
    assert.equal(ok.code, null, "no code on a valid license: null, not undefined");
    assert.ok(Array.isArray(ok.claims.prod));
    assert.deepEqual(JSON.parse(JSON.stringify(ok)), ok, "nothing JSON would not carry");
    const refused = v.validate("a.b.c", at(NOW));
    assert.deepEqual(refused, { valid: false, code: "MALFORMED", claims: null, warnings: [] });
  });

  test("a remembered token is still judged at each call's now", async () => {
    const token = await sign(claims({ exp: NOW + 10 }));
    assert.equal(v.validate(token, at(NOW)).valid, true);
    assert.equal(v.validate(token, at(NOW + 10)).code, "EXPIRED");
    assert.equal(v.validate(token, at(NOW)).valid, true);
    const [h, p, s] = token.split(".");
    const flipped = `${s.slice(0, 10)}${s[10] === "A" ? "B" : "A"}${s.slice(11)}`;
    assert.equal(v.validate(`${h}.${p}.${flipped}`, at(NOW)).code, "BAD_SIGNATURE", "a different string is verified anew");
    const other = new Validator({ keys: [{ ...jwk, x: (await jose.exportJWK(generateKeyPairSync("ed25519").publicKey)).x }] });
    assert.equal(other.validate(token, at(NOW)).code, "BAD_SIGNATURE", "each validator remembers only its own keys' tokens");
  });

  test("createValidator in one call; free releases it", async () => {
    const c = await createValidator(JWKS);
    assert.equal(c.validate(await sign(claims()), at(NOW)).valid, true);
    c.free();
    c.free();
  });
});

describe("interop with jose", () => {
  test("tokens signed by jose with an Ed25519 key verify here (no kid in the header)", async () => {
    const v = new Validator(JWKS);
    const token = await new jose.SignJWT(claims()).setProtectedHeader({ alg: "EdDSA" }).sign(privateKey);
    assert.equal(v.validate(token, at(NOW)).valid, true);
  });
});

describe("against the running API", () => {
  let worker;
  before(async () => {
    worker = await startWorker();
  });
  after(async () => {
    await worker?.stop();
  });

  test("an API-issued license: the package and the API agree, and jose verifies it", async () => {
    const instance = `${worker.url}/`;
    const record = (await call(worker, "POST", "/api/licenses", { body: issueRequest(instance) })).body;
    const jwks = await (await fetch(`${worker.url}/.well-known/jwks.json`)).json();
    const v = new Validator(jwks, { issuer: instance, instance, product: "tessera-pro" });
    const mine = v.validate(record.token);
    assert.equal(mine.valid, true);
    assert.deepEqual(mine.claims, record.claims);

    assert.equal((await call(worker, "POST", "/api/licensing/token", { body: { token: record.token } })).status, 200);
    const api = (await call(worker, "GET", "/api/licensing/applied")).body;
    assert.deepEqual(
      { valid: mine.valid, code: mine.code, claims: mine.claims, warnings: mine.warnings },
      { valid: api.valid, code: api.code, claims: api.claims, warnings: api.warnings },
    );

    // The engine's token verifies in jose, with the key from the API's JWKS.
    const key = await jose.importJWK(jwks.keys[0], "EdDSA");
    const { payload, protectedHeader } = await jose.jwtVerify(record.token, key, { issuer: instance });
    assert.equal(protectedHeader.alg, "EdDSA");
    assert.equal(payload.lid, record.lid);
  });

  test("a refused token: the same code from the package and the API", async () => {
    const instance = `${worker.url}/`;
    const jwks = await (await fetch(`${worker.url}/.well-known/jwks.json`)).json();
    const v = new Validator(jwks, { issuer: instance, instance });
    const t = Math.floor(Date.now() / 1000);
    const expired = signWithRootKey(
      { jti: "x", iss: instance, sub: instance, iat: t - 2 * DAY, nbf: t - 2 * DAY, exp: t - DAY, lexp: t + DAY, lid: "x" },
      jwks.keys[0].kid,
    );
    assert.equal(v.validate(expired).code, "EXPIRED");
    const res = await call(worker, "POST", "/api/licensing/token", { body: { token: expired } });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.reason, "EXPIRED");
  });

  test("a lease token from checkout verifies offline; expired, tampered or mistyped ones are refused", async () => {
    const instance = `${worker.url}/`;
    const record = (await call(worker, "POST", "/api/licenses", { body: issueRequest(instance, { products: ["my-app"] }) })).body;
    // The app's installation proves each seat call (DPoP); the package's client sends them.
    const installation = await Installation.load();
    const seat = new SeatClient({ url: worker.url, license: record.token, product: "my-app", user: "ann@example.com", host: "laptop", installation });
    const { lease, token } = await seat.checkout();
    const jwks = await (await fetch(`${worker.url}/.well-known/jwks.json`)).json();
    const v = new Validator(jwks, { issuer: instance, product: "my-app" });

    const ok = v.validateLease(token);
    assert.equal(ok.valid, true, JSON.stringify(ok));
    assert.equal(ok.code, null);
    assert.deepEqual(
      [ok.claims.jti, ok.claims.lid, ok.claims.prod, ok.claims.user, ok.claims.host, ok.claims.exp],
      [lease.id, record.lid, "my-app", "ann@example.com", "laptop", lease.expires_at],
    );
    // Offline until the lease ends, and not a second longer.
    assert.equal(v.validateLease(token, at(lease.expires_at - 1)).valid, true);
    const expired = v.validateLease(token, at(lease.expires_at));
    assert.deepEqual([expired.valid, expired.code], [false, "EXPIRED"]);
    assert.equal(expired.claims.jti, lease.id, "claims whenever the signature verified");

    const [h, p, sig] = token.split(".");
    const longer = b64({ ...JSON.parse(Buffer.from(p, "base64url")), exp: lease.expires_at + 365 * DAY });
    assert.equal(v.validateLease(`${h}.${longer}.${sig}`).code, "BAD_SIGNATURE");
    const flipped = `${sig.slice(0, 10)}${sig[10] === "A" ? "B" : "A"}${sig.slice(11)}`;
    assert.equal(v.validateLease(`${h}.${p}.${flipped}`).code, "BAD_SIGNATURE");
    assert.equal(v.validateLease(record.token).code, "MALFORMED", "a license is not a lease");
    assert.equal(v.validate(token).code, "MALFORMED", "a lease is not a license");
    const other = new Validator(jwks, { issuer: instance, product: "another-app" });
    assert.equal(other.validateLease(token).code, "WRONG_PRODUCT");
    const elsewhere = new Validator(JWKS);
    assert.equal(elsewhere.validateLease(token).code, "UNKNOWN_KEY");
    assert.throws(() => v.validateLease(42), TypeError);

    // The heartbeat's fresh token verifies too; after release the API says 410.
    const beat = await seat.heartbeat();
    assert.equal(v.validateLease(beat.token).valid, true);
    assert.equal(v.validateLease(beat.token, Date.now(), { installation }).valid, true);
    await seat.release();
    const url = `${worker.url}/api/seats/heartbeat`;
    const gone = await fetch(url, {
      method: "POST",
      headers: { Authorization: `DPoP ${beat.token}`, DPoP: await installation.proof("POST", url, { token: beat.token }) },
    });
    assert.equal(gone.status, 410);
  });
});

describe("keys that rotate", () => {
  test("given the JWKS URL, the validator fetches the keys again when a license names a new one", async () => {
    const worker = await startWorker({ envFile: envFile({ KEY_ACTIVATION_SECONDS: "1" }) });
    try {
      const instance = `${worker.url}/`;
      let fetches = 0;
      const counted = (url) => {
        fetches++;
        return fetch(url);
      };
      const v = await RemoteValidator.create(`${worker.url}/.well-known/jwks.json`, { issuer: instance }, { fetch: counted, minRefreshSeconds: 0.5 });
      assert.equal(fetches, 1);
      const before = (await call(worker, "POST", "/api/licenses", { body: issueRequest(instance) })).body;
      assert.equal((await v.validate(before.token)).valid, true);
      assert.equal(fetches, 1, "a known key needs no fetch");

      const rotated = (await call(worker, "POST", "/api/keys/rotate")).body;
      // Wait for the worker's own clock to reach the new key's time, not a fixed time.
      await untilServerTime(worker, rotated.activates_at);
      const after = (await call(worker, "POST", "/api/licenses", { body: issueRequest(instance) })).body;
      assert.equal(JSON.parse(Buffer.from(after.token.split(".")[0], "base64url")).kid, rotated.kid);
      await new Promise((r) => setTimeout(r, 600)); // past the refresh interval
      const result = await v.validate(after.token);
      assert.equal(result.valid, true, JSON.stringify(result));
      assert.equal(fetches, 2, "one fetch for the new key");
      assert.equal((await v.validate(before.token)).valid, true, "the old key still verifies");

      // Forged kids cannot make it fetch on every call.
      const forged = signWithRootKey({ ...JSON.parse(Buffer.from(after.token.split(".")[1], "base64url")) }, "no-such-kid");
      assert.equal((await v.validate(forged)).code, "UNKNOWN_KEY");
      assert.equal((await v.validate(forged)).code, "UNKNOWN_KEY");
      assert.ok(fetches <= 3, `${fetches} fetches`);
      await assert.rejects(RemoteValidator.create("not a url"), TypeError);
    } finally {
      await worker.stop();
    }
  });
});
