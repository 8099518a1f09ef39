//! The worker's Durable Objects, one folder each, and the shell code they share.
//!
//! Each object is a folder: `protocol.rs` (its calls, its typed answers, and the client
//! that asks — the only file other rooms import), `mod.rs` (the shell: decode, ask the
//! engine, write, answer) and `store.rs` (its SQL). Every call answers
//! `Result<T, WireError>` ([`crate::error::WireError`]); the decisions are the engine's.
//!
//! - `license/`: `LicenseObject`, one per license (`lid`): its seat terms, revocation,
//!   leases and seat events — the unit that must be consistent. Seat requests for
//!   different licenses never queue behind one object.
//! - `directory/`: `VaultDirectory`, one per deployment: the vault's deny state (blocks,
//!   disconnected products, "revoke all"), published to KV and delivered to the roll-up's
//!   shards. Never on an app's path.
//! - `rollup/`: `VaultRollup`, eight per deployment: each keeps who holds what in the
//!   licenses that report to it (by a hash of the license id), tells them each new deny
//!   state, and answers their reports with it. The vault's reads merge the shards.
//! - `accounts/`: `AccountsObject`, one per deployment: users, API and Agent tokens, the
//!   vault access token, console sessions and rotated signing keys — every credential
//!   check reads it, so a disable takes effect for the next request everywhere.
//! - `limiter/`: `SignInLimiter`, one per username and per client address, counting
//!   failed sign-ins.
//! - `shell`: the one call protocol ([`shell::ask`], [`shell::serve`]) and SQL helpers.

pub(crate) mod accounts;
pub(crate) mod directory;
pub(crate) mod license;
pub(crate) mod limiter;
pub(crate) mod rollup;
pub(crate) mod shell;
