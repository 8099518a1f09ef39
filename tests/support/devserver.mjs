// `wrangler dev` without its inspector, for benchmarks: wrangler's programmatic
// `unstable_startWorker` with `dev.inspector: false`, the same workerd, bindings, local
// KV and Durable Objects as the CLI.
//
// Why: the CLI always attaches wrangler's inspector proxy, which forwards a CDP
// `Network.*` event pair to wrangler's Node process for every subrequest — every
// Durable Object call included — and logs each one. Measured here, that made a Durable
// Object call cost several times what it costs in workerd itself (`POST
// /api/licenses/validate`, one object call: ~440 req/s with the inspector, ~1,100 without,
// under the same wrk load). Benchmarks measure the runtime, not the dev tooling.
//
//   node tests/support/devserver.mjs --port N --persist-to DIR --env-file FILE [--config wrangler.toml]
//
// Prints `ready <url>` once it answers; stops on SIGTERM or SIGINT.
import { parseArgs } from "node:util";
import { unstable_startWorker } from "wrangler";

const { values } = parseArgs({
  options: {
    port: { type: "string" },
    "persist-to": { type: "string" },
    "env-file": { type: "string" },
    config: { type: "string", default: "wrangler.toml" },
  },
});
const worker = await unstable_startWorker({
  config: values.config,
  envFiles: values["env-file"] ? [values["env-file"]] : undefined,
  dev: {
    server: { hostname: "127.0.0.1", port: Number(values.port) },
    inspector: false,
    persist: values["persist-to"],
    logLevel: "warn",
    remote: false,
    liveReload: false,
    watch: false,
  },
});
await worker.ready;
console.log(`ready ${await worker.url}`);
const stop = async () => {
  await worker.dispose();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
