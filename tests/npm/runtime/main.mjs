// The scenario as a command, for Node, Deno and Bun alike:
//   <runtime> main.mjs online|offline '<config JSON>'
// Prints one line of JSON: `{ runtime, result }` or `{ runtime, error }`.
import { fileStorage, memoryStorage } from "tessera-license";
import { offline, online } from "./scenario.mjs";

const args = globalThis.Deno ? globalThis.Deno.args : process.argv.slice(2);
const [mode, json] = args;
const runtime = globalThis.Deno
  ? `deno ${globalThis.Deno.version.deno}`
  : globalThis.Bun
    ? `bun ${globalThis.Bun.version}`
    : `node ${process.versions.node}`;

let out;
try {
  const config = JSON.parse(json);
  if (mode === "offline") {
    // No network from here on (Deno also runs this without --allow-net).
    globalThis.fetch = () => {
      throw new Error("offline: no fetch");
    };
    out = { runtime, result: await offline(config) };
  } else {
    const memory = memoryStorage();
    const makeStorage = () => (config.keyFile ? fileStorage(config.keyFile) : memory);
    out = { runtime, result: await online({ ...config, makeStorage }) };
  }
} catch (e) {
  out = { runtime, error: String(e?.stack ?? e) };
}
console.log(JSON.stringify(out));
