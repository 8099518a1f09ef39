// The console's session (issue 9, finding 2): a password exchanged for an HttpOnly,
// Secure, SameSite=Strict cookie; it counts as a password sign-in; sign-out, a password
// change, a disable and its expiry each end it; a cross-site request cannot use it.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { assertError, call, createToken, createUser, now, untilServerTime } from "../support/api.mjs";
import { ADMIN } from "../support/secrets.mjs";
import { envFile } from "../support/secrets.mjs";
import { startWorker } from "../support/wrangler.mjs";

let worker;
before(async () => {
  worker = await startWorker();
});
after(async () => {
  await worker?.stop();
});

/** Sign in; returns `{ cookie, setCookie, res }`. */
async function signIn(w, username, password) {
  const res = await call(w, "POST", "/api/session", { auth: null, body: { username, password } });
  const setCookie = res.headers.get("set-cookie") ?? "";
  const cookie = setCookie.split(";")[0];
  return { res, setCookie, cookie };
}
const withCookie = (w, cookie, method, path, options = {}) =>
  call(w, method, path, { auth: null, ...options, headers: { Cookie: cookie, ...(options.headers ?? {}) } });

describe("ok", () => {
  test("a password becomes a session cookie the browser cannot hand to scripts or other sites", async () => {
    const { res, setCookie, cookie } = await signIn(worker, ADMIN.username, ADMIN.password);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual([res.body.username, res.body.via], [ADMIN.username, "session"]);
    for (const attribute of ["HttpOnly", "Secure", "SameSite=Strict", "Path=/api", "Max-Age=28800"]) {
      assert.ok(setCookie.includes(attribute), `${attribute} in ${setCookie}`);
    }
    assert.ok(!setCookie.includes(ADMIN.password));
    const me = await withCookie(worker, cookie, "GET", "/api/me");
    assert.deepEqual([me.status, me.body.via], [200, "session"]);
    // A server administrator's session counts as their password sign-in (seed 004).
    assert.equal((await withCookie(worker, cookie, "GET", "/api/licensing/check")).status, 200);
    assert.equal((await withCookie(worker, cookie, "POST", "/api/keys/rotate")).status, 201, "a credential operation");
    // ...but not from another site.
    assertError(
      await withCookie(worker, cookie, "POST", "/api/vault-token", { headers: { Origin: "https://evil.example", "Sec-Fetch-Site": "cross-site" } }),
      403,
      "CROSS_SITE_REQUEST",
    );
    // Signing out ends it; signing out again is still 204.
    const out = await withCookie(worker, cookie, "DELETE", "/api/session");
    assert.equal(out.status, 204);
    assert.ok((out.headers.get("set-cookie") ?? "").includes("Max-Age=0"));
    assertError(await withCookie(worker, cookie, "GET", "/api/me"), 401, "UNAUTHORIZED");
    assert.equal((await withCookie(worker, cookie, "DELETE", "/api/session")).status, 204);
  });

  test("a password change or a disable ends the user's sessions at once", async () => {
    const u = await createUser(worker, "editor");
    const first = await signIn(worker, u.username, u.password);
    const second = await signIn(worker, u.username, u.password);
    assert.equal((await call(worker, "PATCH", `/api/users/${u.username}`, { body: { password: "a fresh password 42" } })).status, 200);
    assertError(await withCookie(worker, first.cookie, "GET", "/api/me"), 401, "UNAUTHORIZED");
    assertError(await withCookie(worker, second.cookie, "GET", "/api/me"), 401, "UNAUTHORIZED");
    const third = await signIn(worker, u.username, "a fresh password 42");
    assert.equal((await withCookie(worker, third.cookie, "GET", "/api/me")).status, 200);
    await call(worker, "PATCH", `/api/users/${u.username}`, { body: { disabled: true } });
    assertError(await withCookie(worker, third.cookie, "GET", "/api/me"), 401, "UNAUTHORIZED");
    await call(worker, "PATCH", `/api/users/${u.username}`, { body: { disabled: false } });
    assertError(await withCookie(worker, third.cookie, "GET", "/api/me"), 401, "UNAUTHORIZED", {}, "re-enabling does not revive it");
  });
});

describe("bad input", () => {
  test("wrong passwords, bad bodies and forged cookies are refused and start nothing", async () => {
    assertError((await signIn(worker, ADMIN.username, "wrong")).res, 401, "UNAUTHORIZED");
    assert.equal((await signIn(worker, ADMIN.username, "wrong")).setCookie, "");
    assertError(await call(worker, "POST", "/api/session", { auth: null, body: { username: "admin" } }), 400, "INVALID_BODY");
    assertError(await call(worker, "POST", "/api/session", { auth: null, raw: "username=admin&password=x", contentType: "application/x-www-form-urlencoded" }), 415, "UNSUPPORTED_MEDIA_TYPE");
    assertError(await call(worker, "POST", "/api/session", { auth: null, raw: "{" }), 400, "MALFORMED_JSON");
    for (const cookie of ["tessera_session=forged", "tessera_session=", `tessera_session=${"x".repeat(5000)}`]) {
      assertError(await withCookie(worker, cookie, "GET", "/api/me"), 401, "UNAUTHORIZED");
    }
  });

  test("API tokens stay out of the licensing endpoints, session or not", async () => {
    const { bearer } = await createToken(worker);
    assertError(await call(worker, "GET", "/api/licensing/check", { auth: bearer }), 401, "UNAUTHORIZED");
  });
});

describe("expiry", () => {
  test("a session ends when its time is up", async () => {
    const short = await startWorker({ envFile: envFile({ SESSION_SECONDS: "5" }) });
    try {
      // The session starts at the worker's clock while it answers the sign-in: no earlier
      // than `asked`, no later than `answered`; it ends Max-Age seconds after.
      const asked = now();
      const { cookie, setCookie } = await signIn(short, ADMIN.username, ADMIN.password);
      const answered = now();
      const maxAge = Number(/Max-Age=(\d+)/.exec(setCookie)?.[1]);
      assert.equal(maxAge, 5, setCookie);
      assert.equal((await withCookie(short, cookie, "GET", "/api/me")).status, 200);
      assert.ok(Date.now() < (asked + maxAge) * 1000, "asked before the session could have ended");
      // Wait for the worker's own clock to pass the latest end, not a fixed time.
      await untilServerTime(short, answered + maxAge);
      assertError(await withCookie(short, cookie, "GET", "/api/me"), 401, "UNAUTHORIZED", {}, "after its time");
    } finally {
      await short.stop();
    }
  });
});
