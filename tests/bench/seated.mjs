// The app routes' load for the benchmarks: `count` licenses, each with one seat held,
// and the request bodies for validate, checkout (a refresh of that seat) and heartbeat.
import { call, issueRequest } from "../support/api.mjs";

/** Issue `count` licenses on `worker` and check out a seat on each. Returns
 *  `{ validate, checkout, heartbeat }`: JSON bodies, one per license, to send round-robin. */
export async function seatedLicenses(worker, count) {
  const validate = [];
  const checkout = [];
  const heartbeat = [];
  for (let i = 0; i < count; i++) {
    const res = await call(worker, "POST", "/api/licenses", { body: issueRequest(`${worker.url}/`, { products: ["ide"] }) });
    if (res.status !== 201) throw new Error(`issue: HTTP ${res.status} ${JSON.stringify(res.body)}`);
    validate.push({ token: res.body.token, product: "ide" });
    const seat = { license: res.body.token, product: "ide", user: `user-${i}`, host: "bench" };
    const lease = await call(worker, "POST", "/api/seats/checkout", { auth: null, body: seat });
    if (lease.status !== 201) throw new Error(`checkout: HTTP ${lease.status} ${JSON.stringify(lease.body)}`);
    checkout.push(seat);
    heartbeat.push({ token: lease.body.token });
  }
  return { validate, checkout, heartbeat };
}
