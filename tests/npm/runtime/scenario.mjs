// What an app does with the client, as one module every runtime runs the same way:
// Node, Deno and Bun (main.mjs), a Cloudflare Worker (worker.mjs) and Chromium (a page
// with an import map). Only web APIs and the installed package: each host passes its
// storage, and the wasm where it must be imported (Workers). Answers plain JSON for the
// Node test to assert.
import { Installation, SeatClient, Validator, init } from "tessera-license";

const pick = (r) => ({ valid: r.valid, code: r.code, jkt: r.claims?.cnf?.jkt ?? null, gen: r.claims?.gen ?? null });

/**
 * Against the running API: load (or make) the installation twice from `makeStorage()`,
 * check out, heartbeat, validate offline (bound to this installation, and to another),
 * release, then present the released token once more.
 */
export async function online({ api, license, product, user, host, jwks, issuer, makeStorage, wasm }) {
  await init(wasm);
  const installation = await Installation.load({ storage: makeStorage() });
  const reloaded = await Installation.load({ storage: makeStorage() });
  const validator = new Validator(jwks, { issuer, product });
  const lost = [];
  const client = new SeatClient({ url: api, license, product, user, host, installation, validator, onLost: (code) => lost.push(code) });

  const first = await client.checkout();
  const afterCheckout = pick(client.validate());
  const second = await client.heartbeat();
  const afterHeartbeat = pick(client.validate());
  const stranger = await Installation.load();
  const forStranger = pick(validator.validateLease(client.token, Date.now(), { installation: stranger }));
  const atExpiry = pick(client.validate(second.lease.expires_at * 1000));
  await client.release();

  // The released token, proved by its own key, straight to the API.
  const url = `${api}/api/seats/heartbeat`;
  const res = await fetch(url, {
    method: "POST",
    headers: { Authorization: `DPoP ${second.token}`, DPoP: await installation.proof("POST", url, { token: second.token }) },
  });
  const gone = { status: res.status, code: (await res.json()).error?.code ?? null };

  return {
    algorithm: installation.algorithm,
    thumbprint: installation.thumbprint,
    reloadedThumbprint: reloaded.thumbprint,
    publicJwk: installation.publicJwk,
    leases: [first.lease, second.lease],
    tokens: [first.token, second.token],
    afterCheckout,
    afterHeartbeat,
    forStranger,
    atExpiry,
    releasedLease: client.lease,
    releasedValidate: client.validate().code,
    gone,
    lost,
  };
}

/**
 * Offline: a lease and a machine token the Node test got for the installation `pair`
 * (a JWK pair, given through an app storage object), checked with the JWKS given. No
 * network: the hosts make any fetch fail.
 */
export async function offline({ jwks, issuer, product, pair, lease, machine, now, wasm }) {
  await init(wasm);
  const storage = {
    format: "jwk",
    get: async () => pair,
    set: async () => {
      throw new Error("an installation that exists is never stored again");
    },
  };
  const installation = await Installation.load({ storage });
  const stranger = await Installation.load();
  const validator = new Validator(jwks, { issuer, product });
  const exp = JSON.parse(atob(lease.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))).exp;
  const [h, p, s] = lease.split(".");
  const flipped = `${h}.${p}.${s.slice(0, 10)}${s[10] === "A" ? "B" : "A"}${s.slice(11)}`;
  return {
    thumbprint: installation.thumbprint,
    lease: pick(validator.validateLease(lease, now, { installation })),
    leaseByThumbprint: pick(validator.validateLease(lease, now, { installation: installation.thumbprint })),
    leaseAnyInstallation: pick(validator.validateLease(lease, now)),
    leaseOneArgument: validator.validateLease(lease).code,
    leaseStranger: pick(validator.validateLease(lease, now, { installation: stranger })),
    leaseExpired: pick(validator.validateLease(lease, exp * 1000, { installation })),
    leaseTampered: pick(validator.validateLease(flipped, now, { installation })),
    machine: pick(validator.validateMachine(machine, now, { installation })),
    machineStranger: pick(validator.validateMachine(machine, now, { installation: stranger })),
    machineAsLease: validator.validateLease(machine, now).code,
    // A proof can still be made offline (nothing is sent).
    proof: (await installation.proof("POST", "https://licenses.example/api/seats/heartbeat?x=1", { token: lease })).split(".").length,
  };
}
