// The compromise drill (issue 20, item 3), end to end on one state across restarts:
// the root signing key leaks; rotate with immediate activation, retire the leaked key
// (it leaves the JWKS and its tokens stop verifying), re-issue the license, then
// replace SIGNING_KEY: rotated keys are sealed under the deployment secret, not the
// root, so licensing goes on. A worker started with another DEPLOYMENT_SECRET cannot
// open them: they are skipped and reported (health, GET /api/keys, the audit log), and
// the rest still works.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { rmSync } from "node:fs";
import { test } from "node:test";
import { assertError, call, issueRequest } from "../support/api.mjs";
import { DEPLOYMENT_SECRET, envFile } from "../support/secrets.mjs";
import { startWorker } from "../support/wrangler.mjs";

const ISSUER = "https://licenses.drill.test/";
const kidOf = (token) => JSON.parse(Buffer.from(token.split(".")[0], "base64url")).kid;
const jwks = async (worker) => (await call(worker, "GET", "/.well-known/jwks.json", { auth: null })).body.keys.map((k) => k.kid);
const validate = async (worker, token) =>
  (await call(worker, "POST", "/api/licenses/validate", { auth: null, body: { token, instance: "https://app.drill.test/" } })).body;

test("rotate now, retire the leaked root, re-issue; then replace SIGNING_KEY and lose nothing", async () => {
  const first = await startWorker({ keepState: true, envFile: envFile({ ISSUER_URL: ISSUER }) });
  const stateDir = first.stateDir;
  let worker = first;
  try {
    const issued = await call(worker, "POST", "/api/licenses", { body: issueRequest("https://app.drill.test/") });
    assert.equal(issued.status, 201);
    const { lid, token: leaked } = issued.body;
    const root = kidOf(leaked);
    assert.equal((await validate(worker, leaked)).valid, true);

    // 1. Rotate, signing at once.
    const rotated = await call(worker, "POST", "/api/keys/rotate", { body: { activate_now: true } });
    assert.equal(rotated.status, 201, JSON.stringify(rotated.body));
    assert.equal(rotated.body.active, true, "signs now");
    const fresh = rotated.body.kid;
    // The signer cannot retire; an unknown key is 404.
    assertError(await call(worker, "POST", `/api/keys/${fresh}/retire`), 409, "CONFLICT");
    assertError(await call(worker, "POST", "/api/keys/nope/retire"), 404, "NOT_FOUND");

    // 2. Retire the leaked root: gone from the JWKS, its token no longer verifies.
    const retired = await call(worker, "POST", `/api/keys/${root}/retire`);
    assert.equal(retired.status, 200, JSON.stringify(retired.body));
    assert.deepEqual(retired.body.map((k) => k.kid), [fresh]);
    assert.deepEqual(await jwks(worker), [fresh]);
    assert.equal((await validate(worker, leaked)).valid, false, "the leaked key's token");

    // 3. Re-issue: a token by the new key, valid.
    const reissued = await call(worker, "POST", `/api/licenses/${lid}/reissue`);
    assert.equal(reissued.status, 200, JSON.stringify(reissued.body));
    assert.equal(kidOf(reissued.body.token), fresh);
    assert.equal((await validate(worker, reissued.body.token)).valid, true);
    assertError(await call(worker, "POST", "/api/licenses/nope/reissue"), 404, "NOT_FOUND");
    const audit = (await call(worker, "GET", "/api/audit?limit=50")).body.items.map((e) => `${e.action} ${e.object}`);
    for (const line of [`keys.rotate ${fresh}`, `keys.retire ${root}`, `license.reissue ${lid}`]) {
      assert.ok(audit.includes(line), `${line} in ${audit}`);
    }
    await worker.stop();

    // 4. Replace SIGNING_KEY (the leaked secret) on the same state: the rotated key still
    //    opens and signs, the retired root stays out, the new root is published.
    const newSeed = randomBytes(32).toString("base64url");
    worker = await startWorker({ stateDir, envFile: envFile({ ISSUER_URL: ISSUER, SIGNING_KEY: newSeed }) });
    const health = (await call(worker, "GET", "/api/health", { auth: null })).body;
    assert.deepEqual([health.status, health.signing, health.unopened_keys], ["ok", true, 0]);
    const published = await jwks(worker);
    assert.ok(published.includes(fresh) && !published.includes(root), JSON.stringify(published));
    assert.equal((await validate(worker, reissued.body.token)).valid, true);
    const next = await call(worker, "POST", "/api/licenses", { body: issueRequest("https://app.drill.test/") });
    assert.equal(next.status, 201);
    assert.equal(kidOf(next.body.token), fresh, "the rotated key signs");
    await worker.stop();

    // 5. Another DEPLOYMENT_SECRET: the rotated key does not open. Skipped and reported,
    //    never fatal: health says so, the keys list it, the audit log records it once.
    const wrong = randomBytes(32).toString("base64url");
    assert.notEqual(wrong, DEPLOYMENT_SECRET);
    worker = await startWorker({ stateDir, envFile: envFile({ ISSUER_URL: ISSUER, SIGNING_KEY: newSeed, DEPLOYMENT_SECRET: wrong }) });
    const degraded = (await call(worker, "GET", "/api/health", { auth: null })).body;
    assert.deepEqual([degraded.status, degraded.signing, degraded.unopened_keys], ["degraded", true, 1]);
    const keys = (await call(worker, "GET", "/api/keys")).body;
    assert.deepEqual(keys.filter((k) => k.source === "unopened").map((k) => k.kid), [fresh]);
    assert.equal((await validate(worker, reissued.body.token)).valid, false, "its tokens cannot verify here");
    const byRoot = await call(worker, "POST", "/api/licenses", { body: issueRequest("https://app.drill.test/") });
    assert.equal(byRoot.status, 201, "the new root signs meanwhile");
    const unopened = (await call(worker, "GET", "/api/audit?limit=50")).body.items.filter((e) => e.action === "keys.unopened");
    assert.deepEqual(unopened.map((e) => [e.actor, e.object]), [["system", fresh]]);
  } finally {
    await worker.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
});
