/** A denial code: why a license is not valid. `REVOKED` only comes from the API. */
export type DenyCode =
  | "MALFORMED" | "WRONG_ALGORITHM" | "UNKNOWN_KEY" | "BAD_SIGNATURE" | "WRONG_ISSUER"
  | "WRONG_INSTANCE" | "WRONG_PRODUCT" | "NOT_YET_VALID" | "EXPIRED" | "LICENSE_EXPIRED"
  | "TRIAL_EXPIRED" | "REVOKED";

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
}

/** The outcome of a lease validation. */
export interface LeaseResult {
  valid: boolean;
  /** `MALFORMED` (also for a license given as a lease), `UNKNOWN_KEY`, `BAD_SIGNATURE`,
   *  `WRONG_ISSUER`, `WRONG_PRODUCT` or `EXPIRED`; `null` when valid. */
  code: DenyCode | null;
  claims: LeaseClaims | null;
  warnings: [];
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
  validateLease(token: string, now?: Date | number): LeaseResult;
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
  validateLease(token: string, now?: Date | number): Promise<LeaseResult>;
}

/** `await init()` and `new Validator(...)` in one call. */
export function createValidator(jwks: JsonWebKeySet | string, expectations?: Expectations): Promise<Validator>;

export const CODES: readonly DenyCode[];
export const WARNINGS: readonly Warning["code"][];
