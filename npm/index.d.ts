/** A denial code: why a license is not valid. `REVOKED` only comes from the API;
 *  `WRONG_INSTALLATION` only from lease and machine tokens (bound to another key). */
export type DenyCode =
  | "MALFORMED" | "WRONG_ALGORITHM" | "UNKNOWN_KEY" | "BAD_SIGNATURE" | "WRONG_ISSUER"
  | "WRONG_INSTANCE" | "WRONG_PRODUCT" | "NOT_YET_VALID" | "EXPIRED" | "LICENSE_EXPIRED"
  | "TRIAL_EXPIRED" | "REVOKED" | "WRONG_INSTALLATION";

/** Something to act on soon, on a valid license. `at` is Unix seconds. */
export type Warning =
  | { code: "LICENSE_EXPIRING"; at: number; days_left: number }
  | { code: "TOKEN_EXPIRING"; at: number; days_left: number }
  | { code: "RENEWAL_DUE"; at: number };

/** A license's claims (times in Unix seconds). */
export interface Claims {
  jti: string; iss: string; sub: string;
  iat: number; exp: number; nbf: number; lexp: number;
  lid: string; limit_by: string; included_users: number;
  lic_exp_warn_days: number; tok_exp_warn_days: number; update_days: number;
  prod: string[]; company: string; account: string; slug: string;
  usage_billing: boolean; max_concurrent_user_sessions: number; details_url: string;
  trial: boolean; trial_exp: number; anonymousRatio: number;
}

/** The outcome of a validation. */
export interface Result {
  /** Whether the license is valid now. */
  valid: boolean;
  /** Why not, when not valid; `null` when valid. */
  code: DenyCode | null;
  /** The claims whenever the signature verified (even if refused); else `null`. */
  claims: Claims | null;
  /** Empty unless valid. */
  warnings: Warning[];
}

/** A lease token's claims (times in Unix seconds). */
export interface LeaseClaims {
  /** The issuing deployment. */
  iss: string;
  /** The lease id. */
  jti: string;
  /** The license it is a seat of. */
  lid: string;
  /** The product lent. */
  prod: string;
  /** The user holding it. */
  user: string;
  /** The host it was taken from ("" if none). */
  host: string;
  iat: number;
  /** When the lease ends unless heartbeated. */
  exp: number;
  /** The installation it is bound to: the thumbprint of its key. */
  cnf: { jkt: string };
  /** The token's generation: only the newest one heartbeats. */
  gen: number;
}

/** The outcome of a lease validation. */
export interface LeaseResult {
  valid: boolean;
  /** `MALFORMED` (also for a license given as a lease), `UNKNOWN_KEY`, `BAD_SIGNATURE`,
   *  `WRONG_ISSUER`, `WRONG_PRODUCT`, `WRONG_INSTALLATION` or `EXPIRED`; `null` when valid. */
  code: DenyCode | null;
  claims: LeaseClaims | null;
  warnings: [];
}

/** A machine token's claims (times in Unix seconds). */
export interface MachineClaims {
  /** The issuing deployment. */
  iss: string;
  /** The machine id. */
  jti: string;
  /** The license activated. */
  lid: string;
  /** The products the license covers. */
  prod: string[];
  /** The name the machine gave. */
  name: string;
  iat: number;
  /** When the license ends (the token with it). */
  exp: number;
  /** The installation the machine is: the thumbprint of its key. */
  cnf: { jkt: string };
}

/** The outcome of a machine validation. */
export interface MachineResult {
  valid: boolean;
  /** `MALFORMED`, `UNKNOWN_KEY`, `BAD_SIGNATURE`, `WRONG_ISSUER`, `WRONG_PRODUCT`,
   *  `WRONG_INSTALLATION` or `EXPIRED`; `null` when valid. */
  code: DenyCode | null;
  claims: MachineClaims | null;
  warnings: [];
}

/** Which installation a lease or machine token must be bound to. */
export interface BindingOptions {
  /** An Installation or its thumbprint; another's token is `WRONG_INSTALLATION`.
   *  Default: any installation. */
  installation?: Installation | string;
}

export interface Expectations {
  /** Required `iss`. */
  issuer?: string;
  /** A product `prod` must include. */
  product?: string;
  /** Required instance (`sub`), compared as a canonical root URL. */
  instance?: string;
  /** Allowed clock skew on `nbf`/`exp`, in seconds (0–86400). */
  leeway?: number;
}

export interface JsonWebKeySet {
  keys: Array<{ kty: string; crv?: string; x?: string; kid?: string; alg?: string; use?: string }>;
}

/** Load the WebAssembly module once (pass the imported module in Cloudflare Workers). */
export function init(wasm?: WebAssembly.Module | BufferSource | URL | Response): Promise<void>;

export class Validator {
  /** Parse the keys and expectations once. Throws `TypeError` on bad input. */
  constructor(jwks: JsonWebKeySet | string, expectations?: Expectations);
  /** Validate a token at `now` (a Date or epoch milliseconds; default now). */
  validate(token: string, now?: Date | number): Result;
  /** Validate a lease token from checkout or heartbeat, offline. */
  validateLease(token: string, now?: Date | number, options?: BindingOptions): LeaseResult;
  /** Validate a machine token from `activate`, offline. */
  validateMachine(token: string, now?: Date | number, options?: BindingOptions): MachineResult;
  /** Free the wasm memory now. */
  free(): void;
}

/** A validator that fetches the JWKS itself and again on an unknown `kid` (a rotation). */
export class RemoteValidator {
  /** Fetch the JWKS at `url` and build the validator. */
  static create(
    url: string,
    expectations?: Expectations,
    options?: { fetch?: typeof fetch; minRefreshSeconds?: number },
  ): Promise<RemoteValidator>;
  /** As `Validator.validate`, fetching the keys again (at most once per interval) on `UNKNOWN_KEY`. */
  validate(token: string, now?: Date | number): Promise<Result>;
  /** As `Validator.validateLease`, likewise. */
  validateLease(token: string, now?: Date | number, options?: BindingOptions): Promise<LeaseResult>;
  /** As `Validator.validateMachine`, likewise. */
  validateMachine(token: string, now?: Date | number, options?: BindingOptions): Promise<MachineResult>;
}

/** `await init()` and `new Validator(...)` in one call. */
export function createValidator(jwks: JsonWebKeySet | string, expectations?: Expectations): Promise<Validator>;

/** The RFC 7638 thumbprint of an Ed25519 or P-256 public JWK, as the engine computes it
 *  (after `await init()`). Throws `TypeError` for another key. */
export function jwkThumbprint(jwk: PublicJwk): string;

export const CODES: readonly DenyCode[];
export const WARNINGS: readonly Warning["code"][];

// ---------------------------------------------------------------------------------
// The app's side of the API (also `tessera-license/client`).

/** An installation's public key. */
export type PublicJwk =
  | { kty: "OKP"; crv: "Ed25519"; x: string }
  | { kty: "EC"; crv: "P-256"; x: string; y: string };

/** A key pair as JWKs (`fileStorage`, and app storage with `format: "jwk"`). */
export interface JwkPair {
  privateKey: JsonWebKey;
  publicKey: PublicJwk;
}

/** What a storage adapter keeps: a JWK pair, or a non-extractable CryptoKeyPair. */
export type StoredInstallation = JwkPair | { privateKey: CryptoKey; publicKey: CryptoKey };

/**
 * Where an installation's key lives. `get` answers what `set` stored, or undefined.
 * `format` says what `set` is given: `"jwk"` (default; a JWK pair, JSON-serialisable)
 * or `"cryptokey"` (a non-extractable CryptoKeyPair, for structured-clone stores).
 */
export interface InstallationStorage {
  get(): Promise<StoredInstallation | undefined | null>;
  set(value: StoredInstallation): Promise<void>;
  format?: "jwk" | "cryptokey";
}

/** In memory: a new installation per process. */
export function memoryStorage(): InstallationStorage;
/** A file (Node, Deno, Bun): the private JWK as JSON, mode 0600. */
export function fileStorage(path: string | URL): InstallationStorage;
/** IndexedDB (browsers): a non-extractable CryptoKeyPair. Default name "tessera-license". */
export function indexedDbStorage(name?: string): InstallationStorage;

/** An installation: its key pair and its identity (the key's RFC 7638 thumbprint). */
export class Installation {
  private constructor();
  /** Load the key from `storage` (default `memoryStorage()`), or generate and store one.
   *  `algorithm` defaults to "Ed25519", falling back to "P-256" where Web Crypto lacks it. */
  static load(options?: { storage?: InstallationStorage; algorithm?: "Ed25519" | "P-256" }): Promise<Installation>;
  /** The key's algorithm. */
  readonly algorithm: "Ed25519" | "P-256";
  /** The RFC 7638 thumbprint: what tokens are bound to (`cnf.jkt`). */
  readonly thumbprint: string;
  /** The public key. */
  readonly publicJwk: PublicJwk;
  /** How far the server's clock is ahead of this one, in ms, learned from `Date` headers. */
  readonly clockOffset: number;
  /** Learn the server's clock from a response's `Date` header; answers the change in ms. */
  learnClock(response: { headers: { get(name: string): string | null } }): number;
  /** A DPoP proof (RFC 9449) for `method` and `url`: the `DPoP` header's value. With
   *  `token`, the proof carries its hash (`ath`). */
  proof(method: string, url: string | URL, options?: { token?: string }): Promise<string>;
}

/** A refusal from the API (`code` from its error envelope), or `NETWORK_ERROR` (status 0)
 *  when no answer came, or `NO_LEASE` (status 0) when the client holds none. */
export class TesseraError extends Error {
  constructor(code: string, message: string, options?: { status?: number; retryAfter?: number | null; cause?: unknown });
  name: "TesseraError";
  /** E.g. `NO_SEAT_AVAILABLE`, `SESSION_LIMIT_REACHED`, `USER_BLOCKED`, `PRODUCT_DISCONNECTED`,
   *  `MACHINE_NOT_ACTIVATED`, `MACHINE_LIMIT_REACHED`, `TOO_MANY_ACTIVATIONS`, `LEASE_EXPIRED`,
   *  `LEASE_REVOKED`, `CLONE_DETECTED`, `INVALID_PROOF`, a license's code (`REVOKED`, ...). */
  code: string;
  /** The HTTP status; 0 when no answer came. */
  status: number;
  /** Seconds to wait before trying again (`Retry-After`), or null. */
  retryAfter: number | null;
}

/** A lease as the API answers it. */
export interface Lease {
  id: string;
  lid: string;
  product: string;
  user: string;
  host: string;
  /** This installation's thumbprint. */
  installation: string;
  /** The token's generation. */
  generation: number;
  since: number;
  /** When it ends unless heartbeated (Unix seconds, the server's clock). */
  expires_at: number;
  /** Heartbeat at least this often. */
  heartbeat_seconds: number;
  /** Granted beyond the license's seats (billed). */
  overage: boolean;
}

/** Checkout's and heartbeat's answer. */
export interface LeaseAnswer {
  lease: Lease;
  /** The lease token (`lease+jwt`, bound to the installation). */
  token: string;
}

export interface SeatClientOptions {
  /** The Tessera API's URL, e.g. `https://licenses.example.com`. */
  url: string;
  /** The license token the app holds. */
  license: string;
  product: string;
  user: string;
  /** A label for this machine, shown in the vault. */
  host?: string;
  installation: Installation;
  /** For `validate()`. */
  validator?: Validator;
  fetch?: typeof fetch;
  /** Called once when the lease is gone: `LEASE_EXPIRED`, `LEASE_REVOKED` or `CLONE_DETECTED`. */
  onLost?: (code: string) => void;
  /** Called when a heartbeat of `start()`'s loop fails for another reason (it tries again). */
  onError?: (error: TesseraError) => void;
  /** Per-request timeout in ms (default 30 000). */
  timeoutMs?: number;
}

/** `SeatClient.validate`'s answer when the client holds no lease. */
export interface NoLeaseResult {
  valid: false;
  code: "NO_LEASE";
  claims: null;
  warnings: [];
}

/** One user's floating seat of one product, held by this installation. */
export class SeatClient {
  constructor(options: SeatClientOptions);
  /** The lease held, or null. */
  readonly lease: Lease | null;
  /** The current lease token, or null. */
  readonly token: string | null;
  /** Take (or refresh) the seat. Throws TesseraError when refused. */
  checkout(): Promise<LeaseAnswer>;
  /** Extend the lease; the next generation's token replaces the current one. Retries a
   *  lost answer with the same Idempotency-Key. On 410 clears the lease, calls `onLost`,
   *  and throws. */
  heartbeat(): Promise<LeaseAnswer>;
  /** Heartbeat every `lease.heartbeat_seconds` (timers that do not keep the process alive). */
  start(): void;
  stop(): void;
  /** Give the seat back and stop heartbeating. */
  release(): Promise<void>;
  /** Check the lease token offline with the validator, bound to this installation;
   *  `NO_LEASE` when none is held. */
  validate(now?: Date | number): LeaseResult | NoLeaseResult;
}

/** A machine (an installation a license is activated on). */
export interface Machine {
  id: string;
  lid: string;
  /** The installation's thumbprint. */
  thumbprint: string;
  name: string;
  platform: string;
  activated_at: number;
}

/** Activate a license on this installation. `created` is false when it was active already. */
export function activate(options: {
  url: string;
  license: string;
  installation: Installation;
  name?: string;
  platform?: string;
  fingerprint?: string;
  fetch?: typeof fetch;
}): Promise<{ machine: Machine; token: string; created: boolean }>;

/** Deactivate the machine `token` (a machine token) names, as that installation. */
export function deactivate(options: {
  url: string;
  token: string;
  installation: Installation;
  fetch?: typeof fetch;
}): Promise<Machine>;
