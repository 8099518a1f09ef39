// tessera-license/client: an app's side of the Tessera API — its installation (a key
// pair that proves every call, RFC 9449 DPoP), floating seats (checkout, heartbeat,
// release) and node-locked machines (activate, deactivate).
//
// Plain Web APIs only (fetch, Web Crypto, timers), so it runs as is in Node ≥ 20, Deno,
// Bun, Cloudflare Workers and browsers; nothing here loads the wasm. Offline checks go
// through a `Validator` from the main entry point, passed in.

const enc = new TextEncoder();

function subtle() {
  const s = globalThis.crypto?.subtle;
  if (!s) {
    throw new Error("tessera-license: this runtime has no Web Crypto (crypto.subtle; in a browser, serve the page over https or from localhost)");
  }
  return s;
}

function b64u(bytes) {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const b64uJson = (value) => b64u(enc.encode(JSON.stringify(value)));

function claimsOf(token) {
  const part = typeof token === "string" ? token.split(".")[1] : undefined;
  if (!part) throw new TypeError("tessera-license: token must be a JWT string");
  const bin = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0))));
}

function randomId() {
  if (typeof globalThis.crypto?.randomUUID === "function") return globalThis.crypto.randomUUID();
  return b64u(globalThis.crypto.getRandomValues(new Uint8Array(16)));
}

const sha256 = async (text) => b64u(new Uint8Array(await subtle().digest("SHA-256", enc.encode(text))));

/** A timer that does not keep Node, Deno or Bun alive. */
function timer(fn, ms) {
  const t = setTimeout(fn, ms);
  if (typeof t === "object" && typeof t?.unref === "function") t.unref();
  else if (typeof t === "number" && typeof globalThis.Deno?.unrefTimer === "function") globalThis.Deno.unrefTimer(t);
  return t;
}

const sleep = (ms) => new Promise((ok) => timer(ok, ms));

// ---------------------------------------------------------------------------------
// Installations

/** RFC 7638: base64url SHA-256 of the key's required members, in lexicographic order. */
function thumbprint(jwk) {
  if (jwk === null || typeof jwk !== "object") throw new TypeError("tessera-license: jwk must be a public JWK object");
  let canonical;
  if (jwk.kty === "OKP" && jwk.crv === "Ed25519" && typeof jwk.x === "string") {
    canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x });
  } else if (jwk.kty === "EC" && jwk.crv === "P-256" && typeof jwk.x === "string" && typeof jwk.y === "string") {
    canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  } else {
    throw new TypeError("tessera-license: not an Ed25519 (OKP) or P-256 (EC) public JWK");
  }
  return sha256(canonical);
}

const ALGORITHMS = {
  Ed25519: { alg: "EdDSA", key: { name: "Ed25519" }, sign: { name: "Ed25519" } },
  "P-256": { alg: "ES256", key: { name: "ECDSA", namedCurve: "P-256" }, sign: { name: "ECDSA", hash: "SHA-256" } },
};

/** The public members of a JWK (private or public) of either algorithm. */
function publicOf(jwk) {
  return jwk.kty === "OKP" ? { kty: "OKP", crv: jwk.crv, x: jwk.x } : { kty: "EC", crv: jwk.crv, x: jwk.x, y: jwk.y };
}

function algorithmOfJwk(jwk) {
  if (jwk?.kty === "OKP" && jwk.crv === "Ed25519") return "Ed25519";
  if (jwk?.kty === "EC" && jwk.crv === "P-256") return "P-256";
  throw new TypeError("tessera-license: the stored key is not an Ed25519 or P-256 key");
}

function algorithmOfKey(key) {
  const { name, namedCurve } = key.algorithm ?? {};
  if (name === "Ed25519" || name === "NODE-ED25519") return "Ed25519";
  if (name === "ECDSA" && namedCurve === "P-256") return "P-256";
  throw new TypeError("tessera-license: the stored key is not an Ed25519 or P-256 key");
}

/** Generate a key pair; Ed25519 falls back to P-256 where Web Crypto lacks it. */
async function generate(algorithm, extractable) {
  if (algorithm === "Ed25519") {
    try {
      return { algorithm, keys: await subtle().generateKey(ALGORITHMS.Ed25519.key, extractable, ["sign", "verify"]) };
    } catch {
      algorithm = "P-256";
    }
  }
  return { algorithm, keys: await subtle().generateKey(ALGORITHMS[algorithm].key, extractable, ["sign", "verify"]) };
}

const INTERNAL = Symbol("tessera-license.installation");

/**
 * An installation of the app: its key pair (kept by a storage adapter) and its
 * identity, the RFC 7638 thumbprint of its public key. Every API call it makes carries a
 * DPoP proof signed with the key; the tokens the API answers are bound to it.
 * Create one with `await Installation.load({ storage, algorithm })`.
 */
export class Installation {
  #privateKey;
  #algorithm;
  #publicJwk;
  #thumbprint;
  #offsetMs = 0;

  constructor(internal, privateKey, algorithm, publicJwk, jkt) {
    if (internal !== INTERNAL) throw new TypeError("tessera-license: use await Installation.load(...)");
    this.#privateKey = privateKey;
    this.#algorithm = algorithm;
    this.#publicJwk = publicJwk;
    this.#thumbprint = jkt;
  }

  /**
   * Load the installation's key from `storage`, or generate one and store it.
   * @param options `{ storage?, algorithm? }`: storage defaults to `memoryStorage()`
   *   (a new installation each run); algorithm `"Ed25519"` (default; P-256 where the
   *   runtime's Web Crypto lacks Ed25519) or `"P-256"`. A stored key keeps its own
   *   algorithm.
   */
  static async load({ storage = memoryStorage(), algorithm = "Ed25519" } = {}) {
    if (storage === null || typeof storage !== "object" || typeof storage.get !== "function" || typeof storage.set !== "function") {
      throw new TypeError("tessera-license: storage must be an object with get() and set(value)");
    }
    if (!(algorithm in ALGORITHMS)) throw new TypeError('tessera-license: algorithm must be "Ed25519" or "P-256"');
    let stored = await storage.get();
    if (stored === undefined || stored === null) {
      const asJwk = (storage.format ?? "jwk") === "jwk";
      const made = await generate(algorithm, asJwk);
      const value = asJwk
        ? { privateKey: await subtle().exportKey("jwk", made.keys.privateKey), publicKey: publicOf(await subtle().exportKey("jwk", made.keys.publicKey)) }
        : made.keys;
      await storage.set(value);
      // What is stored now: ours, or the key another process stored first.
      stored = (await storage.get()) ?? value;
    }
    return Installation.#from(stored);
  }

  static async #from(stored) {
    if (stored === null || typeof stored !== "object") throw new TypeError("tessera-license: the stored installation is not a key pair");
    const jwk = stored.privateKey?.kty ? stored.privateKey : stored.kty && stored.d ? stored : undefined;
    let privateKey;
    let algorithm;
    let publicJwk;
    if (jwk) {
      algorithm = algorithmOfJwk(jwk);
      publicJwk = publicOf(jwk);
      const { kty, crv, x, y, d } = jwk;
      const clean = algorithm === "Ed25519" ? { kty, crv, x, d } : { kty, crv, x, y, d };
      privateKey = await subtle().importKey("jwk", clean, ALGORITHMS[algorithm].key, false, ["sign"]);
    } else if (stored.privateKey && stored.publicKey) {
      privateKey = stored.privateKey;
      algorithm = algorithmOfKey(privateKey);
      publicJwk = publicOf(await subtle().exportKey("jwk", stored.publicKey));
    } else {
      throw new TypeError("tessera-license: the stored installation is neither a JWK pair nor a CryptoKeyPair");
    }
    return new Installation(INTERNAL, privateKey, algorithm, publicJwk, await thumbprint(publicJwk));
  }

  /** `"Ed25519"` or `"P-256"`. */
  get algorithm() {
    return this.#algorithm;
  }

  /** The installation's identity: the RFC 7638 thumbprint of its public key. */
  get thumbprint() {
    return this.#thumbprint;
  }

  /** The public key as a JWK (`{kty, crv, x}` or `{kty, crv, x, y}`). */
  get publicJwk() {
    return { ...this.#publicJwk };
  }

  /** How far the server's clock is ahead of this one, in milliseconds (as learned). */
  get clockOffset() {
    return this.#offsetMs;
  }

  /**
   * Learn the server's clock from a response's `Date` header (a proof's `iat` must be
   * within 120 s of the server's time). Returns how much the offset changed, in ms.
   */
  learnClock(response) {
    const date = response?.headers?.get?.("Date");
    const server = date ? Date.parse(date) : Number.NaN;
    if (!Number.isFinite(server)) return 0;
    // The header has whole seconds: the server's time is half a second later on average.
    const offset = server + 500 - Date.now();
    const next = Math.abs(offset) < 2_000 ? 0 : offset;
    const change = next - this.#offsetMs;
    this.#offsetMs = next;
    return change;
  }

  /**
   * A DPoP proof (RFC 9449) for one request: the value of its `DPoP` header.
   * @param method the HTTP method
   * @param url the request's full URL (any query is left out of `htu`)
   * @param options `{ token? }`: the token the request presents, whose hash (`ath`) the
   *   proof carries
   */
  async proof(method, url, { token } = {}) {
    if (typeof method !== "string" || method === "") throw new TypeError("tessera-license: method must be a string");
    const htu = String(url).split(/[?#]/)[0];
    const header = { typ: "dpop+jwt", alg: ALGORITHMS[this.#algorithm].alg, jwk: this.#publicJwk };
    const claims = { jti: randomId(), htm: method.toUpperCase(), htu, iat: Math.floor((Date.now() + this.#offsetMs) / 1000) };
    if (token !== undefined && token !== null) claims.ath = await sha256(String(token));
    const input = `${b64uJson(header)}.${b64uJson(claims)}`;
    const signature = await subtle().sign(ALGORITHMS[this.#algorithm].sign, this.#privateKey, enc.encode(input));
    return `${input}.${b64u(new Uint8Array(signature))}`;
  }
}

// ---------------------------------------------------------------------------------
// Storage adapters. `get()` answers what `set(value)` stored (or undefined); `format`
// says what the installation hands to `set`: "jwk" (a JWK pair, extractable) or
// "cryptokey" (a non-extractable CryptoKeyPair). Each `set` here keeps a key that is
// already stored, so two processes starting at once end up with one installation.

/** In memory: a new installation per process (tests, short-lived tools). */
export function memoryStorage() {
  let value;
  return {
    format: "cryptokey",
    get: async () => value,
    set: async (v) => {
      value ??= v;
    },
  };
}

// Only when a file is used: nothing else here needs Node's modules (bundlers for
// Workers and browsers leave the dynamic import alone).
const nodeFs = () => import("node:fs/promises");

/** `file` with `suffix` appended, and its directory: strings or file: URLs. */
function sibling(file, suffix) {
  return file instanceof URL ? new URL(`${file.href}${suffix}`) : `${file}${suffix}`;
}

function directoryOf(file) {
  if (file instanceof URL) return new URL(".", file);
  const i = Math.max(file.lastIndexOf("/"), file.lastIndexOf("\\"));
  return i < 0 ? "." : i === 0 ? file.slice(0, 1) : file.slice(0, i);
}

/**
 * A file (Node, Deno, Bun): the private JWK as JSON, mode 0600, in a directory made
 * with mode 0700 if missing.
 */
export function fileStorage(file) {
  if (!(typeof file === "string" && file !== "") && !(file instanceof URL)) {
    throw new TypeError("tessera-license: fileStorage needs a path");
  }
  return {
    format: "jwk",
    async get() {
      const fs = await nodeFs();
      let text;
      try {
        text = await fs.readFile(file, "utf8");
      } catch (e) {
        if (e?.code === "ENOENT") return undefined;
        throw e;
      }
      return JSON.parse(text);
    },
    async set(value) {
      const fs = await nodeFs();
      await fs.mkdir(directoryOf(file), { recursive: true, mode: 0o700 });
      const text = `${JSON.stringify(value, null, 2)}\n`;
      const tmp = sibling(file, `.${randomId()}.tmp`);
      await fs.writeFile(tmp, text, { mode: 0o600, flag: "wx" });
      try {
        await fs.chmod(tmp, 0o600);
        try {
          // A hard link appears whole, and never replaces a key already there.
          await fs.link(tmp, file);
        } catch (e) {
          if (e?.code === "EEXIST") return;
          // A file system without hard links: create it exclusively instead.
          try {
            await fs.writeFile(file, text, { mode: 0o600, flag: "wx" });
          } catch (e2) {
            if (e2?.code !== "EEXIST") throw e2;
          }
        }
      } finally {
        await fs.rm(tmp, { force: true });
      }
    },
  };
}

/**
 * IndexedDB (browsers): a non-extractable CryptoKeyPair, stored by structured clone, so
 * no script can read the private key out.
 */
export function indexedDbStorage(name = "tessera-license") {
  if (typeof name !== "string" || name === "") throw new TypeError("tessera-license: the database name must be a string");
  const STORE = "installation";
  const KEY = "key";
  const open = () =>
    new Promise((ok, fail) => {
      if (typeof globalThis.indexedDB === "undefined") {
        fail(new Error("tessera-license: this runtime has no IndexedDB"));
        return;
      }
      const req = globalThis.indexedDB.open(name, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE);
      req.onsuccess = () => ok(req.result);
      req.onerror = () => fail(req.error);
    });
  const run = async (mode, action) => {
    const db = await open();
    try {
      return await new Promise((ok, fail) => {
        const tx = db.transaction(STORE, mode);
        const req = action(tx.objectStore(STORE));
        tx.oncomplete = () => ok(req.result);
        tx.onabort = () => fail(tx.error ?? req.error);
      });
    } finally {
      db.close();
    }
  };
  return {
    format: "cryptokey",
    get: () => run("readonly", (store) => store.get(KEY)),
    async set(value) {
      try {
        await run("readwrite", (store) => store.add(value, KEY));
      } catch (e) {
        if (e?.name !== "ConstraintError") throw e; // another tab stored one first
      }
    },
  };
}

// ---------------------------------------------------------------------------------
// Requests

/** The API refused a call (`code` from its error envelope), or could not be reached. */
export class TesseraError extends Error {
  constructor(code, message, { status = 0, retryAfter = null, cause } = {}) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "TesseraError";
    /** The API's code (`NO_SEAT_AVAILABLE`, ...), or `NETWORK_ERROR` (status 0). */
    this.code = code;
    /** The HTTP status; 0 when no answer came. */
    this.status = status;
    /** Seconds to wait before trying again (`Retry-After`), or null. */
    this.retryAfter = retryAfter;
  }
}

function retryAfterOf(res) {
  const value = res.headers.get("Retry-After");
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, Math.ceil((at - Date.now()) / 1000)) : null;
}

function baseUrl(url) {
  if (typeof url !== "string" || !/^https?:\/\/[^/]/i.test(url)) {
    throw new TypeError("tessera-license: url must be the API's http(s) URL, e.g. https://licenses.example.com");
  }
  return url.replace(/\/+$/, "");
}

function fetchOf(fetchImpl) {
  if (fetchImpl !== undefined) {
    if (typeof fetchImpl !== "function") throw new TypeError("tessera-license: fetch must be a function");
    return fetchImpl;
  }
  if (typeof globalThis.fetch !== "function") throw new TypeError("tessera-license: no fetch in this runtime; pass one");
  return (...args) => globalThis.fetch(...args);
}

function checkInstallation(installation) {
  if (!(installation instanceof Installation)) {
    throw new TypeError("tessera-license: installation must be an Installation (await Installation.load(...))");
  }
  return installation;
}

const TIMEOUT_MS = 30_000;

/**
 * One API call with a fresh DPoP proof. Answers `{ status, body }` on success and throws a
 * TesseraError otherwise. A proof refused while the server's clock turns out to be far
 * from ours is sent once more, with the clock learned from the answer.
 */
async function request(fetchImpl, installation, method, url, { token, body, headers = {}, timeoutMs = TIMEOUT_MS } = {}) {
  for (let attempt = 0; ; attempt++) {
    const h = { ...headers, DPoP: await installation.proof(method, url, { token }) };
    if (token) h.Authorization = `DPoP ${token}`;
    if (body !== undefined) h["Content-Type"] = "application/json";
    const abort = new AbortController();
    const t = timer(() => abort.abort(), timeoutMs);
    let res;
    let text;
    try {
      res = await fetchImpl(url, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body), signal: abort.signal });
      text = await res.text();
    } catch (e) {
      throw new TesseraError("NETWORK_ERROR", `tessera-license: ${method} ${url} failed: ${e?.message ?? e}`, { cause: e });
    } finally {
      clearTimeout(t);
    }
    const shift = installation.learnClock(res);
    let parsed = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {}
    if (res.ok) return { status: res.status, body: parsed };
    const code = parsed?.error?.code ?? (res.status >= 500 ? "SERVER_ERROR" : `HTTP_${res.status}`);
    if (res.status === 401 && code === "INVALID_PROOF" && Math.abs(shift) >= 60_000 && attempt === 0) continue;
    throw new TesseraError(code, parsed?.error?.message ?? `HTTP ${res.status}`, { status: res.status, retryAfter: retryAfterOf(res) });
  }
}

// ---------------------------------------------------------------------------------
// Seats

/** Heartbeat retries: the server answers a retry again (not a clone) for 60 s. */
const RETRY_WINDOW_MS = 45_000;
const RETRY_ATTEMPTS = 5;

/**
 * One user's floating seat of one product, held by this installation: check out, keep
 * it with heartbeats (`start()` runs them), release it.
 */
export class SeatClient {
  #url;
  #license;
  #product;
  #user;
  #host;
  #installation;
  #validator;
  #fetch;
  #onLost;
  #onError;
  #timeoutMs;
  #lease = null;
  #token = null;
  #beating;
  #pending;
  #running = false;
  #timer;

  /**
   * @param options `{ url, license, product, user, host?, installation, validator?,
   *   fetch?, onLost?, onError?, timeoutMs? }`
   */
  constructor({ url, license, product, user, host, installation, validator, fetch, onLost, onError, timeoutMs = TIMEOUT_MS } = {}) {
    this.#url = baseUrl(url);
    for (const [name, value] of [["license", license], ["product", product], ["user", user]]) {
      if (typeof value !== "string" || value === "") throw new TypeError(`tessera-license: ${name} must be a non-empty string`);
    }
    if (host !== undefined && typeof host !== "string") throw new TypeError("tessera-license: host must be a string");
    if (validator !== undefined && typeof validator?.validateLease !== "function") {
      throw new TypeError("tessera-license: validator must be a Validator (with validateLease)");
    }
    for (const [name, fn] of [["onLost", onLost], ["onError", onError]]) {
      if (fn !== undefined && typeof fn !== "function") throw new TypeError(`tessera-license: ${name} must be a function`);
    }
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new TypeError("tessera-license: timeoutMs must be a positive number");
    this.#license = license;
    this.#product = product;
    this.#user = user;
    this.#host = host;
    this.#installation = checkInstallation(installation);
    this.#validator = validator;
    this.#fetch = fetchOf(fetch);
    this.#onLost = onLost;
    this.#onError = onError;
    this.#timeoutMs = timeoutMs;
  }

  /** The lease held (`{ id, lid, product, user, host, installation, generation, since,
   *  expires_at, heartbeat_seconds, overage }`), or null. */
  get lease() {
    return this.#lease;
  }

  /** The current lease token (only the newest generation works), or null. */
  get token() {
    return this.#token;
  }

  #call(route, options) {
    return request(this.#fetch, this.#installation, "POST", `${this.#url}/api/seats/${route}`, { timeoutMs: this.#timeoutMs, ...options });
  }

  #hold(answer) {
    this.#lease = answer.lease;
    this.#token = answer.token;
    return { lease: answer.lease, token: answer.token };
  }

  #lose(code) {
    this.stop();
    this.#lease = null;
    this.#token = null;
    this.#pending = undefined;
    try {
      this.#onLost?.(code);
    } catch {}
  }

  /** Take a seat (or refresh this installation's). Throws a TesseraError when refused. */
  async checkout() {
    const body = { license: this.#license, product: this.#product, user: this.#user };
    if (this.#host !== undefined) body.host = this.#host;
    const { body: answer } = await this.#call("checkout", { body });
    this.#pending = undefined;
    return this.#hold(answer);
  }

  /**
   * Extend the lease: the answer's token (the next generation) replaces the current
   * one. A lost answer is retried with the same token and Idempotency-Key. On 410 the
   * lease is gone: it is cleared, `onLost(code)` is called, and the TesseraError thrown.
   */
  heartbeat() {
    this.#beating ??= this.#beat().finally(() => {
      this.#beating = undefined;
    });
    return this.#beating;
  }

  async #beat() {
    const token = this.#token;
    if (!token) throw new TesseraError("NO_LEASE", "tessera-license: no lease to heartbeat: check out first");
    // One key per token: a heartbeat whose answer never came is retried as itself.
    if (this.#pending?.token !== token) this.#pending = { token, key: randomId() };
    const { key } = this.#pending;
    const deadline = Date.now() + RETRY_WINDOW_MS;
    for (let attempt = 1; ; attempt++) {
      try {
        const { body } = await this.#call("heartbeat", { token, headers: { "Idempotency-Key": key } });
        this.#pending = undefined;
        if (this.#token !== token) return { lease: body.lease, token: body.token }; // released meanwhile
        return this.#hold(body);
      } catch (e) {
        if (e.status === 410) {
          if (this.#token === token) this.#lose(e.code);
          throw e;
        }
        const wait = 1000 * 2 ** (attempt - 1) * (0.8 + 0.4 * Math.random());
        const retry = e.code === "NETWORK_ERROR" || e.status >= 500;
        if (!retry || attempt >= RETRY_ATTEMPTS || Date.now() + wait > deadline || this.#token !== token) throw e;
        await sleep(wait);
      }
    }
  }

  /**
   * Heartbeat every `lease.heartbeat_seconds` until `stop()`, `release()` or the lease
   * is lost. Failures other than a lost lease go to `onError` and are tried again
   * sooner; past the lease's end it is lost (`onLost("LEASE_EXPIRED")`).
   */
  start() {
    if (!this.#token) throw new TesseraError("NO_LEASE", "tessera-license: check out before starting heartbeats");
    if (this.#running) return;
    this.#running = true;
    this.#schedule(this.#lease.heartbeat_seconds);
  }

  /** Stop the heartbeats (the lease stays held until it expires or is released). */
  stop() {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(seconds) {
    clearTimeout(this.#timer);
    this.#timer = timer(() => this.#tick(), Math.max(1, seconds) * 1000);
  }

  async #tick() {
    if (!this.#running) return;
    try {
      await this.heartbeat();
      if (this.#running) this.#schedule(this.#lease.heartbeat_seconds);
    } catch (e) {
      if (!this.#running || !this.#token) return;
      const serverNow = (Date.now() + this.#installation.clockOffset) / 1000;
      if (serverNow >= this.#lease.expires_at) {
        this.#lose("LEASE_EXPIRED");
        return;
      }
      try {
        this.#onError?.(e);
      } catch {}
      this.#schedule(Math.min(this.#lease.heartbeat_seconds, 30));
    }
  }

  /** Give the seat back (stops the heartbeats). Nothing held: nothing to do. */
  async release() {
    this.stop();
    await this.#beating?.catch(() => {});
    const token = this.#token;
    if (!token) return;
    try {
      await this.#call("release", { token });
    } catch (e) {
      if (e.status !== 410) throw e;
    }
    if (this.#token === token) {
      this.#lease = null;
      this.#token = null;
      this.#pending = undefined;
    }
  }

  /**
   * Check the current lease token offline with the validator, bound to this
   * installation: valid until the lease ends, network or not.
   */
  validate(now = Date.now()) {
    if (!this.#validator) throw new TypeError("tessera-license: pass a validator to the SeatClient to validate offline");
    if (!this.#token) return { valid: false, code: "NO_LEASE", claims: null, warnings: [] };
    return this.#validator.validateLease(this.#token, now, { installation: this.#installation.thumbprint });
  }
}

// ---------------------------------------------------------------------------------
// Machines

/**
 * Activate a (node-locked) license on this installation. Answers `{ machine, token,
 * created }`: `created` false when it was active here already. The machine token is
 * what the app checks offline at start (`validator.validateMachine`).
 */
export async function activate({ url, license, installation, name, platform, fingerprint, fetch } = {}) {
  const base = baseUrl(url);
  if (typeof license !== "string" || license === "") throw new TypeError("tessera-license: license must be a non-empty string");
  const body = { license };
  for (const [field, value] of [["name", name], ["platform", platform], ["fingerprint", fingerprint]]) {
    if (value === undefined) continue;
    if (typeof value !== "string") throw new TypeError(`tessera-license: ${field} must be a string`);
    body[field] = value;
  }
  const { status, body: answer } = await request(fetchOf(fetch), checkInstallation(installation), "POST", `${base}/api/machines/activate`, { body });
  return { machine: answer.machine, token: answer.token, created: status === 201 };
}

/** Deactivate this installation's machine (the one `token` names). Answers the machine. */
export async function deactivate({ url, token, installation, fetch } = {}) {
  const base = baseUrl(url);
  const id = claimsOf(token).jti;
  if (typeof id !== "string" || id === "") throw new TypeError("tessera-license: not a machine token");
  const target = `${base}/api/machines/${encodeURIComponent(id)}`;
  const { body } = await request(fetchOf(fetch), checkInstallation(installation), "DELETE", target, { token });
  return body;
}
