//! The seat model: a license's seat terms, leases and their sessions, the vault's deny
//! state, seat events and denials, and the [`Changes`] every operation reports.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::claims::LicenseClaims;
use crate::decision::DenyCode;
use crate::error::Error;

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
    /// Hosts one user may hold a product from at once (0: any number).
    pub max_sessions: u32,
    /// Grant beyond `seats`, as overage (`usage_billing`).
    pub overage: bool,
    /// When the license expires (`lexp`).
    pub lexp: u64,
    /// When its trial ends (0: not a trial).
    pub trial_exp: u64,
    /// Lifetime of a session without a heartbeat, in seconds.
    pub lease_seconds: u32,
}

impl SeatTerms {
    /// The seat terms of a license's claims, with its lease lifetime.
    pub fn from_claims(claims: &LicenseClaims, lease_seconds: u32) -> SeatTerms {
        SeatTerms {
            lid: claims.lid.clone(),
            company: claims.company.clone(),
            products: claims.prod.clone(),
            seats: claims.included_users,
            max_sessions: claims.max_concurrent_user_sessions,
            overage: claims.usage_billing,
            lexp: claims.lexp,
            trial_exp: if claims.trial { claims.trial_exp } else { 0 },
            lease_seconds: lease_seconds.clamp(MIN_LEASE_SECONDS, MAX_LEASE_SECONDS),
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
        }
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

/// One host's use of a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Session {
    /// The host label the app sent ("" if none).
    pub host: String,
    /// When this host first took the lease.
    pub since: u64,
    /// When this session ends unless refreshed.
    pub expires_at: u64,
}

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
    /// The hosts holding it; never empty while the lease exists.
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

    pub(crate) fn session(&self, host: &str) -> Option<&Session> {
        self.sessions.iter().find(|s| s.host == host)
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

/// Why a seat request was refused. Stable codes: apps match on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SeatDenial {
    /// Every seat of the product is held (and the license bills no overage).
    NoSeatAvailable,
    /// The user already holds the product from as many hosts as the license allows.
    SessionLimitReached,
    /// The product is disconnected from the vault.
    ProductDisconnected,
    /// The user is blocked from new seats.
    UserBlocked,
    /// The license itself refuses: revoked, expired, or not for this product.
    License(DenyCode),
}

impl SeatDenial {
    /// The stable wire code, e.g. `"NO_SEAT_AVAILABLE"` or the license's own code.
    pub const fn as_str(self) -> &'static str {
        match self {
            SeatDenial::NoSeatAvailable => "NO_SEAT_AVAILABLE",
            SeatDenial::SessionLimitReached => "SESSION_LIMIT_REACHED",
            SeatDenial::ProductDisconnected => "PRODUCT_DISCONNECTED",
            SeatDenial::UserBlocked => "USER_BLOCKED",
            SeatDenial::License(code) => code.as_str(),
        }
    }
}

impl SeatDenial {
    /// The denial whose wire code is `code`, if any (the inverse of [`as_str`](Self::as_str)).
    pub fn parse(code: &str) -> Option<SeatDenial> {
        [
            SeatDenial::NoSeatAvailable,
            SeatDenial::SessionLimitReached,
            SeatDenial::ProductDisconnected,
            SeatDenial::UserBlocked,
        ]
        .into_iter()
        .chain(DenyCode::ALL.into_iter().map(SeatDenial::License))
        .find(|d| d.as_str() == code)
    }
}

/// A denial crosses object calls as its wire code; an unknown code is an error, never
/// a guess.
#[cfg(feature = "serde")]
impl serde::Serialize for SeatDenial {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for SeatDenial {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = <alloc::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        SeatDenial::parse(&code)
            .ok_or_else(|| serde::de::Error::custom(alloc::format!("unknown seat denial {code:?}")))
    }
}

impl core::fmt::Display for SeatDenial {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened to a lease. `Granted` starts a lease; `Released`, `Expired` and
/// `Revoked` end one; `Refreshed` keeps one while its hosts change (a host joined, left
/// or expired: `reason` says which); `Denied` is a refused request. So the seats in use
/// at any time are the starts minus the ends before it.
///
/// A heartbeat (or a checkout again from a host already holding the seat) is not an
/// event: it only moves the session's expiry, which the license's pool shows. Logging
/// one row per heartbeat would be most of the history at no gain to a report (seats
/// held are spans from `Granted` to an end), and each row is also a write to the event
/// store: per seat, every heartbeat interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[non_exhaustive]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SeatEventKind {
    /// A lease began.
    Granted,
    /// A lease continues while its hosts change: a host joined, left or expired.
    Refreshed,
    /// The app gave the lease back.
    Released,
    /// No heartbeat came in time (or the license ended).
    Expired,
    /// An administrator, a block, a disconnection or the license's revocation ended it.
    Revoked,
    /// A request was refused; `reason` says why.
    Denied,
}

impl SeatEventKind {
    /// The wire name, e.g. `"granted"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            SeatEventKind::Granted => "granted",
            SeatEventKind::Refreshed => "refreshed",
            SeatEventKind::Released => "released",
            SeatEventKind::Expired => "expired",
            SeatEventKind::Revoked => "revoked",
            SeatEventKind::Denied => "denied",
        }
    }

    /// The kind named `name`, if any.
    pub fn parse(name: &str) -> Option<SeatEventKind> {
        use SeatEventKind::*;
        [Granted, Refreshed, Released, Expired, Revoked, Denied]
            .into_iter()
            .find(|k| k.as_str() == name)
    }
}

/// One thing that happened in a pool, for the event log (and the reports built on it).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SeatEvent {
    /// When, Unix seconds.
    pub at: u64,
    /// What happened.
    pub kind: SeatEventKind,
    /// The lease, when there is one.
    pub lease: Option<String>,
    /// The product asked for.
    pub product: String,
    /// The user.
    pub user: String,
    /// The host ("" if none).
    pub host: String,
    /// Why: a denial's code, or what ended or changed the lease.
    pub reason: Option<String>,
}

/// What an operation changed: the shell writes exactly this.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// Leases whose stored row must be (re)written from [`Pool::lease`].
    pub saved: BTreeSet<String>,
    /// Of those, leases whose only change is a later expiry (a heartbeat, a checkout
    /// again from a host that holds it): who holds what is unchanged.
    pub extended: BTreeSet<String>,
    /// Leases whose stored row must be deleted.
    pub removed: BTreeSet<String>,
    /// Events to append to the log, in order.
    pub events: Vec<SeatEvent>,
    /// The revocation changed: store [`Pool::revocation`].
    pub revoked: bool,
    /// The deny state changed: store [`Pool::deny`].
    pub deny: bool,
}

impl Changes {
    /// Whether nothing changed at all.
    pub fn is_empty(&self) -> bool {
        self.saved.is_empty()
            && self.removed.is_empty()
            && self.events.is_empty()
            && !self.revoked
            && !self.deny
    }

    /// Whether the stored holdings changed at all, expiries included.
    pub fn holdings_changed(&self) -> bool {
        !self.saved.is_empty() || !self.removed.is_empty() || self.revoked
    }

    /// Whether who holds what changed, beyond later expiries: a lease began or ended, a
    /// host joined or left, the license was revoked. The vault's roll-up should hear of
    /// this soon; of a later expiry, whenever convenient.
    pub fn membership_changed(&self) -> bool {
        self.saved.iter().any(|id| !self.extended.contains(id))
            || !self.removed.is_empty()
            || self.revoked
    }

    pub(crate) fn save(&mut self, id: &str) {
        self.saved.insert(id.to_string());
        self.extended.remove(id);
    }

    pub(crate) fn extend(&mut self, id: &str) {
        if !self.saved.contains(id) {
            self.extended.insert(id.to_string());
        }
        self.saved.insert(id.to_string());
    }

    pub(crate) fn remove(&mut self, id: &str) {
        self.saved.remove(id);
        self.extended.remove(id);
        self.removed.insert(id.to_string());
    }
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

/// A seat request: product, user, and the host asking ("" if none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeatRequest<'a> {
    /// The product wanted.
    pub product: &'a str,
    /// The user wanting it.
    pub user: &'a str,
    /// The host label.
    pub host: &'a str,
}

/// A granted or refreshed checkout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkout {
    /// The lease, after the checkout.
    pub lease: Lease,
    /// The asking host's session.
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
    /// The hosts holding it.
    pub hosts: Vec<String>,
    /// When it was granted.
    pub since: u64,
    /// When it ends unless refreshed.
    pub expires_at: u64,
    /// Granted beyond the seats.
    pub overage: bool,
}

pub(crate) fn event(
    at: u64,
    kind: SeatEventKind,
    lease: Option<&str>,
    product: &str,
    user: &str,
    host: &str,
    reason: Option<&str>,
) -> SeatEvent {
    SeatEvent {
        at,
        kind,
        lease: lease.map(String::from),
        product: product.to_string(),
        user: user.to_string(),
        host: host.to_string(),
        reason: reason.map(String::from),
    }
}
