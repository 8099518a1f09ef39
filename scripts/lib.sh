#!/usr/bin/env bash
# Set-up and build steps shared by `scripts/run`, `scripts/test` and `scripts/build`.
#
# Everything here is idempotent: each step checks what is already there and does
# nothing when it is. Cargo tools go to a per-user cache outside the clone
# (TESSERA_TOOLS, default ~/.cache/tessera/tools) so every clone and CI run reuses them.
#
# Sourced, not executed: it exports PATH and the *_BIN variables worker-build reads.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

TESSERA_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export TESSERA_ROOT

# Pins. wasm-bindgen must equal the `=` pin in Cargo.toml (checked below).
WORKER_BUILD_VERSION=0.8.7
WASM_BINDGEN_VERSION=0.2.130
# The console's code splitting; the version leptos' wasm_split_helpers 0.2 pairs with.
WASM_SPLIT_VERSION=0.2.4

TESSERA_TOOLS="${TESSERA_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/tessera/tools}"
export TESSERA_TOOLS

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# cargo install NAME VERSION [extra args] into $TESSERA_TOOLS/NAME-VERSION, once.
install_cargo_tool() {
  local crate="$1" version="$2" bin="$3"; shift 3
  local root="$TESSERA_TOOLS/$crate-$version"
  if [ ! -x "$root/bin/$bin" ]; then
    log "installing $crate $version into $root (once per machine; several minutes)"
    cargo install "$crate" --version "=$version" --root "$root" "$@" >&2
  fi
  export PATH="$root/bin:$PATH"
}

setup_rust() {
  local installed
  installed="$(rustup target list --installed)"
  for t in wasm32-unknown-unknown wasm32v1-none; do
    if ! grep -qx "$t" <<<"$installed"; then
      log "rustup target add $t"
      rustup target add "$t" >&2
    fi
  done
  local pinned
  pinned="$(sed -n 's/^wasm-bindgen = "=\(.*\)"/\1/p' "$TESSERA_ROOT/Cargo.toml")"
  if [ "$pinned" != "$WASM_BINDGEN_VERSION" ]; then
    echo "Cargo.toml pins wasm-bindgen $pinned but scripts/setup.sh pins $WASM_BINDGEN_VERSION" >&2
    exit 1
  fi
  # wasm-bindgen-cli's own lockfile names a yanked crate: install without --locked.
  install_cargo_tool wasm-bindgen-cli "$WASM_BINDGEN_VERSION" wasm-bindgen
  install_cargo_tool worker-build "$WORKER_BUILD_VERSION" worker-build --locked
  install_cargo_tool wasm_split_cli_support "$WASM_SPLIT_VERSION" wasm-split-cli --locked \
    --features build-binary
  export WASM_BINDGEN_BIN="$TESSERA_TOOLS/wasm-bindgen-cli-$WASM_BINDGEN_VERSION/bin/wasm-bindgen"
}

setup_node() {
  # npm ci only when the lockfile changed since the last install.
  local stamp="$TESSERA_ROOT/node_modules/.tessera-lock"
  if [ ! -f "$stamp" ] || ! cmp -s "$TESSERA_ROOT/package-lock.json" "$stamp"; then
    log "npm ci"
    (cd "$TESSERA_ROOT" && npm ci --no-audit --no-fund >&2)
    cp "$TESSERA_ROOT/package-lock.json" "$stamp"
  fi
  export PATH="$TESSERA_ROOT/node_modules/.bin:$PATH"
  export WASM_OPT_BIN="$TESSERA_ROOT/node_modules/.bin/wasm-opt"
  export ESBUILD_BIN="$TESSERA_ROOT/node_modules/.bin/esbuild"
  export WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false
}

# Debian's Chromium for the browser tests (Playwright cannot download its own here).
setup_chromium() {
  if [ ! -x /usr/bin/chromium ]; then
    log "installing Debian chromium (browser tests)"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >&2
  fi
  export CHROMIUM_BIN=/usr/bin/chromium
}

# wrk, the HTTP load generator the benchmarks use (Debian's).
setup_wrk() {
  if ! command -v wrk >/dev/null 2>&1; then
    log "installing Debian wrk (benchmarks)"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq wrk >&2
  fi
}

# schemathesis (PyPI) in a venv in the tools cache: the API contract tests.
SCHEMATHESIS_VERSION=4.32.5
setup_schemathesis() {
  local venv="$TESSERA_TOOLS/schemathesis-$SCHEMATHESIS_VERSION"
  if [ ! -x "$venv/bin/st" ]; then
    log "installing schemathesis $SCHEMATHESIS_VERSION (PyPI) into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" >&2
  fi
  export SCHEMATHESIS_BIN="$venv/bin/st"
}

# wasm-opt -Oz in place, with the features rustc enables by default for
# wasm32-unknown-unknown (binaryen's defaults reject its bulk-memory output).
wasm_opt() {
  wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-reference-types --enable-multivalue --enable-mutable-globals "$1" -o "$1" >&2
}

# The console: cargo → wasm-split → wasm-bindgen → wasm-opt, into site/dist (the assets
# directory). wasm-split cuts the code only a lazily loaded page uses (`#[lazy_route]` in
# site/src/app.rs) into chunks `__wasm_split.js` fetches on the page's first visit; it needs
# the linker's relocations (--emit-relocs) and symbol names (the site profile keeps them).
build_site() {
  log "building the console (site/dist)"
  # erase_components: Leptos type-erases every component's view, which keeps the
  # console's wasm within its 300 KB gzip budget (measured: 312 KB → 286 KB gzip).
  RUSTFLAGS="--cfg erase_components -Clink-args=--emit-relocs" \
    cargo build --profile site --target wasm32-unknown-unknown -p tessera-site >&2
  local out="$TESSERA_ROOT/site/dist" split="$TESSERA_ROOT/target/wasm-split"
  rm -rf "$out" "$split" && mkdir -p "$out" "$split"
  wasm-split-cli --target web --out-name tessera_site \
    "$TESSERA_ROOT/target/wasm32-unknown-unknown/site/tessera-site.wasm" "$split" >&2
  wasm-bindgen --target web --no-typescript --keep-lld-exports --out-name tessera_site \
    --out-dir "$out" "$split/tessera_site.wasm" >&2
  rm "$split/tessera_site.wasm"
  mv "$split"/* "$out/" && rmdir "$split"
  local wasm
  for wasm in "$out"/*.wasm; do wasm_opt "$wasm"; done
  cp "$TESSERA_ROOT/site/index.html" "$TESSERA_ROOT/site/style.css" "$TESSERA_ROOT/site/boot.js" \
    "$TESSERA_ROOT/site/_headers" "$out/"
  # The API reference: Swagger UI from npm swagger-ui-dist, and our page that loads it.
  mkdir -p "$out/swagger"
  cp "$TESSERA_ROOT/node_modules/swagger-ui-dist/swagger-ui-bundle.js" \
    "$TESSERA_ROOT/node_modules/swagger-ui-dist/swagger-ui.css" \
    "$TESSERA_ROOT/node_modules/swagger-ui-dist/LICENSE" \
    "$TESSERA_ROOT/site/swagger/index.html" "$TESSERA_ROOT/site/swagger/init.js" "$out/swagger/"
}

# The worker: worker-build (cargo → wasm-bindgen → wasm-opt → shim), into worker/build.
build_worker() {
  log "building the worker (worker/build)"
  (cd "$TESSERA_ROOT/worker" && worker-build --release >&2)
}

# The worker with the bench-only route (feature `bench`: an empty license-object call),
# into worker/build-bench, and a wrangler config for it; prints the config's path.
build_bench_worker() {
  log "building the bench worker (worker/build-bench)"
  (cd "$TESSERA_ROOT/worker" && worker-build --release --out-dir build-bench . --features bench >&2)
  local config="$TESSERA_ROOT/worker/build-bench/wrangler.toml"
  sed -e "s|^main = .*|main = \"$TESSERA_ROOT/worker/build-bench/index.js\"|" \
    -e "s|^directory = .*|directory = \"$TESSERA_ROOT/site/dist\"|" \
    "$TESSERA_ROOT/wrangler.toml" >"$config"
  echo "$config"
}

# The worker as an earlier commit built it, for benchmarks that compare against it: built
# once per machine from a detached worktree (sharing this clone's target dir) into
# $TESSERA_TOOLS/../baselines/COMMIT, then a wrangler config for it is written. Prints
# that config's path. Its console assets are this clone's (the API is what is compared).
build_worker_at() {
  local commit dir tree
  commit="$(git -C "$TESSERA_ROOT" rev-parse "$1^{commit}")"
  dir="$TESSERA_TOOLS/../baselines/$commit"
  if [ ! -f "$dir/worker-build/index.js" ]; then
    log "building the worker at ${commit:0:7} into $dir (once per machine)"
    tree="$(mktemp -d "${TMPDIR:-/tmp}/tessera-baseline-XXXXXX")"
    git -C "$TESSERA_ROOT" worktree add --detach "$tree" "$commit" >&2
    if ! (cd "$tree/worker" && CARGO_TARGET_DIR="$TESSERA_ROOT/target" worker-build --release >&2); then
      git -C "$TESSERA_ROOT" worktree remove --force "$tree"
      return 1
    fi
    rm -rf "$dir" && mkdir -p "$dir"
    cp -r "$tree/worker/build" "$dir/worker-build"
    cp "$tree/wrangler.toml" "$dir/wrangler.source.toml"
    git -C "$TESSERA_ROOT" worktree remove --force "$tree"
  fi
  sed -e "s|^main = .*|main = \"$dir/worker-build/index.js\"|" \
    -e "s|^directory = .*|directory = \"$TESSERA_ROOT/site/dist\"|" \
    "$dir/wrangler.source.toml" >"$dir/wrangler.toml"
  echo "$dir/wrangler.toml"
}

# The npm validator: the validator crate (the engine's verify-only half) → wasm-bindgen →
# wasm-opt, into npm/wasm.
build_npm() {
  log "building the npm validator (npm/wasm)"
  cargo build --release --target wasm32-unknown-unknown -p tessera-validator >&2
  local out="$TESSERA_ROOT/npm/wasm"
  rm -rf "$out" && mkdir -p "$out"
  wasm-bindgen --target web --no-typescript --out-name tessera_license --out-dir "$out" \
    "$TESSERA_ROOT/target/wasm32-unknown-unknown/release/tessera_validator.wasm" >&2
  wasm_opt "$out/tessera_license_bg.wasm"
}

# Pack the npm package and install the tarball into a scratch project, as a user would.
# Prints the scratch project's path.
install_npm_scratch() {
  local scratch tarball jose
  scratch="$(mktemp -d "${TMPDIR:-/tmp}/tessera-npm-XXXXXX")"
  tarball="$(cd "$TESSERA_ROOT/npm" && npm pack --silent --pack-destination "$scratch" | tail -n 1)"
  jose="$(node -p 'require("./package.json").devDependencies.jose' 2>/dev/null)"
  cat >"$scratch/package.json" <<JSON
{ "name": "scratch", "private": true, "type": "module",
  "dependencies": { "tessera-license": "file:./$tarball", "jose": "$jose" } }
JSON
  (cd "$scratch" && npm install --no-audit --no-fund --prefer-offline >&2)
  echo "$scratch"
}

# Print each shipped file's raw and gzip size — the worker's, the console's and the npm
# validator's wasm, and the npm package's app client (its own module, loaded only by apps
# that take seats) — and fail if one is over its budget.
report_sizes() {
  # The worker's budget: 720 KB. Issue 11's target was 600 KB (591,585 B then); issue 19
  # added installations, DPoP (ES256 via p256), machines and one identity form (NFKC from
  # the host, case folding tables in core) and took it to 689 KB (budget 700 KB); issue 21
  # added the roll-up's shards (a Durable Object class, its protocol, the merged reads, the
  # move from the directory): 709,250 → 762,213 B, and 735,636 B once every object call
  # shared one non-generic exchange. Raise it only on purpose.
  local status=0 file budget raw gz
  while read -r file budget; do
    raw=$(wc -c <"$file")
    gz=$(gzip -9 -c "$file" | wc -c)
    printf 'size: %-45s %8d bytes raw %8d bytes gzip (budget %d gzip)\n' \
      "${file#"$TESSERA_ROOT"/}" "$raw" "$gz" "$budget"
    if [ "$gz" -gt "$budget" ]; then
      echo "size: ${file#"$TESSERA_ROOT"/} is over its budget" >&2
      status=1
    fi
  done <<LIST
$TESSERA_ROOT/worker/build/index_bg.wasm 737280
$TESSERA_ROOT/site/dist/tessera_site_bg.wasm 307200
$TESSERA_ROOT/npm/wasm/tessera_license_bg.wasm 102400
$TESSERA_ROOT/npm/client.js 16384
LIST
  # The console's first download is tessera_site_bg.wasm (above); each page beyond sign-in
  # and home is a chunk fetched on its first visit, with chunks of code pages share.
  local chunks=0 total=0 largest=0 name=""
  for file in "$TESSERA_ROOT"/site/dist/split_*.wasm "$TESSERA_ROOT"/site/dist/chunk_*.wasm; do
    [ -f "$file" ] || continue
    gz=$(gzip -9 -c "$file" | wc -c)
    chunks=$((chunks + 1)) total=$((total + gz))
    if [ "$gz" -gt "$largest" ]; then largest=$gz name="${file##*/}"; fi
  done
  printf 'size: %-45s %8d files %8d bytes gzip (largest %s: %d)\n' \
    "site/dist lazy chunks" "$chunks" "$total" "$name" "$largest"
  return $status
}
