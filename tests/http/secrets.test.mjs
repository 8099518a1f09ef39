// No secret in KV, in the worker's logs, or in any response after its one showing.
//
// Secrets here: users' passwords, the bootstrap admin password, API/Agent token
// secrets, the vault token, and the signing key's seed. After exercising every route
// that touches them, the whole local state directory (KV's SQLite and blob files) and
// the wrangler log are searched byte for byte.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { call, createToken, createUser, issueRequest } from "../support/api.mjs";
import { ADMIN, SIGNING_SEED } from "../support/secrets.mjs";
import { startWorker } from "../support/wrangler.mjs";

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

test("secrets appear once, in the response that makes them, and nowhere else", async () => {
  const worker = await startWorker({ keepState: true });
  const responses = [];
  const record = async (...args) => {
    const res = await call(worker, ...args);
    responses.push(JSON.stringify(res.body));
    return res;
  };
  try {
    const user = await createUser(worker, "admin");
    const api = await createToken(worker, user.auth, { description: "api" });
    const agent = await createToken(worker, user.auth, { scope: "Agent" });
    const vaultRes = await call(worker, "POST", "/api/vault-token", { auth: user.auth });
    const vault = vaultRes.body.secret;
    // The one showing must not be kept by any cache on the way.
    assert.equal(vaultRes.headers.get("cache-control"), "no-store");
    const signedIn = await call(worker, "POST", "/api/session", { auth: null, body: { username: user.username, password: user.password } });
    const session = (signedIn.headers.get("set-cookie") ?? "").split(";")[0].split("=")[1];
    assert.ok(session?.length > 20, "a session secret");
    const again = await call(worker, "POST", "/api/tokens", { auth: user.auth, body: {} });
    assert.equal(again.headers.get("cache-control"), "no-store");
    const secrets = {
      "a user's password": user.password,
      "the bootstrap password": ADMIN.password,
      "an API token": api.secret,
      "an Agent token": agent.secret,
      "the vault token": vault,
      "a console session": session,
      "the signing seed": SIGNING_SEED.toString("base64url"),
    };

    // Use everything, and read back everything that describes them.
    await record("GET", "/api/me", { auth: api.bearer });
    await record("GET", "/api/me", { auth: null, headers: { Cookie: `tessera_session=${session}` } });
    await record("POST", "/api/agent/ping", { auth: agent.bearer });
    await record("GET", "/api/licenses", { auth: `Bearer ${vault}` });
    await record("POST", "/api/licenses", { auth: api.bearer, body: issueRequest(`${worker.url}/`) });
    await record("GET", "/api/tokens", { auth: user.auth });
    await record("GET", "/api/tokens?all=true", { auth: user.auth });
    await record("GET", `/api/tokens/${api.token.id}`, { auth: user.auth });
    await record("PATCH", `/api/tokens/${api.token.id}`, { auth: user.auth, body: { description: "renamed" } });
    await record("GET", "/api/vault-token", { auth: user.auth });
    await record("GET", "/api/users", { auth: user.auth });
    await record("GET", `/api/users/${user.username}`, { auth: user.auth });
    await record("GET", "/api/keys", { auth: user.auth });
    await record("GET", "/.well-known/jwks.json", { auth: null });
    await record("POST", "/api/keys/rotate");
    await record("GET", "/api/me", { auth: `Bearer ${api.secret.slice(0, -1)}x` });
    await record("GET", "/api/me", { auth: `Basic ${Buffer.from(`${user.username}:wrong`).toString("base64")}` });
    await record("DELETE", `/api/tokens/${agent.token.id}`, { auth: user.auth });

    const state = files(worker.stateDir).map((f) => [f, readFileSync(f)]);
    assert.ok(state.length > 0, "the state directory holds KV's files");
    assert.ok(state.some(([, bytes]) => bytes.includes(api.token.id)), "the search does see KV's contents");
    const log = worker.log();
    for (const [name, secret] of Object.entries(secrets)) {
      for (const [file, bytes] of state) {
        assert.ok(!bytes.includes(secret), `${name} is stored in ${file}`);
      }
      assert.ok(!log.includes(secret), `${name} is in the worker's log`);
      for (const body of responses) {
        assert.ok(!body.includes(secret), `${name} was shown again: ${body.slice(0, 200)}`);
      }
    }
  } finally {
    await worker.stop();
    const { rmSync } = await import("node:fs");
    rmSync(worker.stateDir, { recursive: true, force: true });
  }
});
