// The deploy config check `./scripts/deploy` runs on the bundle `wrangler deploy
// --dry-run` wrote:
//
//   node scripts/check-deploy.mjs <deploy config> <bundle dir> <dry-run | real>
//
// - every Durable Object binding names a class the bundle exports, and every class a
//   migration creates or renames to is bound (a class missing from either breaks the
//   deploy or loses objects);
// - the bindings the worker reads are all there (KV, D1, the four objects, the assets);
// - a real deploy has real KV and D1 ids, not the dev config's placeholders;
// - the upload fits Workers' limits (10 MB gzip on the paid plan, 3 MB on the free one).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const [config, bundle, mode] = process.argv.slice(2);
const toml = readFileSync(config, "utf8");
const problems = [];

const bound = [...toml.matchAll(/^\[\[durable_objects\.bindings\]\]\s*\nname = "(\w+)"\s*\nclass_name = "(\w+)"/gm)]
  .map(([, name, cls]) => ({ name, cls }));
const js = readFileSync(join(bundle, "index.js"), "utf8");
const exported = new Set([...js.matchAll(/export\s*\{([^}]*)\}/g)].flatMap(([, list]) =>
  list.split(",").map((e) => e.trim().split(/\s+as\s+/).pop()).filter(Boolean)));
for (const { name, cls } of bound) {
  if (!exported.has(cls)) problems.push(`binding ${name}: class ${cls} is not exported by the bundle`);
}
const created = [...toml.matchAll(/new_sqlite_classes = \[([^\]]*)\]/g)].flatMap(([, l]) => l.match(/"(\w+)"/g).map((c) => c.slice(1, -1)));
const renamed = [...toml.matchAll(/\{ from = "(\w+)", to = "(\w+)" \}/g)].map(([, from, to]) => ({ from, to }));
const live = new Set(created.filter((c) => !renamed.some((r) => r.from === c)).concat(renamed.map((r) => r.to)));
for (const cls of live) {
  if (!bound.some((b) => b.cls === cls)) problems.push(`migrations keep class ${cls}, which no binding names`);
}
for (const { cls } of bound) {
  if (!live.has(cls)) problems.push(`class ${cls} is bound but no migration creates it`);
}
const tags = [...toml.matchAll(/^tag = "(\w+)"/gm)].map(([, t]) => t);
if (new Set(tags).size !== tags.length) problems.push(`migration tags repeat: ${tags.join(", ")}`);

for (const name of ["LICENSES", "DIRECTORY", "ROLLUP", "SIGN_IN_LIMITS", "ACCOUNTS"]) {
  if (!bound.some((b) => b.name === name)) problems.push(`no Durable Object binding ${name}`);
}
if (!/binding = "TESSERA_KV"/.test(toml)) problems.push("no KV binding TESSERA_KV");
if (!/binding = "EVENTS"/.test(toml)) problems.push("no D1 binding EVENTS");
if (!/binding = "ASSETS"/.test(toml)) problems.push("no assets binding ASSETS");
if (mode === "real") {
  if (/id = "tessera-local-dev"/.test(toml)) problems.push("the KV namespace id is the dev placeholder");
  if (/database_id = "00000000-0000-4000-8000-000000000000"/.test(toml)) problems.push("the D1 database id is the dev placeholder");
}

let raw = 0;
let gz = 0;
for (const file of readdirSync(bundle)) {
  if (!/\.(js|wasm)$/.test(file)) continue;
  const bytes = readFileSync(join(bundle, file));
  raw += bytes.length;
  gz += gzipSync(bytes, { level: 9 }).length;
}
const MB = 1024 * 1024;
console.log(`deploy check: ${bound.length} Durable Object bindings, ${tags.length} migrations (${tags.join(", ")}), bundle ${raw} bytes, ${gz} bytes gzip (limits: ${10 * MB} paid, ${3 * MB} free)`);
if (gz > 10 * MB) problems.push(`the bundle is ${gz} bytes gzip, over Workers' 10 MB`);
if (gz > 3 * MB) console.log("deploy check: over the free plan's 3 MB: a paid plan is needed");
if (problems.length) {
  for (const p of problems) console.error(`deploy check: ${p}`);
  process.exit(1);
}
console.log("deploy check: the config and the bundle agree");
