// Accounts kept in KV by an earlier version move to the accounts object on first start
// (issue 9, finding 4): users sign in with their passwords, tokens and the vault token
// keep working, and nothing of them is left in KV.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { pbkdf2Sync, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { call } from "../support/api.mjs";
import { basic } from "../support/secrets.mjs";
import { ROOT, startWorker } from "../support/wrangler.mjs";

const WRANGLER = join(ROOT, "node_modules/.bin/wrangler");
const sha256 = async (s) => Buffer.from(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(s))).toString("hex");

function kv(state, ...args) {
  return execFileSync(WRANGLER, ["kv", ...args, "--binding", "TESSERA_KV", "--local", "--persist-to", state], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" },
  });
}

test("users, tokens and the vault token kept in KV move to the accounts object, once", async () => {
  const state = mkdtempSync(join(tmpdir(), "tessera-legacy-"));
  try {
    const salt = randomBytes(16);
    const password = "a legacy password";
    const hash = pbkdf2Sync(password, salt, 100_000, 32, "sha256");
    const record = `pbkdf2-sha256$100000$${salt.toString("base64url")}$${hash.toString("base64url")}`;
    const user = { id: "legacy-id", username: "legacy", role: "admin", password: record, created_at: 1_700_000_000, disabled: false };
    const secret = `tsr_${randomBytes(32).toString("base64url")}`;
    const token = {
      token: { id: "tok-legacy", prefix: secret.slice(0, 12), description: "old", scope: "API", modules: [], created_by: "legacy", created_at: 1_700_000_001, last_used_at: null, status: "Active", expires_at: null },
      creator_id: "legacy-id",
      hash: await sha256(secret),
    };
    const vault = `tsv_${randomBytes(32).toString("base64url")}`;
    const stored = { hash: await sha256(vault), prefix: vault.slice(0, 12), created_at: 1_700_000_002, created_by: "legacy" };
    kv(state, "key", "put", "user:legacy", JSON.stringify(user));
    kv(state, "key", "put", "token:tok-legacy", JSON.stringify(token));
    kv(state, "key", "put", `token-hash:${token.hash}`, JSON.stringify({ kind: "api", id: "tok-legacy" }));
    kv(state, "key", "put", "vault-token", JSON.stringify(stored));
    kv(state, "key", "put", `token-hash:${stored.hash}`, JSON.stringify({ kind: "vault" }));

    const worker = await startWorker({ stateDir: state });
    try {
      const me = await call(worker, "GET", "/api/me", { auth: basic("legacy", password) });
      assert.equal(me.status, 200, JSON.stringify(me.body));
      assert.deepEqual([me.body.username, me.body.role], ["legacy", "admin"]);
      const viaToken = await call(worker, "GET", "/api/me", { auth: `Bearer ${secret}` });
      assert.deepEqual([viaToken.status, viaToken.body.token_id], [200, "tok-legacy"]);
      assert.equal((await call(worker, "GET", "/api/vault/products", { auth: `Bearer ${vault}` })).status, 200);
      // The old users are there, and no bootstrap administrator was made over them.
      const users = (await call(worker, "GET", "/api/users", { auth: basic("legacy", password) })).body.items;
      assert.deepEqual(users.map((u) => u.username), ["legacy"]);
    } finally {
      await worker.stop();
    }
    const left = JSON.parse(kv(state, "key", "list")).map((k) => k.name);
    assert.deepEqual(left.filter((k) => /^(user:|token|vault-token)/.test(k)), [], "nothing of them is left in KV");
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
});
