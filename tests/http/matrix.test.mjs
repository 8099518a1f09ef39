// The authorisation matrix: every route × every role × {Basic, API token, Agent token}
// plus {the vault access token, disabled token, deleted token, no auth}, each asserting
// the exact status.
//
// The expected statuses come from the policy written out again below, independently
// of the Rust table, so a drift in either shows up here. Each route is called with a
// request that, once allowed, has a known outcome that changes nothing that matters
// (an unknown id → 404, an invalid body → 400, ...).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { call, createToken, createUser } from "../support/api.mjs";
import { ADMIN_AUTH } from "../support/secrets.mjs";
import { startWorker } from "../support/wrangler.mjs";

const ROLES = {
  server_admin: "*",
  admin: ["licenses:read", "licenses:write", "keys:read", "users:read", "users:write", "tokens:write", "tokens:admin", "vault:read", "vault:write", "agent:write", "seats:read", "seats:write", "reports:read", "audit:read"],
  editor: ["licenses:read", "licenses:write", "keys:read", "tokens:write", "seats:read", "seats:write", "reports:read"],
  viewer: ["licenses:read", "keys:read", "tokens:write", "seats:read", "reports:read"],
};
// The vault access token (seeds 001/002): license data and seats, nothing else.
const VAULT = ["licenses:read", "seats:read", "seats:write", "reports:read"];
const grants = (role, permission) => ROLES[role] === "*" || ROLES[role].includes(permission);
// Making or changing credentials needs a password sign-in, whatever a token's role.
const CREDENTIALS = ["users:write", "tokens:write", "tokens:admin", "vault:write", "keys:write"];

// [method, path, permission (null: public; "any": any signed-in caller), Basic only?,
//  body, status once allowed, the OpenAPI path if it differs]
const ROUTES = [
  ["GET", "/api/health", null, false, undefined, 200],
  ["GET", "/api/openapi.json", null, false, undefined, 200],
  ["GET", "/.well-known/jwks.json", null, false, undefined, 200],
  ["GET", "/api/me", "any", false, undefined, 200],
  // Signing in takes a body, not credentials: a wrong password is 401 for everyone.
  // (a new name each time: ten failures for one name would lock it, as they should)
  ["POST", "/api/session", null, false, () => ({ username: `nobody-${Math.random().toString(36).slice(2)}`, password: "not the password" }), 401],
  ["DELETE", "/api/session", null, false, undefined, 204],
  ["GET", "/api/users", "users:read", false, undefined, 200],
  ["POST", "/api/users", "users:write", false, { username: "Bad Name" }, 400],
  ["GET", "/api/users/nobody", "users:read", false, undefined, 404, "/api/users/{username}"],
  ["PATCH", "/api/users/nobody", "users:write", false, {}, 404, "/api/users/{username}"],
  ["DELETE", "/api/users/nobody", "users:write", false, undefined, 404, "/api/users/{username}"],
  ["GET", "/api/tokens", "tokens:write", false, undefined, 200],
  ["POST", "/api/tokens", "tokens:write", false, { scope: "Root" }, 400],
  ["GET", "/api/tokens/nope", "tokens:write", false, undefined, 404, "/api/tokens/{id}"],
  ["PATCH", "/api/tokens/nope", "tokens:write", false, {}, 404, "/api/tokens/{id}"],
  ["DELETE", "/api/tokens/nope", "tokens:write", false, undefined, 404, "/api/tokens/{id}"],
  ["GET", "/api/vault-token", "vault:read", false, undefined, 200],
  ["POST", "/api/vault-token", "vault:write", false, undefined, 201],
  ["DELETE", "/api/vault-token", "vault:write", false, undefined, 200],
  ["POST", "/api/agent/ping", "agent:write", false, undefined, 200],
  ["POST", "/api/agent/events", "agent:write", false, { events: [] }, 400],
  ["GET", "/api/keys", "keys:read", false, undefined, 200],
  ["POST", "/api/keys/rotate", "keys:write", false, undefined, 201],
  ["POST", "/api/keys/nope/retire", "keys:write", false, undefined, 404, "/api/keys/{kid}/retire"],
  ["GET", "/api/licenses", "licenses:read", false, undefined, 200],
  ["POST", "/api/licenses", "licenses:write", false, {}, 400],
  ["GET", "/api/licenses/nope", "licenses:read", false, undefined, 404, "/api/licenses/{lid}"],
  ["POST", "/api/licenses/nope/revoke", "licenses:write", false, undefined, 404, "/api/licenses/{lid}/revoke"],
  ["POST", "/api/licenses/nope/reissue", "licenses:write", false, undefined, 404, "/api/licenses/{lid}/reissue"],
  ["GET", "/api/licensing/check", "licensing:read", true, undefined, 200],
  ["GET", "/api/licensing/applied", "licensing:read", true, undefined, 200],
  ["POST", "/api/licensing/token", "licensing:write", true, { token: "not-a-license" }, 400],
  ["POST", "/api/licensing/token/renew", "licensing:write", true, {}, 404],
  ["DELETE", "/api/licensing/token", "licensing:delete", true, { instance: "https://elsewhere.example/" }, 422],
  // App-facing: a token in the body, or presented with a DPoP proof, is the credential;
  // an administrator's Authorization is no proof (401), and a body token is refused (400).
  ["POST", "/api/licenses/validate", null, false, { token: "not-a-license" }, 200],
  ["POST", "/api/seats/checkout", null, false, { license: "x", product: "p", user: "u" }, 401],
  ["POST", "/api/seats/heartbeat", null, false, { token: "x" }, 400],
  ["POST", "/api/seats/release", null, false, { token: "x" }, 400],
  ["POST", "/api/machines/activate", null, false, { license: "x" }, 401],
  // A machine deactivates itself with DPoP; an administrator with seats:write.
  ["DELETE", "/api/machines/nope", "seats:write", false, undefined, 404, "/api/machines/{id}"],
  // The vault: reads that find nothing, and writes refused for their input.
  ["GET", "/api/vault/directory", "seats:read", false, undefined, 200],
  ["GET", "/api/vault/products", "seats:read", false, undefined, 200],
  ["GET", "/api/vault/products/nope/licenses", "seats:read", false, undefined, 200, "/api/vault/products/{product}/licenses"],
  ["POST", "/api/vault/products/nope/disconnect", "seats:write", false, { x: 1 }, 400, "/api/vault/products/{product}/disconnect"],
  ["POST", "/api/vault/products/nope/connect", "seats:write", false, { x: 1 }, 400, "/api/vault/products/{product}/connect"],
  ["GET", "/api/vault/users", "seats:read", false, undefined, 200],
  ["GET", "/api/vault/users/nobody/licenses", "seats:read", false, undefined, 200, "/api/vault/users/{user}/licenses"],
  ["DELETE", "/api/vault/users/nobody/licenses?block=maybe", "seats:write", false, undefined, 400, "/api/vault/users/{user}/licenses"],
  ["DELETE", "/api/vault/users/nobody/licenses/nope", "seats:write", false, undefined, 404, "/api/vault/users/{user}/licenses/{lease}"],
  ["GET", "/api/vault/blocks", "seats:read", false, undefined, 200],
  ["DELETE", "/api/vault/blocks/%0A", "seats:write", false, undefined, 400, "/api/vault/blocks/{user}"],
  ["GET", "/api/vault/licenses/nope", "seats:read", false, undefined, 404, "/api/vault/licenses/{lid}"],
  ["GET", "/api/vault/licenses/nope/events", "seats:read", false, undefined, 404, "/api/vault/licenses/{lid}/events"],
  ["GET", "/api/vault/licenses/nope/machines", "seats:read", false, undefined, 404, "/api/vault/licenses/{lid}/machines"],
  // Reports and the audit log: reads over an empty range.
  ["GET", "/api/vault/reports/usage?from=0&to=1", "reports:read", false, undefined, 200, "/api/vault/reports/usage"],
  ["GET", "/api/vault/reports/denials?from=0&to=1", "reports:read", false, undefined, 200, "/api/vault/reports/denials"],
  ["GET", "/api/audit?from=0&to=1", "audit:read", false, undefined, 200, "/api/audit"],
];

function expected([, , permission, basicOnly, , ok], role, kind) {
  if (permission === null) return ok;
  if (kind === "none" || kind === "disabled" || kind === "deleted") return 401;
  if (kind !== "basic" && basicOnly) return 401;
  if (permission === "any") return ok;
  if (kind === "vault") return VAULT.includes(permission) ? ok : 403;
  if (kind === "agent") return permission === "agent:write" && grants(role, permission) ? ok : 403;
  if (kind === "api" && CREDENTIALS.includes(permission)) return 403;
  return grants(role, permission) ? ok : 403;
}

let worker;
const credentials = {}; // role → { basic, api, agent }
let disabledToken;
let deletedToken;
before(async () => {
  worker = await startWorker();
  for (const role of Object.keys(ROLES)) {
    // Agent tokens are made by administrators: make each as one, then set the role,
    // which also proves a demoted creator's Agent token narrows with them.
    const user = await createUser(worker, role === "server_admin" ? "server_admin" : "admin");
    const api = await createToken(worker, user.auth);
    const agent = await createToken(worker, user.auth, { scope: "Agent" });
    if (role !== "server_admin" && role !== "admin") {
      const res = await call(worker, "PATCH", `/api/users/${user.username}`, { auth: ADMIN_AUTH, body: { role } });
      assert.equal(res.status, 200);
    }
    credentials[role] = { basic: user.auth, api: api.bearer, agent: agent.bearer };
  }
  const owner = await createUser(worker, "admin");
  const d = await createToken(worker, owner.auth);
  await call(worker, "PATCH", `/api/tokens/${d.token.id}`, { auth: owner.auth, body: { status: "Disabled" } });
  disabledToken = d.bearer;
  const x = await createToken(worker, owner.auth);
  await call(worker, "DELETE", `/api/tokens/${x.token.id}`, { auth: owner.auth });
  deletedToken = x.bearer;
});
after(async () => {
  await worker?.stop();
});

for (const route of ROUTES) {
  const [method, path, , , body] = route;
  test(`${method} ${path}`, async () => {
    // A fresh vault token for each route, first: the matrix itself regenerates and
    // deletes it.
    const vault = await call(worker, "POST", "/api/vault-token", { auth: ADMIN_AUTH });
    assert.equal(vault.status, 201);
    const rows = [["-", "vault", `Bearer ${vault.body.secret}`]];
    for (const role of Object.keys(ROLES)) {
      for (const kind of ["basic", "api", "agent"]) {
        rows.push([role, kind, credentials[role][kind]]);
      }
    }
    rows.push(["-", "disabled", disabledToken], ["-", "deleted", deletedToken], ["-", "none", null]);
    const mismatches = [];
    for (const [role, kind, auth] of rows) {
      const res = await call(worker, method, path, { auth, body: typeof body === "function" ? body() : body });
      const want = expected(route, role, kind);
      if (res.status !== want) mismatches.push(`${role}/${kind}: got ${res.status}, want ${want} ${JSON.stringify(res.body).slice(0, 120)}`);
      if (res.status >= 400) assert.equal(typeof res.body?.error?.code, "string", `${role}/${kind}: the error envelope`);
    }
    assert.deepEqual(mismatches, []);
  });
}

test("the matrix covers every route in the OpenAPI document", async () => {
  const doc = (await call(worker, "GET", "/api/openapi.json", { auth: null })).body;
  const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)).sort();
  const covered = ROUTES.map(([m, p, , , , , doc]) => `${m} ${doc ?? p}`).sort();
  assert.deepEqual(covered, documented);
});
