// A small HTTP client for the black-box tests, and assertions on the error envelope.
import assert from "node:assert/strict";
import { ADMIN_AUTH, basic } from "./secrets.mjs";

/**
 * Call the API. `body` is sent as JSON; `raw` as is (with `contentType`, default JSON).
 * `auth`: an Authorization header value; default the bootstrap admin; `null` for none.
 * Returns `{ status, headers, body }`, with `body` parsed when the answer is JSON.
 */
export async function call(worker, method, path, { auth = ADMIN_AUTH, body, raw, contentType, headers = {} } = {}) {
  const h = { ...headers };
  if (auth) h.Authorization = auth;
  let payload;
  if (raw !== undefined) {
    payload = raw;
    h["Content-Type"] = contentType ?? "application/json";
  } else if (body !== undefined) {
    payload = JSON.stringify(body);
    h["Content-Type"] = "application/json";
  }
  const res = await fetch(`${worker.url}${path}`, { method, headers: h, body: payload });
  const text = await res.text();
  let parsed = text;
  if ((res.headers.get("content-type") ?? "").startsWith("application/json")) {
    parsed = JSON.parse(text);
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

/**
 * Assert a response is the error envelope with `status` and `code`, and that its `error`
 * object has each member of `extra` (e.g. `{ field: "limit" }`, `{ reason: "REVOKED" }`).
 * `message` names the case: every failure message starts with it.
 */
export function assertError(res, status, code, extra = {}, message, ...rest) {
  if (extra === null || typeof extra !== "object" || Array.isArray(extra)) {
    throw new TypeError(`assertError: the fourth argument is the error's expected members, not ${JSON.stringify(extra)}`);
  }
  if (message !== undefined && typeof message !== "string") {
    throw new TypeError(`assertError: the fifth argument is a message, not ${JSON.stringify(message)}`);
  }
  if (rest.length > 0) throw new TypeError("assertError takes at most five arguments");
  const what = message ? `${message}: ` : "";
  const body = JSON.stringify(res.body);
  assert.equal(res.status, status, `${what}expected ${status} ${code}, got ${res.status} ${body}`);
  assert.ok(res.body !== null && typeof res.body === "object", `${what}an error body is JSON`);
  assert.equal(res.body.error?.code, code, `${what}${body}`);
  assert.ok(res.body.error.message.length > 0, `${what}an error has a message`);
  for (const [k, v] of Object.entries(extra)) assert.equal(res.body.error[k], v, `${what}error.${k} in ${body}`);
}

/** Create a user with `role` (as the bootstrap admin) and return its Basic header. */
export async function userWithRole(worker, role) {
  return (await createUser(worker, role)).auth;
}

/** A day in seconds, and now in seconds. */
export const DAY = 86_400;
export const now = () => Math.floor(Date.now() / 1000);

/** A valid issue request for `instance`. */
export function issueRequest(instance, overrides = {}) {
  return {
    company: "Example Labs",
    account: "acct-42",
    instance,
    products: ["tessera-pro"],
    expires_at: now() + 365 * DAY,
    included_users: 15,
    ...overrides,
  };
}

/**
 * Wait until the worker's own clock (`GET /api/health`'s `time`) reads `t` (Unix seconds)
 * or later; every request after that is judged at `t` or later. Fails after
 * `timeoutMs` beyond the time `t` is due on this machine's clock.
 */
export async function untilServerTime(worker, t, { timeoutMs = 30_000 } = {}) {
  const deadline = Math.max(Date.now(), t * 1000) + timeoutMs;
  for (;;) {
    const res = await fetch(`${worker.url}/api/health`);
    assert.equal(res.status, 200, "GET /api/health");
    const { time } = await res.json();
    assert.equal(typeof time, "number", "the health answer carries the worker's time");
    if (time >= t) return time;
    if (Date.now() > deadline) assert.fail(`the worker's clock did not reach ${t} (it reads ${time})`);
    await new Promise((r) => setTimeout(r, Math.min(200, Math.max(20, t * 1000 - Date.now()))));
  }
}

/** Create an API (or Agent) token as `auth`; returns `{ token, secret, bearer }`. */
export async function createToken(worker, auth, body = {}) {
  const res = await call(worker, "POST", "/api/tokens", { auth, body });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return { ...res.body, bearer: `Bearer ${res.body.secret}` };
}

/** Create a user; returns `{ username, password, auth }`. */
export async function createUser(worker, role, username = `${role.replace("_", "-")}-${Math.random().toString(36).slice(2, 8)}`) {
  const password = `${username}-password-123`;
  const res = await call(worker, "POST", "/api/users", { body: { username, password, role } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return { username, password, auth: basic(username, password) };
}
