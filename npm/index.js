// tessera-license: offline validation of Tessera licenses.
//
// A thin wrapper over the engine's wasm build (./wasm, made by wasm-bindgen): it loads
// the module once and checks its inputs so that bad input is a TypeError naming the
// argument. The key set and expectations go to the engine, and the outcome comes back,
// as JavaScript values (serde-wasm-bindgen): no JSON text in between.
import initWasm, { Validator as WasmValidator, jwkThumbprint as wasmJwkThumbprint } from "./wasm/tessera_license.js";

// The app's side of the API (installations, seats, machines): no wasm, and also its
// own entry point, `tessera-license/client`.
export { Installation, SeatClient, TesseraError, activate, deactivate, fileStorage, indexedDbStorage, memoryStorage } from "./client.js";

let loading;
let loaded = false;

/**
 * Load the WebAssembly module, once. With no argument it finds the .wasm file next to
 * this module (read from disk in Node, fetched elsewhere). In Cloudflare Workers, pass
 * the module you imported: `import wasm from "tessera-license/tessera_license_bg.wasm"`.
 */
export function init(wasm) {
  loading ??= (async () => {
    let source = wasm;
    if (source === undefined) {
      const url = new URL("./wasm/tessera_license_bg.wasm", import.meta.url);
      if (url.protocol === "file:" && typeof process !== "undefined" && process.versions?.node) {
        const { readFile } = await import("node:fs/promises");
        source = await readFile(url);
      } else {
        source = url;
      }
    }
    await initWasm({ module_or_path: source });
    loaded = true;
  })();
  return loading;
}

const DAY_MS = 86_400_000;

function optionalString(value, name) {
  if (value === undefined || value === null) return "";
  if (typeof value !== "string" || value === "") {
    throw new TypeError(`tessera-license: ${name} must be a non-empty string when given`);
  }
  return value;
}

function checkToken(token) {
  if (typeof token !== "string") {
    throw new TypeError("tessera-license: token must be a string");
  }
  return token;
}

/** The thumbprint a token must be bound to: `options.installation` (an Installation or
 *  its thumbprint), or "" for any. */
function boundTo(options) {
  if (options === undefined || options === null) return "";
  if (typeof options !== "object") throw new TypeError("tessera-license: options must be an object");
  const { installation } = options;
  if (installation === undefined || installation === null) return "";
  const jkt = typeof installation === "string" ? installation : installation?.thumbprint;
  if (typeof jkt !== "string" || jkt === "") {
    throw new TypeError("tessera-license: installation must be an Installation or a non-empty thumbprint string");
  }
  return jkt;
}

function seconds(now) {
  const ms = now instanceof Date ? now.getTime() : now;
  if (typeof ms !== "number" || !Number.isFinite(ms) || ms < 0) {
    throw new TypeError("tessera-license: now must be a Date or milliseconds since the epoch");
  }
  return Math.floor(ms / 1000);
}

/** Validates licenses against one key set and one set of expectations. */
export class Validator {
  #inner;

  /**
   * @param jwks the issuer's public keys: a JWKS object or its JSON string (from
   *   `GET /.well-known/jwks.json`). Parsed once, here.
   * @param expectations `{ issuer?, product?, instance?, leeway? }`: what a license must
   *   say beyond a good signature; `leeway` is allowed clock skew in seconds.
   */
  constructor(jwks, expectations = {}) {
    if (!loaded) {
      throw new Error("tessera-license: await init() once before creating a Validator");
    }
    let keys = jwks;
    if (typeof jwks === "string") {
      try {
        keys = JSON.parse(jwks);
      } catch (e) {
        throw new TypeError(`tessera-license: not a usable JWKS: ${e.message}`);
      }
    }
    if (keys === null || typeof keys !== "object" || !Array.isArray(keys.keys)) {
      throw new TypeError("tessera-license: jwks must be a JWKS object ({ keys: [...] }) or its JSON string");
    }
    if (expectations === null || typeof expectations !== "object") {
      throw new TypeError("tessera-license: expectations must be an object");
    }
    const expect = {
      issuer: optionalString(expectations.issuer, "issuer"),
      product: optionalString(expectations.product, "product"),
      instance: optionalString(expectations.instance, "instance"),
      leeway: expectations.leeway ?? 0,
    };
    if (!Number.isInteger(expect.leeway) || expect.leeway < 0 || expect.leeway > DAY_MS / 1000) {
      throw new TypeError("tessera-license: leeway must be a whole number of seconds from 0 to 86400");
    }
    try {
      this.#inner = new WasmValidator(keys, expect);
    } catch (e) {
      throw new TypeError(`tessera-license: not a usable JWKS: ${e.message}`);
    }
  }

  /**
   * Validate a license token.
   * @param token the license (a JWT string)
   * @param now the time to judge it at: a Date or milliseconds since the epoch
   *   (default: now)
   * @returns `{ valid, code, claims, warnings }`
   */
  validate(token, now = Date.now()) {
    return this.#inner.validate(checkToken(token), seconds(now));
  }

  /**
   * Validate a lease token (from `POST /api/seats/checkout` or `/heartbeat`) offline:
   * the deployment's signature, its type, the expected issuer and product, the
   * installation it is bound to (`cnf.jkt`), and its expiry. An app keeps its seat
   * through a network blip until this says `EXPIRED`.
   * @param token the lease token
   * @param now a Date or milliseconds since the epoch (default: now)
   * @param options `{ installation? }`: the Installation (or its thumbprint) the lease
   *   must be bound to; another one's lease is `WRONG_INSTALLATION`. Default: any.
   * @returns `{ valid, code, claims, warnings }`; `claims` are the lease's
   *   (`jti` lease id, `lid`, `prod`, `user`, `host`, `iat`, `exp`, `cnf`, `gen`)
   */
  validateLease(token, now = Date.now(), options = undefined) {
    return this.#inner.validateLease(checkToken(token), seconds(now), boundTo(options));
  }

  /**
   * Validate a machine token (from `POST /api/machines/activate`) offline: the
   * signature, its type, the expected issuer and product, the installation it is bound
   * to, and the license's end.
   * @param token the machine token
   * @param now a Date or milliseconds since the epoch (default: now)
   * @param options `{ installation? }`, as for `validateLease`
   * @returns `{ valid, code, claims, warnings }`; `claims` are the machine's (`jti`
   *   machine id, `lid`, `prod`, `name`, `iat`, `exp`, `cnf`)
   */
  validateMachine(token, now = Date.now(), options = undefined) {
    return this.#inner.validateMachine(checkToken(token), seconds(now), boundTo(options));
  }

  /** Free the wasm memory now rather than at garbage collection. */
  free() {
    this.#inner?.free();
    this.#inner = undefined;
  }
}

/**
 * A validator that fetches the issuer's JWKS itself, and fetches it again when a token
 * names a key it does not know yet — after the issuer rotated its keys — at most once
 * per `minRefreshSeconds`, so a stream of forged `kid`s cannot make it fetch on each
 * call. Create it with `await RemoteValidator.create(url, expectations)`.
 */
export class RemoteValidator {
  #url;
  #expectations;
  #fetch;
  #minRefreshMs;
  #validator;
  #fetchedAt = 0;
  #refreshing;

  constructor(url, expectations, fetchImpl, minRefreshMs) {
    this.#url = url;
    this.#expectations = expectations;
    this.#fetch = fetchImpl;
    this.#minRefreshMs = minRefreshMs;
  }

  /**
   * @param url the issuer's JWKS URL, e.g. `https://licenses.example.com/.well-known/jwks.json`
   * @param expectations as for `Validator`
   * @param options `{ fetch?, minRefreshSeconds? }` (default: the global fetch, 60 s)
   */
  static async create(url, expectations = {}, { fetch: fetchImpl = globalThis.fetch, minRefreshSeconds = 60 } = {}) {
    if (typeof url !== "string" || !/^https?:\/\//.test(url)) {
      throw new TypeError("tessera-license: the JWKS URL must be an http(s) URL");
    }
    if (typeof fetchImpl !== "function") {
      throw new TypeError("tessera-license: no fetch to get the JWKS with");
    }
    await init();
    const remote = new RemoteValidator(url, expectations, fetchImpl, minRefreshSeconds * 1000);
    await remote.#load();
    return remote;
  }

  async #load() {
    const res = await this.#fetch(this.#url);
    if (!res.ok) throw new Error(`tessera-license: fetching the JWKS failed: HTTP ${res.status}`);
    const next = new Validator(await res.json(), this.#expectations);
    this.#validator?.free();
    this.#validator = next;
    this.#fetchedAt = Date.now();
  }

  /** Fetch the JWKS again unless it was fetched within the refresh interval. */
  async #refresh() {
    if (Date.now() - this.#fetchedAt < this.#minRefreshMs) return false;
    this.#refreshing ??= this.#load().finally(() => {
      this.#refreshing = undefined;
    });
    await this.#refreshing;
    return true;
  }

  async #check(method, token, now, options) {
    const result = this.#validator[method](token, now, options);
    if (result.code !== "UNKNOWN_KEY" || !(await this.#refresh())) return result;
    return this.#validator[method](token, now, options);
  }

  /** As `Validator.validate`, refreshing the keys once on an unknown `kid`. */
  validate(token, now = Date.now()) {
    return this.#check("validate", token, now);
  }

  /** As `Validator.validateLease`, refreshing the keys once on an unknown `kid`. */
  validateLease(token, now = Date.now(), options = undefined) {
    return this.#check("validateLease", token, now, options);
  }

  /** As `Validator.validateMachine`, refreshing the keys once on an unknown `kid`. */
  validateMachine(token, now = Date.now(), options = undefined) {
    return this.#check("validateMachine", token, now, options);
  }
}

/** `await init()` and construct a Validator, in one call. */
export async function createValidator(jwks, expectations) {
  await init();
  return new Validator(jwks, expectations);
}

/**
 * The RFC 7638 thumbprint of an installation's public JWK (Ed25519 `OKP` or P-256
 * `EC`), as the engine computes it: what lease and machine tokens are bound to
 * (`cnf.jkt`). Needs `await init()` first; throws TypeError on another key.
 */
export function jwkThumbprint(jwk) {
  if (!loaded) throw new Error("tessera-license: await init() once before jwkThumbprint");
  if (jwk === null || typeof jwk !== "object") throw new TypeError("tessera-license: jwk must be a public JWK object");
  try {
    return wasmJwkThumbprint(jwk);
  } catch (e) {
    throw new TypeError(`tessera-license: ${e.message}`);
  }
}

/** Every denial code, in the order the engine checks them. `REVOKED` only comes from
 *  the API; `WRONG_INSTALLATION` only from lease and machine tokens. */
export const CODES = Object.freeze([
  "MALFORMED", "WRONG_ALGORITHM", "UNKNOWN_KEY", "BAD_SIGNATURE", "WRONG_ISSUER",
  "WRONG_INSTANCE", "WRONG_PRODUCT", "NOT_YET_VALID", "EXPIRED", "LICENSE_EXPIRED",
  "TRIAL_EXPIRED", "REVOKED", "WRONG_INSTALLATION",
]);

/** Every warning code. */
export const WARNINGS = Object.freeze(["LICENSE_EXPIRING", "TOKEN_EXPIRING", "RENEWAL_DUE"]);
