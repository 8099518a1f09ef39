//! Tessera's licensing engine: every licensing rule, and nothing else.
//!
//! This crate is *sans-I/O*: it never reads a clock, draws randomness, or touches
//! storage. Time comes in as `now` (Unix seconds), random bytes come in as arguments,
//! and the shells (the Cloudflare Worker, the npm validator, tests) do the I/O. A
//! decision is therefore a pure function of its inputs, and a test can pin every
//! boundary to the second.
//!
//! # Layout
//!
//! The `no_std` + `alloc` core — the domain model and every decision — builds for
//! `wasm32v1-none` with `--no-default-features`:
//!
//! - [`claims`](LicenseClaims): the licence claims of seed 004, with their exact JSON names.
//! - [`decision`](Decision): [`check_claims`] turns verified claims, [`Expectations`]
//!   and `now` into a [`Decision`] — `Allow` with [`Warning`]s, or `Deny` with a
//!   stable [`DenyCode`].
//! - [`instance`](normalize_instance): the canonical form of an instance's root URL,
//!   so `https://Example.org` and `https://example.org/` are the same instance.
//! - [`renewal`](renew): the claims of a fresh token for the same licence.
//! - [`error`](Error): the crate's one error enum ("could not evaluate", never "denied").
//! - [`api`] (feature `serde`): the JSON shapes the worker and the console share.
//! - [`roles`](Role): roles and the `resource:action` [`Permission`]s each grants.
//! - [`limits`](Attempts): sliding-window limits on attempts (failed sign-ins).
//! - [`password`](PasswordHash): the stored password-hash format and its
//!   constant-time check (the derivation itself runs in the shell's native crypto).
//! - [`store`](Store): the key-value storage trait the shells implement, and
//!   [`MemoryStore`] for tests.
//! - [`seats`](Pool): floating seats — one licence's pool of leases, the vault's
//!   [`DenyState`] (blocks, disconnected products), and the [`SeatEvent`]s every
//!   grant, refresh, release, expiry, revocation and denial records.
//! - [`reports`](usage): the usage report computed from seat spans (peak seats,
//!   seat-hours, distinct users per interval), and the events an agent brings from
//!   outside licence servers ([`AgentEvent`], [`agent_spans`]).
//! - `accounts` (feature `serde`): users and API tokens — wire shapes ([`UserView`],
//!   [`ApiToken`], ...) and the rules for changing them (no escalation, the last server
//!   administrator stays, Agent tokens are for administrators).
//! - `records` (feature `serde`): licence records and requests ([`IssueRequest`],
//!   [`LicenceRecord`], [`LicenceStatus`], ...), shared by the worker and the console.
//!
//! Behind the `jwt` feature (needs `std`), the token layer:
//!
//! - `crypto`: an EdDSA-only `jsonwebtoken` `CryptoProvider` over `ed25519`, so no RSA
//!   or NIST-curve code is linked.
//! - `ed25519`: Ed25519 over precomputed tables — verification for trusted keys (two
//!   table multiplications instead of a double-scalar one) and the issuer's signatures
//!   (a constant-time table multiplication), each equal to `ed25519-dalek`'s answers.
//! - `keys`: [`SigningKey`] (an Ed25519 key with a `kid`) and [`KeySet`] (the public
//!   keys a verifier trusts), with JWKS import and export (RFC 8037 `OKP` keys).
//! - `token`: [`sign`] and [`validate`] — signature first, then [`check_claims`].
//! - `keyring`: the issuer's [`Keyring`]: a root key from a secret plus rotated keys,
//!   stored sealed (ChaCha20-Poly1305 under an HKDF of the root), published before they
//!   sign and retired once no token needs them.
//! - `licensing`: the [`Licensing`] service over a [`Store`]: issue, list, revoke, and
//!   seed 004's check / apply / renew / remove of an instance's applied licence.
//!
//! Behind the `wasm` feature, `wasm`: the wasm-bindgen surface of the npm validator
//! (`npm/`), a [`Validator`](wasm::Validator) built once from a JWKS.
//!
//! # Features
//!
//! - `std`: standard library support.
//! - `serde`: serde derives on the domain model.
//! - `jwt` (default): signing, verification and JWKS; implies `std` and `serde`.
//! - `wasm`: the npm validator's wasm-bindgen bindings; implies `jwt`.
//! - `openapi`: `utoipa::ToSchema` on every wire type, for the worker's test that
//!   generates the OpenAPI document; never part of a shipped build.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs, clippy::unwrap_used)]

extern crate alloc;
#[cfg(all(feature = "std", not(feature = "openapi")))]
extern crate std;
// utoipa's derive expands to bare `format!`: bring std's macros into scope for it.
#[cfg(feature = "openapi")]
#[macro_use]
extern crate std;

#[cfg(feature = "serde")]
mod accounts;
#[cfg(feature = "serde")]
pub mod api;
mod claims;
mod decision;
mod error;
mod instance;
mod limits;
mod password;
#[cfg(feature = "serde")]
mod records;
mod renewal;
mod reports;
mod roles;
mod seats;
mod store;

#[cfg(feature = "jwt")]
mod crypto;
#[cfg(feature = "jwt")]
mod ed25519;
#[cfg(feature = "jwt")]
mod keyring;
#[cfg(feature = "jwt")]
mod keys;
#[cfg(feature = "jwt")]
mod licensing;
#[cfg(feature = "jwt")]
mod token;
#[cfg(feature = "wasm")]
mod wasm;

pub use claims::LicenseClaims;
pub use decision::{
    Decision, DenyCode, Expectations, Licence, Warning, check_claims, judge_claims,
};
pub use error::Error;
pub use instance::{MAX_INSTANCE_BYTES, normalize_instance};
pub use limits::{Attempts, SIGN_IN_PER_ADDRESS, SIGN_IN_PER_USER, Window};
pub use password::{PBKDF2_ITERATIONS, PasswordHash, constant_time_eq};
pub use renewal::renew;
pub use reports::{
    AGENT_CLOCK_SKEW, AgentEvent, AgentEventType, Close, Interval, IntervalUsage, MAX_AGENT_BATCH,
    MAX_BUCKETS, MAX_REASON_BYTES, OpenSpan, ReportRange, Span, UsageReport, UserUsage,
    agent_spans, usage,
};
pub use roles::{Credential, Module, Permission, Role, VAULT_TOKEN_PERMISSIONS, allows};
pub use seats::{
    Changes, Checkout, DEFAULT_LEASE_SECONDS, DenyState, Holding, Lease, MAX_HOST_BYTES,
    MAX_LEASE_SECONDS, MAX_USER_BYTES, MIN_LEASE_SECONDS, Pool, PoolSnapshot, Revocation,
    SeatDenial, SeatEvent, SeatEventKind, SeatRequest, SeatTerms, Session, check_lease_seconds,
    check_seat_request, lease_lid,
};
pub use store::{LiveState, MemoryLiveState, MemoryStore, Store};

#[cfg(feature = "serde")]
pub use accounts::{
    ApiToken, CreateToken, CreateUser, CreatedToken, GeneratedVaultToken, MAX_DESCRIPTION,
    TokenScope, TokenStatus, UpdateToken, UpdateUser, UserView, VaultTokenInfo, check_create_token,
    check_description, keeps_a_server_admin, looks_like_secret, may_manage, new_secret,
    secret_prefix, update_token,
};
#[cfg(feature = "jwt")]
pub use crypto::install_crypto_provider;
#[cfg(feature = "jwt")]
pub use keyring::{KeyUse, Keyring, MAX_LIVE_KEYS, RotatedKey};
#[cfg(feature = "jwt")]
pub use keys::{KeySet, SigningKey};
#[cfg(feature = "jwt")]
pub use licensing::Licensing;
#[cfg(feature = "serde")]
pub use records::{
    AppliedLicence, AppliedView, IssueRequest, LicenceRecord, LicenceState, LicenceStatus,
    instance_field, plausible_id,
};
#[cfg(feature = "jwt")]
pub use token::{
    LEASE_TYP, LeaseClaims, MAX_TOKEN_BYTES, header_kid, judge_lease, sign, sign_lease, validate,
    verify, verify_lease,
};

/// Seconds in a day: every `*_days` claim is counted in these.
pub const DAY: u64 = 86_400;

/// The latest time a request may name (9999-12-31T23:59:59Z): later ones are refused,
/// so every time the API hands out stays exact in JavaScript (below 2^53).
pub const MAX_TIMESTAMP: u64 = 253_402_300_799;
