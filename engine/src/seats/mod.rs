//! Floating seats: the rules of one license's seat pool (seeds 001/002), sans-I/O.
//!
//! A [`Pool`] is the live state of one license: whether it was revoked, the *leases*
//! it has lent, and the vault's [`DenyState`] (blocked users, disconnected products,
//! "revoke everything this user held") as last delivered to it. A lease lends one
//! product of the license to one user; the user may hold it from several hosts at once
//! (its *sessions*), up to `max_concurrent_user_sessions` when that is above zero. A
//! user holds at most one lease per product: asking again refreshes it.
//!
//! Every session expires `lease_seconds` after it was last refreshed (never after the
//! license itself ends); a lease ends when its last session does. Seats per product are
//! the license's `included_users`; with `usage_billing`, a request beyond them is still
//! granted and the lease is marked as overage.
//!
//! Every operation takes `now` (and any fresh id) as an argument, first expires what
//! has expired, then decides, and writes what it changed into a [`Changes`]: the lease
//! ids to save or remove and the [`SeatEvent`]s to record, so the shell (a Durable
//! Object) persists exactly that. This module stores nothing, signs nothing and reads
//! no clock.
//!
//! - `model.rs`: the types above, and the checks of a seat request's names (each in its
//!   one identity form);
//! - `events.rs`: denials, seat events, and the [`Changes`] an operation reports;
//! - `pool.rs`: [`Pool`], the decisions — a session is an installation, and each
//!   heartbeat rotates its lease token's generation so a copied lease is caught;
//! - `machines.rs`: node-locked licenses' machines, activation and its daily churn;
//! - `admin.rs`: what ends seats from outside the app (a revoked lease or license, the
//!   vault's deny state);
//! - `denials.rs` and `log.rs`: the denial log, which no one can flood, and its state;
//! - `sync.rs`: the schedule of a license's object (reports, the deny state's
//!   freshness, the outbox of events);
//! - `vault.rs`: the vault directory's rules; `rollup.rs`: which shard keeps a
//!   license's holdings, and how the vault's reads merge the shards.

mod admin;
mod denials;
mod events;
mod log;
mod machines;
mod model;
mod pool;
#[cfg(feature = "serde")]
pub(crate) mod rollup;
pub(crate) mod sync;
pub(crate) mod vault;

pub use events::{ActivationRefused, Changes, SeatDenial, SeatEvent, SeatEventKind};
pub use log::{DENIAL_WINDOW_SECONDS, DENIALS_PER_DAY, DenialLog, MAX_OPEN_WINDOWS, OTHER_PRODUCT};
pub(crate) use model::field;
pub use model::{
    Activation, Checkout, DEFAULT_LEASE_SECONDS, DenyState, Holding, Lease, MACHINE_TOKEN_SECONDS,
    MAX_HOST_BYTES, MAX_LEASE_SECONDS, MAX_MACHINE_FIELD_BYTES, MAX_MACHINES, MAX_PRODUCT_BYTES,
    MAX_USER_BYTES, MIN_LEASE_SECONDS, Machine, MachineDetails, PoolSnapshot, RETRY_SECONDS,
    Revocation, SeatNames, SeatRequest, SeatTerms, Session, check_lease_seconds,
    check_seat_request, lease_lid, product_identity, seat_names, user_identity,
};
pub use pool::{Gone, Pool, PoolState};

#[cfg(test)]
mod tests;
