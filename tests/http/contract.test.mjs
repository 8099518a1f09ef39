// The API contract (issue 9, finding 6): schemathesis (PyPI, installed by the test
// command) runs every operation of the served OpenAPI document against the running
// worker — examples, boundary and negative cases, then generated ones — and checks every
// response: no server error, a documented status, the documented content type, headers
// and body schema. Bad input must be refused with a 4xx (negative_data_rejection).
//
// Two runs share one worker: every operation signed in as the server administrator
// (Basic), then the sign-in itself without credentials — its failures count against the
// address's sign-in limit, which would otherwise turn the first run's Basic requests into
// 429s. The user routes act on users made for the purpose: the fuzzer may change the
// password of whoever it names, and the administrator must stay signed in.
// The DPoP-protected operations (seats, machines) run like the others, for their
// refusals: a generated request carries no proof signed by an installation's key, and
// no license this deployment issued, so each is answered with a documented 400/401 and
// never reaches a seat. Their successful paths — real proofs, real licenses, and every
// way a proof is refused — are tests/http/installations.test.mjs and seats.test.mjs.
// `TESSERA_SCHEMATHESIS_SEED` replays a run; the figures are printed for the note.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { call, createUser } from "../support/api.mjs";
import { ADMIN } from "../support/secrets.mjs";
import { startWorker } from "../support/wrangler.mjs";

const ST = process.env.SCHEMATHESIS_BIN;
const SEED = process.env.TESSERA_SCHEMATHESIS_SEED ?? "20261125";
const CHECKS = [
  "not_a_server_error",
  "status_code_conformance",
  "content_type_conformance",
  "response_headers_conformance",
  "response_schema_conformance",
  "negative_data_rejection",
].join(",");

let worker;
let reports;
before(async () => {
  assert.ok(ST, "SCHEMATHESIS_BIN is unset: run through ./scripts/test (it installs schemathesis)");
  worker = await startWorker({ inspector: false });
  reports = mkdtempSync(join(tmpdir(), "tessera-schemathesis-"));
  await createUser(worker, "viewer", "fuzz-patch");
  await createUser(worker, "viewer", "fuzz-delete");
  writeFileSync(
    join(reports, "schemathesis.toml"),
    [
      ["UsersUpdate", "fuzz-patch"],
      ["UsersDelete", "fuzz-delete"],
    ]
      .map(([id, user]) => `[[operations]]\ninclude-operation-id = "${id}"\nparameters = { "path.username" = "${user}" }\n`)
      .join("\n"),
  );
});
after(async () => {
  await worker?.stop();
  if (reports) rmSync(reports, { recursive: true, force: true });
});

/** Run schemathesis; resolves with its exit code, output and NDJSON events. */
function schemathesis(name, args) {
  const events = join(reports, `${name}.ndjson`);
  const argv = [
    "--config-file", join(reports, "schemathesis.toml"),
    // From a file, with the base URL: schemathesis leaves out the operation that serves
    // the schema it was pointed at, and that one is documented too.
    "run", join(reports, "openapi.json"), "--url", worker.url,
    "--checks", CHECKS,
    "--phases", "examples,coverage,fuzzing",
    "--max-examples", "100",
    "--seed", SEED,
    "--workers", "1",
    "--request-timeout", "30",
    "--no-color",
    "--report", "ndjson", "--report-ndjson-path", events,
    ...args,
  ];
  return new Promise((ok, fail) => {
    const child = spawn(ST, argv, { cwd: reports, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" } });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("error", fail);
    child.on("exit", (code) => ok({ code, output, events: readEvents(events) }));
  });
}

function readEvents(path) {
  try {
    return readFileSync(path, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
  } catch {
    return [];
  }
}

/** Operations tested and requests sent, from the NDJSON events. */
function figures(events) {
  const operations = new Set();
  let requests = 0;
  const walk = (v) => {
    if (Array.isArray(v)) return v.forEach(walk);
    if (v && typeof v === "object") {
      if (typeof v.label === "string" && /^(GET|POST|PATCH|DELETE|PUT) \//.test(v.label)) operations.add(v.label);
      if (v.request && typeof v.request === "object" && "method" in v.request) requests += 1;
      Object.values(v).forEach(walk);
    }
  };
  walk(events);
  return { operations, requests };
}

function summary(output) {
  const tail = output.split("\n").filter((l) => /passed|failed|errored|skipped|Test cases|API Operations|seed/i.test(l));
  return tail.slice(-12).join("\n");
}

test("every documented operation: no server error, nothing off the schema", { timeout: 40 * 60_000 }, async () => {
  const served = await fetch(`${worker.url}/api/openapi.json`);
  assert.equal(served.status, 200);
  const doc = await served.json();
  writeFileSync(join(reports, "openapi.json"), JSON.stringify(doc));
  const documented = Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`),
  );

  const signedIn = await schemathesis("admin", [
    "--auth", `${ADMIN.username}:${ADMIN.password}`,
    "--exclude-operation-id", "SessionCreate",
  ]);
  const signIn = await schemathesis("sign-in", ["--include-operation-id", "SessionCreate"]);

  for (const [name, run] of [["signed in", signedIn], ["sign-in", signIn]]) {
    console.log(`schemathesis (${name}):\n${summary(run.output)}`);
    assert.equal(run.code, 0, `schemathesis (${name}) found failures:\n${run.output.slice(-20_000)}`);
  }
  const a = figures(signedIn.events);
  const b = figures(signIn.events);
  const tested = new Set([...a.operations, ...b.operations]);
  const cases = [signedIn, signIn]
    .map((run) => Number(/(\d+) generated/.exec(run.output)?.[1] ?? 0))
    .reduce((x, y) => x + y);
  console.log(
    `schemathesis: ${tested.size} of ${documented.length} operations, ${cases} test cases, ${a.requests + b.requests} requests, 0 failures (seed ${SEED})`,
  );
  assert.deepEqual([...tested].sort(), documented.sort(), "every documented operation was tested");
  assert.ok(a.requests + b.requests >= documented.length * 5, "schemathesis sent a real number of requests");

  // The fuzzing left the deployment usable: the administrator still signs in.
  const me = await call(worker, "GET", "/api/me");
  assert.equal(me.status, 200);
});
