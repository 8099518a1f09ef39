// Scale-out (issue 21) against the real Workers runtime: nothing on an app's request
// calls the vault's directory. A license holding no seats reads the published deny
// state before it lends one; the directory's job tells every license holding seats,
// the API answering with what is still pending; and with the directory unreachable
// altogether, apps keep their seats.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { assertError, call } from "../support/api.mjs";
import { checkout, eventually, heartbeat, issueLicense, pool, release } from "../support/seats.mjs";
import { startWorker, variantConfig } from "../support/wrangler.mjs";

const granted = async (res, status = 201) => {
  assert.equal(res.status, status, JSON.stringify(res.body));
  return res.body;
};

describe("the deny state reaches licenses without an app request asking the directory", () => {
  let worker;
  before(async () => {
    worker = await startWorker();
  });
  after(async () => {
    await worker?.stop();
  });
  const vault = (method, path) => call(worker, method, `/api/vault${path}`);

  test("heartbeats and checkouts of a license holding seats make no directory call", async () => {
    const license = await issueLicense(worker, { company: "Busy Co" });
    const taken = await granted(await checkout(worker, license.token, "kim"));
    await eventually(async () => (await pool(worker, license.lid)).leases.length === 1 &&
      (await vault("GET", "/users/kim/licenses")).body.length === 1, { what: "kim's lease reported" });
    const served = async () => {
      const { calls } = (await vault("GET", "/directory")).body;
      return Object.entries(calls).filter(([kind]) => kind !== "status" && !kind.startsWith("user")).reduce((n, [, c]) => n + c, 0);
    };
    const before = await served();
    for (let i = 0; i < 20; i++) assert.equal((await heartbeat(worker, taken.token)).status, 200);
    // The same user again from the same machine: the seat refreshed, no change of who holds what.
    assert.equal((await checkout(worker, license.token, "kim")).status, 200);
    await new Promise((ok) => setTimeout(ok, 1500));
    assert.equal(await served(), before, "21 app requests, no directory call");
  });

  test("a license that lent seats and holds none now reads the published state before its next checkout", async () => {
    const license = await issueLicense(worker, { company: "Quiet Co" });
    const taken = await granted(await checkout(worker, license.token, "gus"));
    assert.equal((await release(worker, taken.token)).status, 204);
    // Its copy was delivered moments ago; holding nothing, nothing pushes to it.
    assert.equal((await vault("DELETE", "/users/gus/licenses?block=true")).status, 200);
    assertError(await checkout(worker, license.token, "gus"), 403, "USER_BLOCKED");
    assert.equal((await vault("DELETE", "/blocks/gus")).status, 200);
    await granted(await checkout(worker, license.token, "gus"));
  });

  test("a block reaches every license holding seats; what the answer could not reach is pending, then told", async () => {
    // More licenses holding seats than a change tells before it answers (64).
    const licenses = [];
    for (let i = 0; i < 80; i++) {
      const license = await issueLicense(worker, { company: `Holder ${i}` });
      await granted(await checkout(worker, license.token, `holder-${i}`));
      licenses.push(license);
    }
    await eventually(async () => {
      const page = (await vault("GET", "/users?search=holder-&limit=100")).body;
      return page.items?.length === 80;
    }, { what: "80 holders in the roll-up", timeoutMs: 20_000 });
    const res = await vault("DELETE", "/users/hank/licenses?block=true");
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.unreachable, 0);
    assert.ok(res.body.pending > 0, `some licenses left to the job: ${JSON.stringify(res.body)}`);
    assert.ok(res.body.licenses + res.body.pending >= 80, JSON.stringify(res.body));
    // Each license holds seats, so it reads nothing: it refuses hank only once the
    // directory's job has told it. (A checkout let through before that is released.)
    const told = new Set();
    await eventually(async () => {
      for (const license of licenses.filter((l) => !told.has(l.lid))) {
        const res = await checkout(worker, license.token, "hank");
        if (res.status === 403 && res.body.error?.code === "USER_BLOCKED") told.add(license.lid);
        else if (res.status === 201) await release(worker, res.body.token);
        else assert.fail(`unexpected ${res.status} ${JSON.stringify(res.body)}`);
      }
      return told.size === licenses.length;
    }, { what: "every holder refusing hank", timeoutMs: 20_000 });
    const status = (await vault("GET", "/directory")).body;
    assert.equal(status.behind, 0, JSON.stringify(status));
    assert.equal(status.published_version, status.deny_version);
  });
});

describe("with the directory and the roll-up unreachable", () => {
  let worker;
  before(async () => {
    // The same worker, its DIRECTORY and ROLLUP bindings pointed at another class (the
    // sign-in limiter), which refuses every call: the vault's objects are down.
    const config = variantConfig((toml) =>
      toml
        .replace('name = "DIRECTORY"\nclass_name = "VaultDirectory"', 'name = "DIRECTORY"\nclass_name = "SignInLimiter"')
        .replace('name = "ROLLUP"\nclass_name = "VaultRollup"', 'name = "ROLLUP"\nclass_name = "SignInLimiter"'));
    worker = await startWorker({ inspector: false, config });
  });
  after(async () => {
    await worker?.stop();
  });

  test("apps check out, heartbeat and release; the vault's reads say the directory is unavailable", async () => {
    const license = await issueLicense(worker, { company: "Offline Directory Co" });
    const taken = await granted(await checkout(worker, license.token, "ivy"));
    for (let i = 0; i < 3; i++) {
      const beat = await heartbeat(worker, taken.token);
      assert.equal(beat.status, 200, JSON.stringify(beat.body));
    }
    const second = await granted(await checkout(worker, license.token, "jon", { host: "desk" }));
    assert.equal((await release(worker, second.token)).status, 204);
    const res = await call(worker, "GET", "/api/vault/products");
    assert.notEqual(res.status, 200, "the vault's own reads fail");
  });
});
