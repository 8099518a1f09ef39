//! Tessera's licensing engine: every licensing rule, and nothing else.
//!
//! The decisions are *sans-I/O*: they never read a clock or draw randomness. Time comes
//! in as `now` (Unix seconds, or epoch milliseconds where an alarm is scheduled), random
//! bytes and fresh ids come in as arguments, and a decision is a pure function of its
//! inputs, so a test pins every boundary to the second. Storage is the shells' too: the
//! one service that reads and writes records, [`Licensing`], does it through two traits
//! ([`Store`], [`LiveState`]) the worker implements over Workers KV and Durable Objects
//! and tests over memory.
//!
//! # Layout
//!
//! The `no_std` + `alloc` core — the domain model and every decision — builds for
//! `wasm32v1-none` with `--no-default-features`:
//!
//! - `claims` ([`LicenseClaims`]): the license claims of seed 004, with their exact JSON
//!   names.
//! - `decision` ([`Decision`]): [`check_claims`] turns verified claims, [`Expectations`]
//!   and `now` into `Allow` with [`Warning`]s, or `Deny` with a stable [`DenyCode`].
//! - `identity` ([`identity`]): the one canonical form of a user or product name (trim,
//!   NFKC, full case folding, invisible characters dropped), compared everywhere.
//! - `instance` ([`normalize_instance`]): the canonical form of an instance's root URL,
//!   so `https://Example.org` and `https://example.org/` are the same instance.
//! - `renewal` ([`renew`]): the claims of a fresh token for the same license.
//! - `error` ([`Error`]): the crate's one error enum ("could not evaluate", never
//!   "denied").
//! - `roles` ([`Role`]): roles and the `resource:action` [`Permission`]s each grants.
//! - `limits` ([`Attempts`]): sliding-window limits on attempts (failed sign-ins).
//! - `password` ([`PasswordHash`]): the stored password-hash format and its
//!   constant-time check (the derivation itself runs in the shell's native crypto).
//! - `seats/`: floating seats. `mod.rs` holds the model (terms, leases, sessions, the
//!   vault's [`DenyState`], [`SeatEvent`]s, [`Changes`]); `pool.rs` the decisions of one
//!   license's [`Pool`] (checkout, heartbeat, release, expiry, revocation, deny state);
//!   `sync.rs` the schedule of a license's object ([`LicenseSync`]): when to wake, when
//!   to report to the roll-up, how long its copy of the deny state stays fresh, when
//!   to hand events over and how far to back off; `vault.rs` the vault directory's rules
//!   (the block cap, which roll-up shard keeps a license, which report wins);
//!   `rollup.rs` how the vault's reads merge the shards.
//! - `reports/`: the usage report computed from seat spans ([`usage`]: peak seats,
//!   seat-hours, distinct users per interval, over a checked [`ReportRange`]), and in
//!   `spans.rs` the spans events open and close — an agent's ([`AgentEvent`],
//!   [`agent_spans`]) and Tessera's own ([`license_span_edge`]).
//! - `store` ([`Store`], [`LiveState`], [`KeyUses`]): the storage traits the shells
//!   implement, and [`MemoryStore`] / [`MemoryLiveState`] / [`MemoryKeyUses`] for tests.
//! - `api` (feature `serde`): the JSON shapes the worker and the console share.
//! - `accounts` (feature `serde`): users and API tokens — wire shapes ([`UserView`],
//!   [`ApiToken`], ...) and the rules for changing them (no escalation, the last server
//!   administrator stays, Agent tokens are for administrators).
//! - `records` (feature `serde`): license records and requests ([`IssueRequest`],
//!   [`LicenseRecord`], [`LicenseStatus`], ...), shared by the worker and the console.
//!
//! Behind the `verify` feature (needs `std`), what a verifier links:
//!
//! - `ed25519/`: Ed25519 verification for trusted keys over precomputed tables (two
//!   table multiplications instead of a double-scalar one), equal to `ed25519-dalek`'s
//!   answers; `signer.rs` (feature `sign`) the issuer's constant-time signer.
//! - `keys` ([`KeySet`], [`Jwks`]): the public keys a verifier trusts, with JWKS import
//!   and export (RFC 8037 `OKP` keys, RFC 7638 thumbprints as `kid`s).
//! - `installation` ([`InstallationKey`]): an installation's public key (Ed25519 or
//!   P-256 JWK) and its RFC 7638 thumbprint, the installation's identity.
//! - `token`: [`validate`] and [`verify`] — signature first, then [`check_claims`] — and
//!   lease tokens ([`verify_lease`], [`judge_lease`]).
//!
//! Behind the `dpop` feature, `dpop` ([`verify_proof`]): RFC 9449 proofs of
//! possession from installations, EdDSA and ES256.
//!
//! Behind the `sign` feature, the issuer's side:
//!
//! - `signing` ([`SigningKey`], [`sign`], [`sign_lease`]; [`Sign`] and [`sign_with`] for
//!   a signer the shell holds, the worker's Web Crypto keys).
//! - `crypto`: an EdDSA-only `jsonwebtoken` `CryptoProvider` over `ed25519`, so no RSA
//!   or NIST-curve code is linked.
//! - `keyring` ([`Keyring`]): a root key from a secret plus rotated keys, stored sealed
//!   (`seal.rs`: ChaCha20-Poly1305 under a key of the deployment secret's), published
//!   before they sign, retired once no token needs them or at once (the compromise
//!   drill); an entry that does not open is skipped and listed, never fatal.
//! - `secret` ([`DeploymentSecret`]): the deployment's secret, apart from every
//!   signing key, and the MACs derived from it (device cookies, token secrets' tags).
//! - `licensing` ([`Licensing`]): the service over a [`Store`] and a [`LiveState`]:
//!   issue, list, revoke, and seed 004's check / apply / renew / remove of an
//!   instance's applied license. Its operations are async (they await the stores) but
//!   decide nothing the pure functions above do not.
//!
//! The npm package's WebAssembly is its own crate (`validator/`), built on `verify`.
//!
//! # Features
//!
//! - `std`: standard library support.
//! - `serde`: serde derives on the domain model.
//! - `verify`: verification and JWKS; implies `std` and `serde`.
//! - `sign` (default): signing, the keyring and the licensing service; implies `verify`.
//! - `dpop` (default): verifying DPoP proofs; implies `verify`.
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
mod identity;
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

#[cfg(feature = "sign")]
mod crypto;
#[cfg(feature = "dpop")]
mod dpop;
#[cfg(feature = "verify")]
mod ed25519;
#[cfg(feature = "verify")]
mod installation;
#[cfg(feature = "sign")]
mod keyring;
#[cfg(feature = "verify")]
mod keys;
#[cfg(feature = "sign")]
mod licensing;
#[cfg(feature = "sign")]
mod secret;
#[cfg(feature = "sign")]
mod signing;
#[cfg(feature = "verify")]
mod token;

pub use claims::{DAY, LicenseClaims, MAX_TIMESTAMP};
pub use decision::{
    Decision, DenyCode, Expectations, License, Warning, check_claims, judge_claims,
};
pub use error::Error;
pub use identity::identity;
pub use instance::{MAX_INSTANCE_BYTES, normalize_instance};
pub use limits::{
    Attempts, Backoff, Limit, SIGN_IN_PER_ADDRESS, SIGN_IN_PER_CLIENT, SIGN_IN_PER_USER, Window,
    sign_in_limits,
};
pub use password::{PBKDF2_ITERATIONS, PasswordHash, constant_time_eq};
pub use renewal::renew;
pub use reports::{
    AGENT_CLOCK_SKEW, AgentEvent, AgentEventType, Close, Interval, IntervalUsage, MAX_AGENT_BATCH,
    MAX_BUCKETS, MAX_REASON_BYTES, OpenSpan, ReportRange, Span, SpanEdge, UsageReport, UserUsage,
    agent_spans, license_span_edge, usage,
};
pub use roles::{Credential, Module, Permission, Role, VAULT_TOKEN_PERMISSIONS, allows};
pub use seats::{
    Activation, ActivationRefused, Changes, Checkout, DEFAULT_LEASE_SECONDS, DENIAL_WINDOW_SECONDS,
    DENIALS_PER_DAY, DenialLog, DenyState, Gone, Holding, Lease, MACHINE_TOKEN_SECONDS,
    MAX_HOST_BYTES, MAX_LEASE_SECONDS, MAX_MACHINE_FIELD_BYTES, MAX_MACHINES, MAX_OPEN_WINDOWS,
    MAX_USER_BYTES, MIN_LEASE_SECONDS, Machine, MachineDetails, OTHER_PRODUCT, Pool, PoolSnapshot,
    PoolState, RETRY_SECONDS, Revocation, SeatDenial, SeatEvent, SeatEventKind, SeatNames,
    SeatRequest, SeatTerms, Session, check_lease_seconds, check_seat_request, lease_lid,
    product_identity, seat_names, user_identity,
};
/// The schedule of a license's object: reports, the deny state's freshness, the outbox.
pub mod sync {
    pub use crate::seats::sync::*;
}
/// The vault directory's rules: blocks, "revoke all" marks, pushes, reports, free seats;
/// the roll-up's shards and how reads merge them.
pub mod vault {
    #[cfg(feature = "serde")]
    pub use crate::seats::rollup::*;
    pub use crate::seats::vault::*;
}
pub use store::{KeyUses, LiveState, MemoryKeyUses, MemoryLiveState, MemoryStore, Store};

#[cfg(feature = "serde")]
pub use accounts::{
    ApiToken, CreateToken, CreateUser, CreatedToken, GeneratedVaultToken, MAX_DESCRIPTION,
    TokenScope, TokenStatus, TokenViewer, UpdateToken, UpdateUser, UserView, VaultTokenInfo,
    check_create_token, check_description, keeps_a_server_admin, looks_like_secret, may_manage,
    may_see_token, new_secret, secret_prefix, session_stands, update_token, vault_token_stands,
};
#[cfg(feature = "sign")]
pub use crypto::install_crypto_provider;
#[cfg(feature = "dpop")]
pub use dpop::{
    DPOP_TYP, MAX_PROOF_BYTES, PROOF_WINDOW_SECONDS, Proof, ProofError, ProofRequest,
    check_binding, normalize_htu, token_hash, verify_proof,
};
#[cfg(feature = "verify")]
pub use installation::{InstallationKey, MAX_THUMBPRINT_BYTES, PublicJwk, plausible_thumbprint};
#[cfg(feature = "sign")]
pub use keyring::{KeyUse, Keyring, MAX_LIVE_KEYS, Opened, Retired, RotatedKey};
#[cfg(feature = "verify")]
pub use keys::{Jwks, KeySet};
#[cfg(feature = "sign")]
pub use licensing::Licensing;
#[cfg(feature = "serde")]
pub use records::{
    AppliedLicense, AppliedView, DEFAULT_ACTIVATIONS_PER_DAY, DEFAULT_SESSIONS, IssueRequest,
    LicenseRecord, LicenseState, LicenseStatus, instance_field, plausible_id,
};
#[cfg(feature = "sign")]
pub use secret::{DeploymentSecret, Purpose, SecretCheck};
#[cfg(feature = "sign")]
pub use signing::{Sign, SigningKey, sign, sign_lease, sign_machine, sign_with};
#[cfg(feature = "verify")]
pub use token::{
    Confirmation, LEASE_TYP, LeaseClaims, MACHINE_TYP, MAX_TOKEN_BYTES, MachineClaims, header_kid,
    judge_lease, judge_machine, validate, verify, verify_lease, verify_machine,
};
