//! Floating seats: the rules of one licence's seat pool (seeds 001/002), sans-I/O.
//!
//! A [`Pool`] is the live state of one licence: whether it was revoked, the *leases*
//! it has lent, and the vault's [`DenyState`] (blocked users, disconnected products,
//! "revoke everything this user held") as last delivered to it. A lease lends one
//! product of the licence to one user; the user may hold it from several hosts at once
//! (its *sessions*), up to `max_concurrent_user_sessions` when that is above zero. A
//! user holds at most one lease per product: asking again refreshes it.
//!
//! Every session expires `lease_seconds` after it was last refreshed (never after the
//! licence itself ends); a lease ends when its last session does. Seats per product are
//! the licence's `included_users`; with `usage_billing`, a request beyond them is still
//! granted and the lease is marked as overage.
//!
//! Every operation takes `now` (and any fresh id) as an argument, first expires what
//! has expired, then decides, and writes what it changed into a [`Changes`]: the lease
//! ids to save or remove and the [`SeatEvent`]s to record, so the shell (a Durable
//! Object) persists exactly that. This module stores nothing, signs nothing and reads
//! no clock.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::claims::LicenseClaims;
use crate::decision::DenyCode;
use crate::error::Error;

/// A lease's default lifetime without a heartbeat: 20 minutes, as a floating licence
/// server's; apps heartbeat every half of it.
pub const DEFAULT_LEASE_SECONDS: u32 = 20 * 60;
/// The shortest lease a licence may be issued with.
pub const MIN_LEASE_SECONDS: u32 = 60;
/// The longest lease a licence may be issued with: a week.
pub const MAX_LEASE_SECONDS: u32 = 7 * 86_400;
/// Longest `user` accepted, in bytes (an e-mail address is at most 254).
pub const MAX_USER_BYTES: usize = 256;
/// Longest `host` label accepted, in bytes.
pub const MAX_HOST_BYTES: usize = 256;
/// Longest `product` accepted, in bytes (as when issuing).
pub const MAX_PRODUCT_BYTES: usize = 200;

/// The terms of a licence that its seats follow, fixed when it is issued.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct SeatTerms {
    /// The licence id.
    pub lid: String,
    /// The customer's company.
    pub company: String,
    /// The products the licence covers.
    pub products: Vec<String>,
    /// Seats per product (`included_users`).
    pub seats: u32,
    /// Hosts one user may hold a product from at once (0: any number).
    pub max_sessions: u32,
    /// Grant beyond `seats`, as overage (`usage_billing`).
    pub overage: bool,
    /// When the licence expires (`lexp`).
    pub lexp: u64,
    /// When its trial ends (0: not a trial).
    pub trial_exp: u64,
    /// Lifetime of a session without a heartbeat, in seconds.
    pub lease_seconds: u32,
}

impl SeatTerms {
    /// The seat terms of a licence's claims, with its lease lifetime.
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

    /// Stand-in terms for a licence whose terms are not known yet (revoked before its
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

    /// When the licence stops lending seats: its expiry, or its trial's end if sooner.
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

    /// Why the licence lends nothing at `now`, if it has ended.
    fn ended(&self, now: u64) -> Option<DenyCode> {
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

/// One product of the licence lent to one user.
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
    /// Granted beyond the licence's seats (`usage_billing`).
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

    fn session(&self, host: &str) -> Option<&Session> {
        self.sessions.iter().find(|s| s.host == host)
    }
}

/// The licence id a lease id belongs to, if it is one this module could have made.
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
    /// Every seat of the product is held (and the licence bills no overage).
    NoSeatAvailable,
    /// The user already holds the product from as many hosts as the licence allows.
    SessionLimitReached,
    /// The product is disconnected from the vault.
    ProductDisconnected,
    /// The user is blocked from new seats.
    UserBlocked,
    /// The licence itself refuses: revoked, expired, or not for this product.
    Licence(DenyCode),
}

impl SeatDenial {
    /// The stable wire code, e.g. `"NO_SEAT_AVAILABLE"` or the licence's own code.
    pub const fn as_str(self) -> &'static str {
        match self {
            SeatDenial::NoSeatAvailable => "NO_SEAT_AVAILABLE",
            SeatDenial::SessionLimitReached => "SESSION_LIMIT_REACHED",
            SeatDenial::ProductDisconnected => "PRODUCT_DISCONNECTED",
            SeatDenial::UserBlocked => "USER_BLOCKED",
            SeatDenial::Licence(code) => code.as_str(),
        }
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
/// event: it only moves the session's expiry, which the licence's pool shows. Logging
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
    /// No heartbeat came in time (or the licence ended).
    Expired,
    /// An administrator, a block, a disconnection or the licence's revocation ended it.
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
    /// host joined or left, the licence was revoked. The vault's roll-up should hear of
    /// this soon; of a later expiry, whenever convenient.
    pub fn membership_changed(&self) -> bool {
        self.saved.iter().any(|id| !self.extended.contains(id))
            || !self.removed.is_empty()
            || self.revoked
    }

    fn save(&mut self, id: &str) {
        self.saved.insert(id.to_string());
        self.extended.remove(id);
    }

    fn extend(&mut self, id: &str) {
        if !self.saved.contains(id) {
            self.extended.insert(id.to_string());
        }
        self.saved.insert(id.to_string());
    }

    fn remove(&mut self, id: &str) {
        self.saved.remove(id);
        self.extended.remove(id);
        self.removed.insert(id.to_string());
    }
}

/// A licence's revocation.
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

/// One licence's live seat state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    terms: SeatTerms,
    revoked: Option<Revocation>,
    leases: BTreeMap<String, Lease>,
    /// (product, user) → lease id.
    holders: BTreeMap<(String, String), String>,
    /// product → leases of it.
    allocated: BTreeMap<String, u32>,
    deny: DenyState,
}

impl Pool {
    /// A pool with the given state, as loaded from storage.
    pub fn restore(
        terms: SeatTerms,
        revoked: Option<Revocation>,
        leases: impl IntoIterator<Item = Lease>,
        deny: DenyState,
    ) -> Pool {
        let mut pool = Pool {
            terms,
            revoked,
            leases: BTreeMap::new(),
            holders: BTreeMap::new(),
            allocated: BTreeMap::new(),
            deny,
        };
        for lease in leases {
            if !lease.sessions.is_empty() {
                pool.insert(lease);
            }
        }
        pool
    }

    /// A fresh pool: nothing lent, nothing revoked.
    pub fn new(terms: SeatTerms) -> Pool {
        Pool::restore(terms, None, [], DenyState::default())
    }

    /// The terms.
    pub fn terms(&self) -> &SeatTerms {
        &self.terms
    }

    /// Replace the terms (a licence record read again); leases stay as they are.
    pub fn set_terms(&mut self, terms: SeatTerms) {
        self.terms = terms;
    }

    /// The revocation, if revoked.
    pub fn revocation(&self) -> Option<&Revocation> {
        self.revoked.as_ref()
    }

    /// The deny state last applied.
    pub fn deny(&self) -> &DenyState {
        &self.deny
    }

    /// A lease by id.
    pub fn lease(&self, id: &str) -> Option<&Lease> {
        self.leases.get(id)
    }

    /// Every lease, by id.
    pub fn leases(&self) -> impl Iterator<Item = &Lease> {
        self.leases.values()
    }

    /// Leases of `product` now.
    pub fn allocated(&self, product: &str) -> u32 {
        self.allocated.get(product).copied().unwrap_or(0)
    }

    /// The earliest time a session expires: when the shell should wake to sweep.
    pub fn next_expiry(&self) -> Option<u64> {
        self.leases
            .values()
            .flat_map(|l| l.sessions.iter().map(|s| s.expires_at))
            .min()
    }

    fn insert(&mut self, lease: Lease) {
        self.holders.insert(
            (lease.product.clone(), lease.user.clone()),
            lease.id.clone(),
        );
        *self.allocated.entry(lease.product.clone()).or_insert(0) += 1;
        self.leases.insert(lease.id.clone(), lease);
    }

    fn take(&mut self, id: &str) -> Option<Lease> {
        let lease = self.leases.remove(id)?;
        self.holders
            .remove(&(lease.product.clone(), lease.user.clone()));
        if let Some(n) = self.allocated.get_mut(&lease.product) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.allocated.remove(&lease.product);
            }
        }
        Some(lease)
    }

    /// End a whole lease with an event of `kind` (and `reason`).
    fn end(
        &mut self,
        id: &str,
        kind: SeatEventKind,
        reason: Option<&str>,
        now: u64,
        ch: &mut Changes,
    ) -> Option<Lease> {
        let lease = self.take(id)?;
        ch.remove(id);
        let host = lease
            .sessions
            .last()
            .map(|s| s.host.clone())
            .unwrap_or_default();
        ch.events.push(event(
            now,
            kind,
            Some(&lease.id),
            &lease.product,
            &lease.user,
            &host,
            reason,
        ));
        Some(lease)
    }

    /// Expire every session whose time has come; a lease whose last session expires
    /// ends. Every operation starts with this, so state is never judged stale.
    pub fn sweep(&mut self, now: u64, ch: &mut Changes) {
        let due: Vec<String> = self
            .leases
            .values()
            .filter(|l| l.sessions.iter().any(|s| s.expires_at <= now))
            .map(|l| l.id.clone())
            .collect();
        for id in due {
            let Some(lease) = self.leases.get_mut(&id) else {
                continue;
            };
            if lease.sessions.iter().all(|s| s.expires_at <= now) {
                let ended = self.terms.ended(now).map(DenyCode::as_str);
                self.end(&id, SeatEventKind::Expired, ended, now, ch);
                continue;
            }
            let (gone, kept): (Vec<Session>, Vec<Session>) =
                lease.sessions.drain(..).partition(|s| s.expires_at <= now);
            lease.sessions = kept;
            let (product, user) = (lease.product.clone(), lease.user.clone());
            for s in gone {
                ch.events.push(event(
                    now,
                    SeatEventKind::Refreshed,
                    Some(&id),
                    &product,
                    &user,
                    &s.host,
                    Some("HOST_EXPIRED"),
                ));
            }
            ch.save(&id);
        }
    }

    fn session_until(&self, now: u64) -> u64 {
        now.saturating_add(u64::from(self.terms.lease_seconds))
            .min(self.terms.ends_at())
    }

    /// Why the licence lends nothing to `product`, if it does not.
    fn licence_denial(&self, product: &str, now: u64) -> Option<SeatDenial> {
        if self.revoked.is_some() {
            return Some(SeatDenial::Licence(DenyCode::Revoked));
        }
        if !self.terms.products.iter().any(|p| p == product) {
            return Some(SeatDenial::Licence(DenyCode::WrongProduct));
        }
        if let Some(code) = self.terms.ended(now) {
            return Some(SeatDenial::Licence(code));
        }
        None
    }

    /// Take (or refresh) `request.product` for `request.user` from `request.host`.
    /// A new lease gets the id `new_id` (the shell draws it at random).
    pub fn checkout(
        &mut self,
        request: SeatRequest<'_>,
        new_id: &str,
        now: u64,
        ch: &mut Changes,
    ) -> Result<Checkout, SeatDenial> {
        self.sweep(now, ch);
        let result = self.decide(request, new_id, now, ch);
        if let Err(denial) = result {
            self.refuse(request, denial, now, ch);
        }
        result
    }

    fn decide(
        &mut self,
        r: SeatRequest<'_>,
        new_id: &str,
        now: u64,
        ch: &mut Changes,
    ) -> Result<Checkout, SeatDenial> {
        if let Some(denial) = self.licence_denial(r.product, now) {
            return Err(denial);
        }
        if self.deny.disconnected.contains(r.product) {
            return Err(SeatDenial::ProductDisconnected);
        }
        if self.deny.blocked.contains(r.user) {
            return Err(SeatDenial::UserBlocked);
        }
        let until = self.session_until(now);
        let key = (r.product.to_string(), r.user.to_string());
        if let Some(id) = self.holders.get(&key).cloned() {
            let max = self.terms.max_sessions as usize;
            let lease = self
                .leases
                .get_mut(&id)
                .ok_or(SeatDenial::NoSeatAvailable)?;
            let hosts = lease.sessions.len();
            let reason = match lease.sessions.iter_mut().find(|s| s.host == r.host) {
                Some(session) => {
                    session.expires_at = until;
                    None
                }
                None if max > 0 && hosts >= max => {
                    return Err(SeatDenial::SessionLimitReached);
                }
                None => {
                    lease.sessions.push(Session {
                        host: r.host.to_string(),
                        since: now,
                        expires_at: until,
                    });
                    Some("HOST_JOINED")
                }
            };
            let lease = lease.clone();
            // Checking out again from a host that holds the seat is a heartbeat: a
            // later expiry, no event (see [`SeatEventKind`]).
            match reason {
                Some(reason) => {
                    ch.save(&id);
                    ch.events.push(event(
                        now,
                        SeatEventKind::Refreshed,
                        Some(&id),
                        r.product,
                        r.user,
                        r.host,
                        Some(reason),
                    ));
                }
                None => ch.extend(&id),
            }
            return Ok(Checkout {
                session: lease.session(r.host).cloned().unwrap_or_else(|| Session {
                    host: r.host.into(),
                    since: now,
                    expires_at: until,
                }),
                lease,
                created: false,
            });
        }
        let overage = self.allocated(r.product) >= self.terms.seats;
        if overage && !self.terms.overage {
            return Err(SeatDenial::NoSeatAvailable);
        }
        let session = Session {
            host: r.host.to_string(),
            since: now,
            expires_at: until,
        };
        let lease = Lease {
            id: new_id.to_string(),
            product: r.product.to_string(),
            user: r.user.to_string(),
            since: now,
            overage,
            sessions: alloc::vec![session.clone()],
        };
        self.insert(lease.clone());
        ch.save(new_id);
        ch.events.push(event(
            now,
            SeatEventKind::Granted,
            Some(new_id),
            r.product,
            r.user,
            r.host,
            overage.then_some("OVERAGE"),
        ));
        Ok(Checkout {
            lease,
            session,
            created: true,
        })
    }

    /// Record a request refused before it reached the pool's rules (the licence token
    /// itself was refused: expired, not yet valid, ...), so every denial is in the log.
    pub fn refuse(
        &mut self,
        request: SeatRequest<'_>,
        denial: SeatDenial,
        now: u64,
        ch: &mut Changes,
    ) {
        ch.events.push(event(
            now,
            SeatEventKind::Denied,
            None,
            request.product,
            request.user,
            request.host,
            Some(denial.as_str()),
        ));
    }

    /// Extend `host`'s session of lease `id` (held by `user`, of `product`). `None`
    /// when that session no longer exists: the app must ask for a new seat. The later
    /// expiry is a change to store, not an event (see [`SeatEventKind`]).
    pub fn heartbeat(
        &mut self,
        id: &str,
        request: SeatRequest<'_>,
        now: u64,
        ch: &mut Changes,
    ) -> Option<Checkout> {
        self.sweep(now, ch);
        if self.revoked.is_some() {
            return None;
        }
        let until = self.session_until(now);
        let lease = self.leases.get_mut(id)?;
        if lease.user != request.user || lease.product != request.product {
            return None;
        }
        let session = lease.sessions.iter_mut().find(|s| s.host == request.host)?;
        session.expires_at = until;
        let session = session.clone();
        let lease = lease.clone();
        ch.extend(id);
        Some(Checkout {
            lease,
            session,
            created: false,
        })
    }

    /// Give back `host`'s session of lease `id`; the lease ends with its last session.
    /// Releasing what is already gone changes nothing.
    pub fn release(&mut self, id: &str, request: SeatRequest<'_>, now: u64, ch: &mut Changes) {
        self.sweep(now, ch);
        let Some(lease) = self.leases.get_mut(id) else {
            return;
        };
        if lease.user != request.user || lease.product != request.product {
            return;
        }
        let Some(at) = lease.sessions.iter().position(|s| s.host == request.host) else {
            return;
        };
        if lease.sessions.len() == 1 {
            self.end(id, SeatEventKind::Released, None, now, ch);
            return;
        }
        lease.sessions.remove(at);
        ch.save(id);
        ch.events.push(event(
            now,
            SeatEventKind::Refreshed,
            Some(id),
            request.product,
            request.user,
            request.host,
            Some("HOST_RELEASED"),
        ));
    }

    /// An administrator ends lease `id` of `user` (every host). `None` if there is no
    /// such lease of that user.
    pub fn revoke_lease(
        &mut self,
        id: &str,
        user: &str,
        now: u64,
        ch: &mut Changes,
    ) -> Option<Lease> {
        self.sweep(now, ch);
        if self.leases.get(id)?.user != user {
            return None;
        }
        self.end(id, SeatEventKind::Revoked, Some("REVOKED"), now, ch)
    }

    /// Revoke the licence: every lease ends, and nothing is lent again. Revoking twice
    /// changes nothing (the first revocation's time and author stay).
    pub fn revoke(&mut self, by: &str, now: u64, ch: &mut Changes) {
        self.sweep(now, ch);
        if self.revoked.is_some() {
            return;
        }
        self.revoked = Some(Revocation {
            at: now,
            by: by.to_string(),
        });
        ch.revoked = true;
        let ids: Vec<String> = self.leases.keys().cloned().collect();
        for id in ids {
            self.end(
                &id,
                SeatEventKind::Revoked,
                Some("LICENSE_REVOKED"),
                now,
                ch,
            );
        }
    }

    /// Apply the vault's deny state if it is newer than the one held, ending the
    /// leases it keeps out. Returns whether it was applied.
    pub fn apply_deny(&mut self, deny: DenyState, now: u64, ch: &mut Changes) -> bool {
        self.sweep(now, ch);
        if deny.version <= self.deny.version {
            return false;
        }
        // A "revoke all" mark acts once, when it first arrives (or moves): a lease the
        // user took after it was applied here must survive later deliveries, even one
        // in the same second.
        let fresh_marks: BTreeMap<String, u64> = deny
            .revoked_before
            .iter()
            .filter(|(user, at)| self.deny.revoked_before.get(*user) != Some(*at))
            .map(|(user, at)| (user.clone(), *at))
            .collect();
        self.deny = deny;
        ch.deny = true;
        let ended: Vec<(String, &'static str)> = self
            .leases
            .values()
            .filter_map(|l| {
                let reason = if self.deny.disconnected.contains(&l.product) {
                    "PRODUCT_DISCONNECTED"
                } else if self.deny.blocked.contains(&l.user) {
                    "USER_BLOCKED"
                } else if fresh_marks.get(&l.user).is_some_and(|t| l.since <= *t) {
                    "REVOKED"
                } else {
                    return None;
                };
                Some((l.id.clone(), reason))
            })
            .collect();
        for (id, reason) in ended {
            self.end(&id, SeatEventKind::Revoked, Some(reason), now, ch);
        }
        true
    }
}

/// What the vault's directory keeps of a pool: who holds what, for reads that must not
/// ask every licence.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PoolSnapshot {
    /// The licence id.
    pub lid: String,
    /// The customer's company.
    pub company: String,
    /// Seats per product.
    pub seats: u32,
    /// The products the licence covers.
    pub products: Vec<String>,
    /// When the licence stops lending seats.
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

impl Pool {
    /// Who holds what now, for the directory.
    pub fn snapshot(&self) -> PoolSnapshot {
        PoolSnapshot {
            lid: self.terms.lid.clone(),
            company: self.terms.company.clone(),
            seats: self.terms.seats,
            products: self.terms.products.clone(),
            ends_at: self.terms.ends_at(),
            revoked: self.revoked.is_some(),
            holdings: self
                .leases
                .values()
                .map(|l| Holding {
                    lease: l.id.clone(),
                    product: l.product.clone(),
                    user: l.user.clone(),
                    hosts: l.sessions.iter().map(|s| s.host.clone()).collect(),
                    since: l.since,
                    expires_at: l.expires_at(),
                    overage: l.overage,
                })
                .collect(),
        }
    }
}

fn event(
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

#[cfg(test)]
mod tests;
