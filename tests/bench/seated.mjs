// The app routes' load for the benchmarks: `count` licenses, each with one seat held by
// an installation of its own, and what to send to validate, checkout (a refresh of that
// seat) and heartbeat, round-robin.
//
// Every seat call carries an RFC 9449 DPoP proof, and a proof is single-use, so the seat
// routes' loads are made fresh for each run: `requests` (see tests/bench/wrk.mjs), enough
// for `seconds` at up to PROOFS_PER_SECOND (default 5,000) requests/s. Checkouts and
// heartbeats rotate the lease, so a heartbeat load is one checkout (for the current
// token) and one real heartbeat per seat, then retries of that heartbeat (the token it rotated away from, the same Idempotency-Key, a fresh proof each): the
// object answers a retry as it answers a heartbeat — the same proof check, sweep, checks
// and write — without moving the generation on, which is what lets wrk repeat it.
//
// `{ proofs: false }` is the API from before installations (a build of it, for
// tests/bench/proofs.mjs): JSON bodies only, replayed as they are.
import { randomUUID } from "node:crypto";
import { call, issueRequest } from "../support/api.mjs";
import { newInstallation, proof } from "../support/dpop.mjs";

const PER_SECOND = Number(process.env.PROOFS_PER_SECOND ?? 5000);

/**
 * Issue `count` licenses on `worker` and check out a seat on each. Returns
 * `{ validate, checkout, heartbeat }`: each `async (seconds) => ({ bodies } | { requests })`,
 * the options for `wrk` to load that route for `seconds`.
 */
export async function seatedLicenses(worker, count, { proofs = true } = {}) {
  const checkoutUrl = `${worker.url}/api/seats/checkout`;
  const heartbeatUrl = `${worker.url}/api/seats/heartbeat`;
  const validate = [];
  const seats = [];
  for (let i = 0; i < count; i++) {
    const res = await call(worker, "POST", "/api/licenses", { body: issueRequest(`${worker.url}/`, { products: ["ide"] }) });
    if (res.status !== 201) throw new Error(`issue: HTTP ${res.status} ${JSON.stringify(res.body)}`);
    validate.push({ token: res.body.token, product: "ide" });
    const body = { license: res.body.token, product: "ide", user: `user-${i}`, host: "bench" };
    const installation = proofs ? await newInstallation() : undefined;
    const headers = proofs ? { DPoP: await proof(installation, "POST", checkoutUrl) } : {};
    const lease = await call(worker, "POST", "/api/seats/checkout", { auth: null, headers, body });
    if (lease.status !== 201) throw new Error(`checkout: HTTP ${lease.status} ${JSON.stringify(lease.body)}`);
    seats.push({ installation, body, token: lease.body.token });
  }
  const many = (seconds) => Math.ceil(seconds * PER_SECOND);

  if (!proofs) {
    return {
      validate: async () => ({ bodies: validate }),
      checkout: async () => ({ bodies: seats.map((s) => s.body) }),
      heartbeat: async () => ({ bodies: seats.map((s) => ({ token: s.token })) }),
    };
  }
  return {
    validate: async () => ({ bodies: validate }),
    checkout: async (seconds) => {
      const requests = [];
      for (let n = 0; n < many(seconds); n++) {
        const seat = seats[n % seats.length];
        requests.push({ dpop: await proof(seat.installation, "POST", checkoutUrl), body: seat.body });
      }
      return { requests };
    },
    heartbeat: async (seconds) => {
      const presented = [];
      for (const seat of seats) {
        // The current token first: a checkout load since has rotated the lease.
        const again = await call(worker, "POST", "/api/seats/checkout", {
          auth: null,
          headers: { DPoP: await proof(seat.installation, "POST", checkoutUrl) },
          body: seat.body,
        });
        if (again.status !== 201 && again.status !== 200) throw new Error(`checkout: HTTP ${again.status} ${JSON.stringify(again.body)}`);
        seat.token = again.body.token;
        const key = randomUUID();
        const headers = {
          Authorization: `DPoP ${seat.token}`,
          DPoP: await proof(seat.installation, "POST", heartbeatUrl, { token: seat.token }),
          "Idempotency-Key": key,
        };
        const res = await call(worker, "POST", "/api/seats/heartbeat", { auth: null, headers });
        if (res.status !== 200) throw new Error(`heartbeat: HTTP ${res.status} ${JSON.stringify(res.body)}`);
        presented.push({ seat, token: seat.token, key });
        seat.token = res.body.token;
      }
      const requests = [];
      for (let n = 0; n < many(seconds); n++) {
        const { seat, token, key } = presented[n % presented.length];
        const dpop = await proof(seat.installation, "POST", heartbeatUrl, { token });
        requests.push({ authorization: `DPoP ${token}`, dpop, key });
      }
      return { requests };
    },
  };
}
