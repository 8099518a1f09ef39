//! The seat model: a license's seat terms, its leases and their sessions (one per
//! installation), the vault's deny state, and what the directory keeps of a pool.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::claims::LicenseClaims;
use crate::decision::DenyCode;
use crate::error::Error;
use crate::identity::identity;

/// A lease's default lifetime without a heartbeat: 20 minutes, as a floating license
/// server's; apps heartbeat every half of it.
pub const DEFAULT_LEASE_SECONDS: u32 = 20 * 60;
/// The shortest lease a license may be issued with.
pub const MIN_LEASE_SECONDS: u32 = 60;
/// The longest lease a license may be issued with: a week.
pub const MAX_LEASE_SECONDS: u32 = 7 * 86_400;
/// Longest `user` accepted, in bytes (an e-mail address is at most 254).
pub const MAX_USER_BYTES: usize = 256;
/// Longest `host` label accepted, in bytes.
pub const MAX_HOST_BYTES: usize = 256;
/// Longest `product` accepted, in bytes (as when issuing).
pub const MAX_PRODUCT_BYTES: usize = 200;

/// The terms of a license that its seats follow, fixed when it is issued.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SeatTerms {
    /// The license id.
    pub lid: String,
    /// The customer's company.
    pub company: String,
    /// The products the license covers.
    pub products: Vec<String>,
    /// Seats per product (`included_users`).
    pub seats: u32,
    /// Installations one user may hold a product from at once (0: any number).
    pub max_sessions: u32,
    /// Grant beyond `seats`, as overage (`usage_billing`).
    pub overage: bool,
    /// When the license expires (`lexp`).
    pub lexp: u64,
    /// When its trial ends (0: not a trial).
    pub trial_exp: u64,
    /// Lifetime of a session without a heartbeat, in seconds.
    pub lease_seconds: u32,
    /// Machines the license may be activated on (0: not node-locked).
    #[cfg_attr(feature = "serde", serde(default))]
    pub max_machines: u32,
    /// Activations per rolling day (0: no limit): the churn an installer loop or a
    /// reimaging farm would cause.
    #[cfg_attr(feature = "serde", serde(default))]
    pub activations_per_day: u32,
}

impl SeatTerms {
    /// The seat terms of a license's claims, with its lease lifetime.
    pub fn from_claims(claims: &LicenseClaims, lease_seconds: u32) -> SeatTerms {
        SeatTerms {
            lid: claims.lid.clone(),
            company: claims.company.clone(),
            products: claims.prod.iter().map(|p| identity(p)).collect(),
            seats: claims.included_users,
            max_sessions: claims.max_concurrent_user_sessions,
            overage: claims.usage_billing,
            lexp: claims.lexp,
            trial_exp: if claims.trial { claims.trial_exp } else { 0 },
            lease_seconds: lease_seconds.clamp(MIN_LEASE_SECONDS, MAX_LEASE_SECONDS),
            max_machines: claims.max_machines,
            activations_per_day: claims.max_activations_per_day,
        }
    }

    /// Stand-in terms for a license whose terms are not known yet (revoked before its
    /// first seat, say): no products, no seats, so it lends nothing.
    pub fn unknown(lid: &str) -> SeatTerms {
        SeatTerms {
            lid: lid.to_string(),
            company: String::new(),
            products: Vec::new(),
            seats: 0,
            max_sessions: 0,
            overage: false,
            lexp: 0,
            trial_exp: 0,
            lease_seconds: DEFAULT_LEASE_SECONDS,
            max_machines: 0,
            activations_per_day: 0,
        }
    }

    /// Whether the license lends seats only to activated machines.
    pub fn node_locked(&self) -> bool {
        self.max_machines > 0
    }

    /// When the license stops lending seats: its expiry, or its trial's end if sooner.
    pub fn ends_at(&self) -> u64 {
        match self.trial_exp {
            0 => self.lexp,
            t => t.min(self.lexp),
        }
    }

    /// How often an app should heartbeat: half the lease.
    pub fn heartbeat_seconds(&self) -> u32 {
        (self.lease_seconds / 2).max(1)
    }

    /// Why the license lends nothing at `now`, if it has ended.
    pub(crate) fn ended(&self, now: u64) -> Option<DenyCode> {
        if now >= self.lexp {
            Some(DenyCode::LicenseExpired)
        } else if self.trial_exp != 0 && now >= self.trial_exp {
            Some(DenyCode::TrialExpired)
        } else {
            None
        }
    }
}

/// Check a lease lifetime given when issuing.
pub fn check_lease_seconds(seconds: u32) -> Result<u32, Error> {
    if (MIN_LEASE_SECONDS..=MAX_LEASE_SECONDS).contains(&seconds) {
        Ok(seconds)
    } else {
        Err(Error::Invalid {
            field: "lease_seconds",
            message: alloc::format!("must be {MIN_LEASE_SECONDS} to {MAX_LEASE_SECONDS} seconds"),
        })
    }
}

/// Check the strings of a seat request: a product, a user and an optional host label.
/// Control characters are refused everywhere; lengths are capped so a 10 MB field never
/// reaches storage.
pub fn check_seat_request(product: &str, user: &str, host: &str) -> Result<(), Error> {
    field("product", product, 1, MAX_PRODUCT_BYTES)?;
    field("user", user, 1, MAX_USER_BYTES)?;
    field("host", host, 0, MAX_HOST_BYTES)
}

/// A seat request's names as the rules compare them: each checked as
/// [`check_seat_request`] does, then the product and the user in their [`identity`] form
/// (`Bob`, `"bob "` and `ｂｏｂ` are one user); the host label, only shown, trimmed.
pub fn seat_names(product: &str, user: &str, host: &str) -> Result<SeatNames, Error> {
    check_seat_request(product, user, host)?;
    Ok(SeatNames {
        product: named("product", product)?,
        user: named("user", user)?,
        host: String::from(host.trim()),
    })
}

/// A user named on its own (a path, a filter), checked and in its identity form.
pub fn user_identity(user: &str) -> Result<String, Error> {
    field("user", user, 1, MAX_USER_BYTES)?;
    named("user", user)
}

/// A product named on its own, checked and in its identity form.
pub fn product_identity(product: &str) -> Result<String, Error> {
    field("product", product, 1, MAX_PRODUCT_BYTES)?;
    named("product", product)
}

fn named(field: &'static str, value: &str) -> Result<String, Error> {
    let id = identity(value);
    if id.is_empty() {
        return Err(Error::invalid(field, "is required"));
    }
    Ok(id)
}

/// The names of a seat request, as [`seat_names`] makes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatNames {
    /// The product's identity.
    pub product: String,
    /// The user's identity.
    pub user: String,
    /// The host label.
    pub host: String,
}

pub(crate) fn field(name: &'static str, value: &str, min: usize, max: usize) -> Result<(), Error> {
    let message = if value.len() < min || (min > 0 && value.trim().is_empty()) {
        String::from("is required")
    } else if value.len() > max {
        alloc::format!("is longer than {max} bytes")
    } else if value.chars().any(char::is_control) {
        String::from("contains control characters")
    } else {
        return Ok(());
    };
    Err(Error::Invalid {
        field: name,
        message,
    })
}

/// What the vault as a whole keeps out, as last delivered to a pool. Versions only
/// grow: an older state never replaces a newer one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct DenyState {
    /// Increases with every change the vault makes.
    pub version: u64,
    /// Users refused new seats (and whose leases end).
    #[cfg_attr(feature = "serde", serde(default))]
    pub blocked: BTreeSet<String>,
    /// Products disconnected from the vault (their leases end; new requests refused).
    #[cfg_attr(feature = "serde", serde(default))]
    pub disconnected: BTreeSet<String>,
    /// "Revoke all" without a block: each user's leases that began at or before this
    /// time end; new ones may be taken again.
    #[cfg_attr(feature = "serde", serde(default))]
    pub revoked_before: BTreeMap<String, u64>,
}

/// One installation's use of a lease.
///
/// Each heartbeat answers a lease token one `generation` newer, and only the newest
/// works: two machines sharing one lease (its token and its key both copied) present an
/// old generation within a heartbeat of each other, which ends the session as a clone.
/// A retry of the heartbeat that made `generation` (its answer lost, the same
/// `Idempotency-Key`, within [`RETRY_SECONDS`]) is not a clone: it gets the same
/// generation again.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Session {
    /// The installation: the thumbprint of the key it proves itself with.
    #[cfg_attr(feature = "serde", serde(default))]
    pub installation: String,
    /// The host label the app sent, for people ("" if none).
    pub host: String,
    /// When this installation first took the lease.
    pub since: u64,
    /// When this session ends unless refreshed.
    pub expires_at: u64,
    /// The generation of the newest lease token.
    #[cfg_attr(feature = "serde", serde(default))]
    pub generation: u64,
    /// The idempotency key of the heartbeat that made `generation`, if it sent one.
    #[cfg_attr(feature = "serde", serde(default))]
    pub rotated_by: Option<String>,
    /// When that heartbeat came: a retry of it is one only within [`RETRY_SECONDS`].
    #[cfg_attr(feature = "serde", serde(default))]
    pub rotated_at: u64,
}

/// How long after a heartbeat a retry of it (same idempotency key, the generation
/// before) is still taken for one, in seconds: a lost answer is retried within seconds.
/// Two machines sharing a lease would have to present the same key inside this window
/// at every heartbeat to pass as one.
pub const RETRY_SECONDS: u64 = 60;

/// One product of the license lent to one user.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Lease {
    /// The lease id (`<lid>.<random>`).
    pub id: String,
    /// The product lent.
    pub product: String,
    /// The user holding it.
    pub user: String,
    /// When it was granted.
    pub since: u64,
    /// Granted beyond the license's seats (`usage_billing`).
    #[cfg_attr(feature = "serde", serde(default))]
    pub overage: bool,
    /// The installations holding it; never empty while the lease exists.
    pub sessions: Vec<Session>,
}

impl Lease {
    /// When the lease ends unless refreshed: its last session's expiry.
    pub fn expires_at(&self) -> u64 {
        self.sessions
            .iter()
            .map(|s| s.expires_at)
            .max()
            .unwrap_or(0)
    }

    /// The session of `installation`, if it holds this lease.
    pub fn session(&self, installation: &str) -> Option<&Session> {
        self.sessions
            .iter()
            .find(|s| s.installation == installation)
    }
}

/// The license id a lease id belongs to, if it is one this module could have made.
pub fn lease_lid(lease: &str) -> Option<&str> {
    let (lid, rest) = lease.split_once('.')?;
    let ok = |s: &str| {
        (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    (ok(lid) && ok(rest)).then_some(lid)
}

/// A license's revocation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Revocation {
    /// When.
    pub at: u64,
    /// Who.
    pub by: String,
}

/// A seat request: product and user (each in its [`identity`] form), the installation
/// asking (its key's thumbprint, from its proof) and its host label ("" if none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeatRequest<'a> {
    /// The product wanted.
    pub product: &'a str,
    /// The user wanting it.
    pub user: &'a str,
    /// The host label, for people.
    pub host: &'a str,
    /// The installation.
    pub installation: &'a str,
}

/// A granted or refreshed checkout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkout {
    /// The lease, after the checkout.
    pub lease: Lease,
    /// The asking installation's session.
    pub session: Session,
    /// A new lease (true) or an existing one refreshed (false).
    pub created: bool,
}

/// What the vault's directory keeps of a pool: who holds what, for reads that must not
/// ask every license.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PoolSnapshot {
    /// The license id.
    pub lid: String,
    /// The customer's company.
    pub company: String,
    /// Seats per product.
    pub seats: u32,
    /// The products the license covers.
    pub products: Vec<String>,
    /// When the license stops lending seats.
    pub ends_at: u64,
    /// Whether it was revoked.
    pub revoked: bool,
    /// Installations one user may hold a product from at once (0: any number).
    #[cfg_attr(feature = "serde", serde(default))]
    pub max_sessions: u32,
    /// Every lease now.
    pub holdings: Vec<Holding>,
}

/// One lease, as the directory lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Holding {
    /// The lease id.
    pub lease: String,
    /// The product.
    pub product: String,
    /// The user.
    pub user: String,
    /// The host labels of the installations holding it.
    pub hosts: Vec<String>,
    /// The installations holding it.
    #[cfg_attr(feature = "serde", serde(default))]
    pub installations: Vec<String>,
    /// When it was granted.
    pub since: u64,
    /// When it ends unless refreshed.
    pub expires_at: u64,
    /// Granted beyond the seats.
    pub overage: bool,
}

/// The longest machine name, platform and fingerprint accepted, in bytes.
pub const MAX_MACHINE_FIELD_BYTES: usize = 256;
/// The most machines one license keeps, node-locked or not.
pub const MAX_MACHINES: usize = 10_000;
/// How long a machine token lasts (or until the license ends, if sooner). It is checked
/// offline, so a deactivated machine keeps a valid token at most this long; activating
/// again from the same installation (200, not counted as an activation) renews it.
pub const MACHINE_TOKEN_SECONDS: u64 = 7 * 86_400;
/// One machine a license is activated on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Machine {
    /// The machine id (`<lid>.<random>`).
    pub id: String,
    /// The installation: its key's thumbprint.
    pub installation: String,
    /// The name it gave (a host name, say), for people.
    pub name: String,
    /// The platform it gave (`linux-x64`, say).
    pub platform: String,
    /// A fingerprint it gave (a hardware id, hashed by the app), for the vendor's own
    /// checks; the installation key is what identifies it.
    pub fingerprint: String,
    /// When it was activated.
    pub activated_at: u64,
}

/// What an installation says about itself when it activates.
#[derive(Debug, Clone, Copy, Default)]
pub struct MachineDetails<'a> {
    /// Its name.
    pub name: &'a str,
    /// Its platform.
    pub platform: &'a str,
    /// Its fingerprint.
    pub fingerprint: &'a str,
}

/// An activation: the machine, and whether it is new.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activation {
    /// The machine.
    pub machine: Machine,
    /// Activated now (true) or already active (false).
    pub created: bool,
}
