// API tokens (seeds 000, 003), the vault access token (seeds 001/002), and user
// management, against the real worker.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { assertError, call, createToken, createUser, issueRequest, now, untilServerTime } from "../support/api.mjs";
import { ADMIN_AUTH } from "../support/secrets.mjs";
import { startWorker } from "../support/wrangler.mjs";

let worker;
before(async () => {
  worker = await startWorker();
});
after(async () => {
  await worker?.stop();
});

const me = (auth) => call(worker, "GET", "/api/me", { auth });

describe("API tokens", () => {
  test("create, show once, use, list, edit, disable, enable, delete", async () => {
    const user = await createUser(worker, "editor");
    const created = await createToken(worker, user.auth, { description: "Report tool", modules: [] });
    assert.match(created.secret, /^tsr_[A-Za-z0-9_-]{65}$/);
    const t = created.token;
    assert.equal(t.prefix, created.secret.slice(0, 12));
    assert.deepEqual([t.scope, t.status, t.created_by, t.last_used_at, t.expires_at], ["API", "Active", user.username, null, null]);

    const who = await me(created.bearer);
    assert.equal(who.status, 200);
    assert.deepEqual([who.body.username, who.body.role, who.body.via, who.body.token_id], [user.username, "editor", "api_token", t.id]);
    assert.equal((await call(worker, "POST", "/api/licenses", { auth: created.bearer, body: issueRequest(`${worker.url}/`) })).status, 201);

    const listed = await call(worker, "GET", "/api/tokens", { auth: user.auth });
    assert.equal(listed.status, 200);
    assert.equal(listed.body.items.length, 1);
    assert.ok(listed.body.items[0].last_used_at > 0, "last used is recorded");
    assert.ok(!JSON.stringify(listed.body).includes(created.secret.slice(12)), "the secret is never shown again");
    const one = await call(worker, "GET", `/api/tokens/${t.id}`, { auth: user.auth });
    assert.ok(!JSON.stringify(one.body).includes(created.secret.slice(12)));

    const edited = await call(worker, "PATCH", `/api/tokens/${t.id}`, { auth: user.auth, body: { description: "Nightly export" } });
    assert.equal(edited.body.description, "Nightly export");

    const disabled = await call(worker, "PATCH", `/api/tokens/${t.id}`, { auth: user.auth, body: { status: "Disabled" } });
    assert.equal(disabled.body.status, "Disabled");
    assertError(await me(created.bearer), 401, "UNAUTHORIZED");
    await call(worker, "PATCH", `/api/tokens/${t.id}`, { auth: user.auth, body: { status: "Active" } });
    assert.equal((await me(created.bearer)).status, 200, "enabled again");

    const deleted = await call(worker, "DELETE", `/api/tokens/${t.id}`, { auth: user.auth });
    assert.equal(deleted.body.status, "Deleted");
    assertError(await me(created.bearer), 401, "UNAUTHORIZED");
    assert.equal((await call(worker, "GET", "/api/tokens", { auth: user.auth })).body.items[0].status, "Deleted");
    assertError(await call(worker, "PATCH", `/api/tokens/${t.id}`, { auth: user.auth, body: { status: "Active" } }), 409, "CONFLICT");
  });

  test("a token acts with its creator's role at the time of use", async () => {
    const user = await createUser(worker, "editor");
    const { bearer } = await createToken(worker, user.auth);
    const issue = () => call(worker, "POST", "/api/licenses", { auth: bearer, body: issueRequest(`${worker.url}/`) });
    assert.equal((await issue()).status, 201);
    await call(worker, "PATCH", `/api/users/${user.username}`, { body: { role: "viewer" } });
    assertError(await issue(), 403, "FORBIDDEN");
    assert.equal((await call(worker, "GET", "/api/licenses", { auth: bearer })).status, 200, "still reads");
    await call(worker, "PATCH", `/api/users/${user.username}`, { body: { disabled: true } });
    assertError(await call(worker, "GET", "/api/licenses", { auth: bearer }), 401, "UNAUTHORIZED");
    await call(worker, "PATCH", `/api/users/${user.username}`, { body: { disabled: false, role: "editor" } });
    assert.equal((await issue()).status, 201, "back with the user");
    // Deleted and re-created under the same name: the old token does not come back.
    assert.equal((await call(worker, "DELETE", `/api/users/${user.username}`)).status, 200);
    await createUser(worker, "editor", user.username);
    assertError(await call(worker, "GET", "/api/licenses", { auth: bearer }), 401, "UNAUTHORIZED");
  });

  test("tokens belong to their creator; administrators see everyone's", async () => {
    const alice = await createUser(worker, "editor");
    const bob = await createUser(worker, "editor");
    const admin = await createUser(worker, "admin");
    const { token } = await createToken(worker, alice.auth, { description: "alice's" });
    assertError(await call(worker, "GET", `/api/tokens/${token.id}`, { auth: bob.auth }), 404, "NOT_FOUND");
    assertError(await call(worker, "DELETE", `/api/tokens/${token.id}`, { auth: bob.auth }), 404, "NOT_FOUND");
    assert.ok(!(await call(worker, "GET", "/api/tokens", { auth: bob.auth })).body.items.some((t) => t.id === token.id));
    assertError(await call(worker, "GET", "/api/tokens?all=true", { auth: bob.auth }), 403, "FORBIDDEN");
    const all = await call(worker, "GET", "/api/tokens?all=true", { auth: admin.auth });
    assert.ok(all.body.items.some((t) => t.id === token.id));
    assert.equal((await call(worker, "PATCH", `/api/tokens/${token.id}`, { auth: admin.auth, body: { status: "Disabled" } })).status, 200);
  });

  test("a token cannot make or change credentials, so its limits cannot be escaped", async () => {
    const admin = await createUser(worker, "admin");
    const { bearer } = await createToken(worker, admin.auth, { modules: ["tokens", "users", "licenses"] });
    const disabled = await createToken(worker, admin.auth);
    await call(worker, "PATCH", `/api/tokens/${disabled.token.id}`, { auth: admin.auth, body: { status: "Disabled" } });
    const before = (await call(worker, "GET", "/api/tokens", { auth: admin.auth })).body.items;
    assertError(await call(worker, "POST", "/api/tokens", { auth: bearer, body: {} }), 403, "FORBIDDEN");
    assertError(await call(worker, "PATCH", `/api/tokens/${disabled.token.id}`, { auth: bearer, body: { status: "Active" } }), 403, "FORBIDDEN");
    assertError(await call(worker, "PATCH", `/api/users/${admin.username}`, { auth: bearer, body: { password: "taken over by a token" } }), 403, "FORBIDDEN");
    assertError(await call(worker, "POST", "/api/vault-token", { auth: bearer }), 403, "FORBIDDEN");
    assert.equal((await call(worker, "GET", "/api/users", { auth: bearer })).status, 200, "reading is fine");
    assert.deepEqual(
      (await call(worker, "GET", "/api/tokens", { auth: admin.auth })).body.items.map((t) => [t.id, t.status]),
      before.map((t) => [t.id, t.status]),
    );
  });

  test("administrators cannot see or manage a server administrator's tokens", async () => {
    const admin = await createUser(worker, "admin");
    const editor = await createUser(worker, "editor");
    const mine = await createToken(worker, ADMIN_AUTH, { description: "server admin's" });
    const theirs = await createToken(worker, editor.auth, { description: "editor's" });
    assertError(await call(worker, "GET", `/api/tokens/${mine.token.id}`, { auth: admin.auth }), 404, "NOT_FOUND");
    assertError(await call(worker, "PATCH", `/api/tokens/${mine.token.id}`, { auth: admin.auth, body: { status: "Disabled" } }), 404, "NOT_FOUND");
    const all = (await call(worker, "GET", "/api/tokens?all=true", { auth: admin.auth })).body.items.map((t) => t.id);
    assert.ok(!all.includes(mine.token.id));
    assert.ok(all.includes(theirs.token.id));
    assert.equal((await call(worker, "GET", `/api/tokens/${theirs.token.id}`, { auth: admin.auth })).status, 200);
    assert.ok((await call(worker, "GET", "/api/tokens?all=true")).body.items.some((t) => t.id === mine.token.id), "a server admin sees all");
  });

  test("modules restrict a token within its creator's role", async () => {
    const admin = await createUser(worker, "admin");
    const { bearer } = await createToken(worker, admin.auth, { modules: ["licenses"] });
    assert.equal((await call(worker, "GET", "/api/licenses", { auth: bearer })).status, 200);
    assertError(await call(worker, "GET", "/api/users", { auth: bearer }), 403, "FORBIDDEN");
    assertError(await call(worker, "GET", "/api/tokens", { auth: bearer }), 403, "FORBIDDEN");
    const who = await me(bearer);
    assert.deepEqual(who.body.permissions, ["licenses:read", "licenses:write"]);
  });

  test("Agent tokens: administrators only, agent endpoints only", async () => {
    const admin = await createUser(worker, "admin");
    const editor = await createUser(worker, "editor");
    assertError(await call(worker, "POST", "/api/tokens", { auth: editor.auth, body: { scope: "Agent" } }), 403, "FORBIDDEN");
    const agent = await createToken(worker, admin.auth, { scope: "Agent", description: "agent on lic-server-1" });
    assert.equal(agent.token.scope, "Agent");
    const ping = await call(worker, "POST", "/api/agent/ping", { auth: agent.bearer });
    assert.equal(ping.status, 200);
    assert.equal(ping.body.token_id, agent.token.id);
    assertError(await call(worker, "GET", "/api/licenses", { auth: agent.bearer }), 403, "FORBIDDEN");
    assertError(await call(worker, "GET", "/api/licensing/check", { auth: agent.bearer }), 401, "UNAUTHORIZED");
    // Its description is edited by administrators only: demote its creator and they cannot.
    await call(worker, "PATCH", `/api/users/${admin.username}`, { body: { role: "editor" } });
    assertError(await call(worker, "PATCH", `/api/tokens/${agent.token.id}`, { auth: admin.auth, body: { description: "x" } }), 403, "FORBIDDEN");
    assertError(await call(worker, "POST", "/api/agent/ping", { auth: agent.bearer }), 403, "FORBIDDEN");
    assert.equal((await call(worker, "PATCH", `/api/tokens/${agent.token.id}`, { body: { description: "renamed by the server admin" } })).status, 200);
  });

  test("an expiring token stops at its expiry; none expire by default", async () => {
    const user = await createUser(worker, "viewer");
    const soon = now() + 5;
    const { bearer, token } = await createToken(worker, user.auth, { expires_at: soon });
    assert.equal(token.expires_at, soon);
    assert.equal((await me(bearer)).status, 200);
    assert.ok(Date.now() < soon * 1000, "used before its expiry (the machine answered within 5 s)");
    // Wait for the worker's own clock to reach the expiry, not a fixed time: from then on
    // every request is judged at or after it.
    await untilServerTime(worker, token.expires_at);
    const refused = await me(bearer);
    assertError(refused, 401, "UNAUTHORIZED", {}, "at its expiry");
    assert.match(refused.body.error.message, /expired/, "refused for its expiry");
    const lasting = await createToken(worker, user.auth);
    assert.equal(lasting.token.expires_at, null, "none expire by default");
    assert.equal((await me(lasting.bearer)).status, 200);
  });

  test("bad input is 4xx and creates nothing", async () => {
    const user = await createUser(worker, "viewer");
    const before = (await call(worker, "GET", "/api/tokens", { auth: user.auth })).body.items;
    const cases = [
      [{ raw: "{" }, 400, "MALFORMED_JSON"],
      [{ body: { scope: "Root" } }, 400, "INVALID_BODY"],
      [{ body: { modules: ["everything"] } }, 400, "INVALID_BODY"],
      [{ body: { description: 5 } }, 400, "INVALID_BODY"],
      [{ body: { secret: "mine" } }, 400, "INVALID_BODY"],
      [{ body: { description: "x".repeat(201) } }, 400, "INVALID_FIELD"],
      [{ body: { expires_at: 1000 } }, 400, "INVALID_FIELD"],
      [{ raw: JSON.stringify({ description: "x".repeat(70_000) }) }, 413, "PAYLOAD_TOO_LARGE"],
    ];
    for (const [options, status, code] of cases) {
      assertError(await call(worker, "POST", "/api/tokens", { auth: user.auth, ...options }), status, code);
    }
    assert.deepEqual((await call(worker, "GET", "/api/tokens", { auth: user.auth })).body.items, before);
    assertError(await call(worker, "GET", "/api/tokens/nope", { auth: user.auth }), 404, "NOT_FOUND");
    assertError(await call(worker, "PATCH", "/api/tokens/nope", { auth: user.auth, body: {} }), 404, "NOT_FOUND");
    const created = await createToken(worker, user.auth);
    const { token } = created;
    assertError(await call(worker, "PATCH", `/api/tokens/${token.id}`, { auth: user.auth, body: { status: "Deleted" } }), 400, "INVALID_FIELD");
    assertError(await call(worker, "PATCH", `/api/tokens/${token.id}`, { auth: user.auth, body: { status: "Gone" } }), 400, "INVALID_BODY");
    for (const bearer of ["Bearer ", "Bearer tsr_short", `Bearer tsr_${"A".repeat(43)}`, `Bearer tsv_${"A".repeat(43)}`, `Bearer tsr_${"A".repeat(65)}`]) {
      assertError(await me(bearer), 401, "UNAUTHORIZED");
    }
    // A real secret with one character of its tag changed is as unknown as any forgery.
    const last = created.secret.at(-2) === "A" ? "B" : "A";
    assertError(await me(`Bearer ${created.secret.slice(0, -2)}${last}${created.secret.at(-1)}`), 401, "UNAUTHORIZED");
  });

  test("forged bearer tokens are refused by their tag, before any object call (timed beside /api/health)", async () => {
    // No black-box count of object calls exists; their cost does: 200 forgeries answered
    // like 200 health checks, not like 200 calls to the one accounts object.
    const forged = Array.from({ length: 200 }, () => `Bearer tsr_${randomBytes(48).toString("base64url").slice(0, 65)}`);
    const time = async (fn) => {
      const t = performance.now();
      for (let i = 0; i < 200; i++) await fn(i);
      return performance.now() - t;
    };
    const health = await time(() => call(worker, "GET", "/api/health", { auth: null }));
    const forgeries = await time(async (i) => assertError(await me(forged[i]), 401, "UNAUTHORIZED"));
    console.log(`# 200 forged bearer tokens: ${forgeries.toFixed(0)} ms; 200 GET /api/health: ${health.toFixed(0)} ms (${(forgeries / health).toFixed(2)}x)`);
  });
});

describe("the vault access token", () => {
  test("generate (shown once), use, regenerate (the old one stops at once), delete", async () => {
    const admin = await createUser(worker, "admin");
    assert.deepEqual((await call(worker, "GET", "/api/vault-token", { auth: admin.auth })).body, {
      exists: false, prefix: null, created_at: null, created_by: null,
    });
    const first = await call(worker, "POST", "/api/vault-token", { auth: admin.auth });
    assert.equal(first.status, 201);
    assert.match(first.body.secret, /^tsv_/);
    const info = (await call(worker, "GET", "/api/vault-token")).body;
    assert.deepEqual([info.exists, info.prefix, info.created_by], [true, first.body.secret.slice(0, 12), admin.username]);
    assert.ok(!JSON.stringify(info).includes(first.body.secret.slice(12)), "never its value");

    const vault1 = `Bearer ${first.body.secret}`;
    assert.equal((await call(worker, "GET", "/api/licenses", { auth: vault1 })).status, 200);
    assertError(await call(worker, "POST", "/api/licenses", { auth: vault1, body: issueRequest(`${worker.url}/`) }), 403, "FORBIDDEN");
    assertError(await call(worker, "GET", "/api/users", { auth: vault1 }), 403, "FORBIDDEN");
    assert.equal((await me(vault1)).body.via, "vault_token");

    const second = await call(worker, "POST", "/api/vault-token", { auth: ADMIN_AUTH });
    assertError(await call(worker, "GET", "/api/licenses", { auth: vault1 }), 401, "UNAUTHORIZED");
    const vault2 = `Bearer ${second.body.secret}`;
    assert.equal((await call(worker, "GET", "/api/licenses", { auth: vault2 })).status, 200);

    const deleted = await call(worker, "DELETE", "/api/vault-token", { auth: admin.auth });
    assert.equal(deleted.body.exists, false);
    assertError(await call(worker, "GET", "/api/licenses", { auth: vault2 }), 401, "UNAUTHORIZED");
  });

  test("it stops when the administrator who generated it is disabled or deleted, or demoted", async () => {
    const licenses = (auth) => call(worker, "GET", "/api/licenses", { auth });
    for (const change of [{ disabled: true }, { role: "editor" }, "delete"]) {
      const admin = await createUser(worker, "admin");
      const made = await call(worker, "POST", "/api/vault-token", { auth: admin.auth });
      const vault = `Bearer ${made.body.secret}`;
      assert.equal((await licenses(vault)).status, 200);
      const res =
        change === "delete"
          ? await call(worker, "DELETE", `/api/users/${admin.username}`)
          : await call(worker, "PATCH", `/api/users/${admin.username}`, { body: change });
      assert.ok([200, 204].includes(res.status), JSON.stringify(res.body));
      assertError(await licenses(vault), 401, "UNAUTHORIZED", {}, JSON.stringify(change));
    }
    // Another administrator's new one works.
    const fresh = await call(worker, "POST", "/api/vault-token", { auth: ADMIN_AUTH });
    assert.equal((await licenses(`Bearer ${fresh.body.secret}`)).status, 200);
  });

  test("only administrators generate or delete it", async () => {
    const editor = await createUser(worker, "editor");
    assertError(await call(worker, "GET", "/api/vault-token", { auth: editor.auth }), 403, "FORBIDDEN");
    assertError(await call(worker, "POST", "/api/vault-token", { auth: editor.auth }), 403, "FORBIDDEN");
    assertError(await call(worker, "DELETE", "/api/vault-token", { auth: editor.auth }), 403, "FORBIDDEN");
    assertError(await call(worker, "POST", "/api/vault-token", { auth: null }), 401, "UNAUTHORIZED");
  });
});

describe("users and roles", () => {
  test("edit role, disable, reset password, delete", async () => {
    const u = await createUser(worker, "viewer");
    const promoted = await call(worker, "PATCH", `/api/users/${u.username}`, { body: { role: "editor" } });
    assert.deepEqual([promoted.status, promoted.body.role], [200, "editor"]);
    assert.equal((await me(u.auth)).body.role, "editor");
    await call(worker, "PATCH", `/api/users/${u.username}`, { body: { disabled: true } });
    assertError(await me(u.auth), 403, "FORBIDDEN");
    await call(worker, "PATCH", `/api/users/${u.username}`, { body: { disabled: false, password: "a brand new password" } });
    assertError(await me(u.auth), 401, "UNAUTHORIZED");
    assert.equal((await me(`Basic ${Buffer.from(`${u.username}:a brand new password`).toString("base64")}`)).status, 200);
    assert.equal((await call(worker, "GET", `/api/users/${u.username}`)).body.role, "editor");
    assert.equal((await call(worker, "DELETE", `/api/users/${u.username}`)).status, 200);
    assertError(await call(worker, "GET", `/api/users/${u.username}`), 404, "NOT_FOUND");
    assertError(await call(worker, "DELETE", `/api/users/${u.username}`), 404, "NOT_FOUND");
  });

  test("the last server administrator cannot be demoted, disabled or deleted", async () => {
    const users = (await call(worker, "GET", "/api/users")).body.items;
    assert.equal(users.filter((u) => u.role === "server_admin" && !u.disabled).length, 1);
    for (const body of [{ role: "admin" }, { disabled: true }]) {
      assertError(await call(worker, "PATCH", "/api/users/admin", { body }), 409, "CONFLICT");
    }
    assertError(await call(worker, "DELETE", "/api/users/admin"), 409, "CONFLICT");
    // With a second one, either may go.
    const second = await createUser(worker, "server_admin");
    assert.equal((await call(worker, "PATCH", `/api/users/${second.username}`, { body: { role: "admin" } })).status, 200);
    assertError(await call(worker, "PATCH", "/api/users/admin", { body: { role: "admin" } }), 409, "CONFLICT");
    assert.equal((await me(ADMIN_AUTH)).body.role, "server_admin");
  });

  test("administrators cannot make or touch server administrators", async () => {
    const admin = await createUser(worker, "admin");
    const viewer = await createUser(worker, "viewer");
    assertError(await call(worker, "POST", "/api/users", { auth: admin.auth, body: { username: "sneaky", password: "long enough password", role: "server_admin" } }), 403, "FORBIDDEN");
    assertError(await call(worker, "PATCH", `/api/users/${viewer.username}`, { auth: admin.auth, body: { role: "server_admin" } }), 403, "FORBIDDEN");
    assertError(await call(worker, "PATCH", "/api/users/admin", { auth: admin.auth, body: { disabled: true } }), 403, "FORBIDDEN");
    assertError(await call(worker, "DELETE", "/api/users/admin", { auth: admin.auth }), 403, "FORBIDDEN");
    assert.equal((await call(worker, "PATCH", `/api/users/${viewer.username}`, { auth: admin.auth, body: { role: "editor" } })).status, 200);
  });

  test("two administrators demoting the last two server administrators at once: one stays", async () => {
    const a = await createUser(worker, "server_admin");
    const b = await createUser(worker, "server_admin");
    // Only a and b (and the bootstrap admin) are server administrators; demote the
    // bootstrap admin first, so a and b are the last two.
    const before = (await call(worker, "GET", "/api/users?limit=1000")).body.items.filter((u) => u.role === "server_admin" && !u.disabled);
    for (const u of before.filter((u) => ![a.username, b.username, "admin"].includes(u.username))) {
      await call(worker, "PATCH", `/api/users/${u.username}`, { body: { role: "admin" } });
    }
    assert.equal((await call(worker, "PATCH", "/api/users/admin", { auth: a.auth, body: { role: "admin" } })).status, 200);
    const answers = await Promise.all([
      call(worker, "PATCH", `/api/users/${a.username}`, { auth: b.auth, body: { role: "admin" } }),
      call(worker, "PATCH", `/api/users/${b.username}`, { auth: a.auth, body: { disabled: true } }),
    ]);
    // The loser is refused either way: 409 (the last one stays) or 403 (the actor's own
    // role or status, read when the change is written, no longer allows it).
    const statuses = answers.map((r) => r.status).sort();
    assert.ok(statuses[0] === 200 && [403, 409].includes(statuses[1]), JSON.stringify(answers.map((r) => r.body)));
    const left = (await call(worker, "GET", "/api/users?limit=1000", { auth: answers[0].status === 200 ? b.auth : a.auth })).body.items;
    assert.equal(left.filter((u) => u.role === "server_admin" && !u.disabled).length, 1, "exactly one remains");
    // Restore the bootstrap admin for the tests that follow.
    const survivor = answers[0].status === 200 ? b : a;
    assert.equal((await call(worker, "PATCH", "/api/users/admin", { auth: survivor.auth, body: { role: "server_admin" } })).status, 200);
  });

  test("a disable racing edits stays; regenerations racing leave one vault secret", async () => {
    const user = await createUser(worker, "admin");
    const t = await createToken(worker, user.auth);
    const answers = await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => call(worker, "PATCH", `/api/tokens/${t.token.id}`, { auth: user.auth, body: { description: `edit ${i}` } })),
      call(worker, "PATCH", `/api/tokens/${t.token.id}`, { auth: user.auth, body: { status: "Disabled" } }),
      ...Array.from({ length: 10 }, (_, i) => call(worker, "PATCH", `/api/tokens/${t.token.id}`, { auth: user.auth, body: { description: `later ${i}` } })),
    ]);
    assert.ok(answers.every((r) => r.status === 200));
    assert.equal((await call(worker, "GET", `/api/tokens/${t.token.id}`, { auth: user.auth })).body.status, "Disabled");
    assertError(await me(t.bearer), 401, "UNAUTHORIZED");

    const secrets = (await Promise.all(Array.from({ length: 10 }, () => call(worker, "POST", "/api/vault-token", { auth: user.auth })))).map((r) => r.body.secret);
    const working = [];
    for (const s of secrets) {
      if ((await call(worker, "GET", "/api/vault/products", { auth: `Bearer ${s}` })).status === 200) working.push(s);
    }
    assert.equal(working.length, 1, "one vault secret works; no regeneration left an orphan");
    const info = (await call(worker, "GET", "/api/vault-token", { auth: user.auth })).body;
    assert.equal(info.prefix, working[0].slice(0, 12));
  });

  test("bad user changes are 4xx", async () => {
    const u = await createUser(worker, "viewer");
    assertError(await call(worker, "PATCH", `/api/users/${u.username}`, { body: { role: "emperor" } }), 400, "INVALID_BODY");
    assertError(await call(worker, "PATCH", `/api/users/${u.username}`, { body: { password: "short" } }), 400, "INVALID_FIELD");
    assertError(await call(worker, "PATCH", `/api/users/${u.username}`, { body: { nickname: "x" } }), 400, "INVALID_BODY");
    assertError(await call(worker, "PATCH", "/api/users/nobody", { body: {} }), 404, "NOT_FOUND");
    assert.equal((await call(worker, "GET", `/api/users/${u.username}`)).body.role, "viewer");
  });
});
