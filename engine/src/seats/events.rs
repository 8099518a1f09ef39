//! What the seat rules answer and record: why a request was refused ([`SeatDenial`]),
//! what happened ([`SeatEvent`]), and what an operation changed ([`Changes`]) for the
//! shell to write.

use alloc::collections::BTreeSet;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::decision::DenyCode;

/// Why a seat request was refused. Stable codes: apps match on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SeatDenial {
    /// Every seat of the product is held (and the license bills no overage).
    NoSeatAvailable,
    /// The user already holds the product from as many installations as the license
    /// allows (`max_concurrent_user_sessions`).
    SessionLimitReached,
    /// The product is disconnected from the vault.
    ProductDisconnected,
    /// The user is blocked from new seats.
    UserBlocked,
    /// The license is node-locked and the installation is not one of its machines.
    MachineNotActivated,
    /// The license is active on as many machines as it allows.
    MachineLimitReached,
    /// More activations in a day than the license allows (`activations_per_day`).
    TooManyActivations,
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
            SeatDenial::MachineNotActivated => "MACHINE_NOT_ACTIVATED",
            SeatDenial::MachineLimitReached => "MACHINE_LIMIT_REACHED",
            SeatDenial::TooManyActivations => "TOO_MANY_ACTIVATIONS",
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
            SeatDenial::MachineNotActivated,
            SeatDenial::MachineLimitReached,
            SeatDenial::TooManyActivations,
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

/// Why an activation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivationRefused {
    /// The license refuses (revoked, ended), or has no machine left.
    Denied(SeatDenial),
    /// Over `activations_per_day`: the oldest of the day's activations leaves the
    /// window in this many seconds.
    TooManyActivations {
        /// Seconds to wait.
        retry_after: u64,
    },
}

/// What happened to a lease. `Granted` starts a lease; `Released`, `Expired` and
/// `Revoked` end one; `Refreshed` keeps one while its installations change (one joined,
/// left, expired or was ended as a clone: `reason` says which); `Denied` is a refused
/// request. So the seats in use at any time are the starts minus the ends before it.
/// `Activated` and `Deactivated` record a node-locked license's machines.
///
/// A heartbeat (or a checkout again from an installation already holding the seat) is
/// not an
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
    /// A request was refused; `reason` says why (and `count` how many alike).
    Denied,
    /// A machine was activated on the license.
    Activated,
    /// A machine was deactivated (by itself or an administrator).
    Deactivated,
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
            SeatEventKind::Activated => "activated",
            SeatEventKind::Deactivated => "deactivated",
        }
    }

    /// The kind named `name`, if any.
    pub fn parse(name: &str) -> Option<SeatEventKind> {
        use SeatEventKind::*;
        [
            Granted,
            Refreshed,
            Released,
            Expired,
            Revoked,
            Denied,
            Activated,
            Deactivated,
        ]
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
    /// The lease, when there is one (the machine, for an activation).
    pub lease: Option<String>,
    /// The product asked for.
    pub product: String,
    /// The user.
    pub user: String,
    /// The host label ("" if none).
    pub host: String,
    /// The installation (its key's thumbprint; "" for a request refused before one
    /// proved itself).
    #[cfg_attr(feature = "serde", serde(default))]
    pub installation: String,
    /// Why: a denial's code, or what ended or changed the lease.
    pub reason: Option<String>,
    /// How many requests this event stands for: 1, or the denials alike that one
    /// minute's window gathered.
    #[cfg_attr(feature = "serde", serde(default = "one"))]
    pub count: u32,
}

#[cfg(feature = "serde")]
fn one() -> u32 {
    1
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
    /// Machines (by installation) whose stored row must be (re)written.
    pub machines_saved: BTreeSet<String>,
    /// Machines (by installation) whose stored row must be deleted.
    pub machines_removed: BTreeSet<String>,
    /// The activation history changed: store [`Pool::activations`].
    pub activations: bool,
    /// The denial windows changed: store [`Pool::denial_log`].
    pub denials: bool,
}

impl Changes {
    /// Whether nothing changed at all.
    pub fn is_empty(&self) -> bool {
        self.saved.is_empty()
            && self.removed.is_empty()
            && self.events.is_empty()
            && !self.revoked
            && !self.deny
            && self.machines_saved.is_empty()
            && self.machines_removed.is_empty()
            && !self.activations
            && !self.denials
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

/// Who an event is about: a lease (if any), its product and user, and the installation
/// with its host label.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Subject<'a> {
    pub(crate) lease: Option<&'a str>,
    pub(crate) product: &'a str,
    pub(crate) user: &'a str,
    pub(crate) host: &'a str,
    pub(crate) installation: &'a str,
}

impl<'a> Subject<'a> {
    /// A request's subject, with no lease.
    pub(crate) fn of(request: super::model::SeatRequest<'a>) -> Subject<'a> {
        Subject {
            lease: None,
            product: request.product,
            user: request.user,
            host: request.host,
            installation: request.installation,
        }
    }

    /// The same, about lease `lease`.
    pub(crate) fn lease(self, lease: &'a str) -> Subject<'a> {
        Subject {
            lease: Some(lease),
            ..self
        }
    }
}

pub(crate) fn event(
    at: u64,
    kind: SeatEventKind,
    who: Subject<'_>,
    reason: Option<&str>,
) -> SeatEvent {
    SeatEvent {
        at,
        kind,
        lease: who.lease.map(String::from),
        product: who.product.to_string(),
        user: who.user.to_string(),
        host: who.host.to_string(),
        installation: who.installation.to_string(),
        reason: reason.map(String::from),
        count: 1,
    }
}
