//! [`Pool`]: the decisions of one license's seat pool — checkout, heartbeat, release,
//! expiry, revocation and the vault's deny state — each writing what it changed into a
//! [`Changes`] for the shell to persist. Machines are `machines.rs`'s, the denial log
//! `denials.rs`'s.
//!
//! A session is an installation: the thumbprint of the key it proves itself with. The
//! host label an app sends is only shown.

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::events::{Changes, SeatDenial, SeatEventKind, Subject, event};
use super::log::DenialLog;
use super::model::{
    Checkout, DenyState, Holding, Lease, Machine, PoolSnapshot, RETRY_SECONDS, Revocation,
    SeatRequest, SeatTerms, Session,
};
use crate::decision::DenyCode;

/// Why a heartbeat finds no session to extend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gone {
    /// The session ended (expired, released, revoked, kept out) or never was.
    Ended,
    /// The heartbeat presented an older generation than the session's newest: the lease
    /// and its key are in two places. The session ends now, as a clone.
    CloneDetected,
}

/// Everything a pool is, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolState {
    /// The terms (stand-ins until the license is opened).
    pub terms: Option<SeatTerms>,
    /// The revocation, if revoked.
    pub revoked: Option<Revocation>,
    /// The leases.
    pub leases: Vec<Lease>,
    /// The deny state last applied.
    pub deny: DenyState,
    /// The activated machines.
    pub machines: Vec<Machine>,
    /// When the last day's activations happened.
    pub activations: Vec<u64>,
    /// The denial log's windows and daily count.
    pub denial_log: DenialLog,
}

/// One license's live seat state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pool {
    pub(super) terms: SeatTerms,
    pub(super) revoked: Option<Revocation>,
    pub(super) leases: BTreeMap<String, Lease>,
    /// (product, user) → lease id.
    holders: BTreeMap<(String, String), String>,
    /// product → leases of it.
    allocated: BTreeMap<String, u32>,
    pub(super) deny: DenyState,
    /// installation → its machine.
    pub(super) machines: BTreeMap<String, Machine>,
    pub(super) activations: Vec<u64>,
    pub(super) denial_log: DenialLog,
}

impl Pool {
    /// A pool with the given state, as loaded from storage (`lid` names it while its
    /// terms are unknown).
    pub fn restore(lid: &str, state: PoolState) -> Pool {
        let mut pool = Pool {
            terms: state.terms.unwrap_or_else(|| SeatTerms::unknown(lid)),
            revoked: state.revoked,
            leases: BTreeMap::new(),
            holders: BTreeMap::new(),
            allocated: BTreeMap::new(),
            deny: state.deny,
            machines: state
                .machines
                .into_iter()
                .map(|m| (m.installation.clone(), m))
                .collect(),
            activations: state.activations,
            denial_log: state.denial_log,
        };
        for lease in state.leases {
            if !lease.sessions.is_empty() {
                pool.insert(lease);
            }
        }
        pool
    }

    /// A fresh pool: nothing lent, nothing revoked.
    pub fn new(terms: SeatTerms) -> Pool {
        let lid = terms.lid.clone();
        Pool::restore(
            &lid,
            PoolState {
                terms: Some(terms),
                ..PoolState::default()
            },
        )
    }

    /// The terms.
    pub fn terms(&self) -> &SeatTerms {
        &self.terms
    }

    /// Replace the terms (a license record read again); leases stay as they are.
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

    /// The earliest time a session expires.
    pub fn next_expiry(&self) -> Option<u64> {
        self.leases
            .values()
            .flat_map(|l| l.sessions.iter().map(|s| s.expires_at))
            .min()
    }

    /// The earliest time the pool has something to do by itself (Unix seconds): a
    /// session to expire, a denial window to close. The shell's alarm wakes then.
    pub fn next_due(&self) -> Option<u64> {
        [self.next_expiry(), self.denial_log.next_close()]
            .into_iter()
            .flatten()
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
    pub(super) fn end(
        &mut self,
        id: &str,
        kind: SeatEventKind,
        reason: Option<&str>,
        now: u64,
        ch: &mut Changes,
    ) -> Option<Lease> {
        let lease = self.take(id)?;
        ch.remove(id);
        let last = lease.sessions.last();
        let who = Subject {
            lease: Some(&lease.id),
            product: &lease.product,
            user: &lease.user,
            host: last.map_or("", |s| s.host.as_str()),
            installation: last.map_or("", |s| s.installation.as_str()),
        };
        ch.events.push(event(now, kind, who, reason));
        Some(lease)
    }

    /// End `installation`'s session of lease `id` (the whole lease if it was the last),
    /// for `reason`; an ended lease is `Revoked`, a lease that goes on `Refreshed`.
    pub(super) fn end_session(
        &mut self,
        id: &str,
        installation: &str,
        reason: &str,
        now: u64,
        ch: &mut Changes,
    ) {
        let Some(lease) = self.leases.get_mut(id) else {
            return;
        };
        let Some(at) = lease
            .sessions
            .iter()
            .position(|s| s.installation == installation)
        else {
            return;
        };
        if lease.sessions.len() == 1 {
            self.end(id, SeatEventKind::Revoked, Some(reason), now, ch);
            return;
        }
        let session = lease.sessions.remove(at);
        let who = Subject {
            lease: Some(id),
            product: &lease.product,
            user: &lease.user,
            host: &session.host,
            installation: &session.installation,
        };
        ch.events
            .push(event(now, SeatEventKind::Refreshed, who, Some(reason)));
        ch.save(id);
    }

    /// Expire every session whose time has come; a lease whose last session expires
    /// ends. Every operation starts with this, so state is never judged stale. Denial
    /// windows that closed are written out too.
    pub fn sweep(&mut self, now: u64, ch: &mut Changes) {
        self.close_denial_windows(now, ch);
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
            for s in gone {
                let who = Subject {
                    lease: Some(&id),
                    product: &lease.product,
                    user: &lease.user,
                    host: &s.host,
                    installation: &s.installation,
                };
                ch.events.push(event(
                    now,
                    SeatEventKind::Refreshed,
                    who,
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

    /// Why the license lends nothing at all at `now`, if it does not: revoked or ended.
    pub(super) fn license_ended(&self, now: u64) -> Option<SeatDenial> {
        if self.revoked.is_some() {
            return Some(SeatDenial::License(DenyCode::Revoked));
        }
        self.terms.ended(now).map(SeatDenial::License)
    }

    /// Why the license lends nothing to `product`, if it does not.
    fn license_denial(&self, product: &str, now: u64) -> Option<SeatDenial> {
        if let Some(denial) = self.license_ended(now) {
            return Some(denial);
        }
        if !self.terms.products.iter().any(|p| p == product) {
            return Some(SeatDenial::License(DenyCode::WrongProduct));
        }
        None
    }

    /// Take (or refresh) `request.product` for `request.user` from
    /// `request.installation`. A new lease gets the id `new_id` (the shell draws it at
    /// random). A checkout again from an installation that holds the seat starts its
    /// session's next generation: the token it had stops working.
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
        if let Some(denial) = self.license_denial(r.product, now) {
            return Err(denial);
        }
        if self.deny.disconnected.contains(r.product) {
            return Err(SeatDenial::ProductDisconnected);
        }
        if self.deny.blocked.contains(r.user) {
            return Err(SeatDenial::UserBlocked);
        }
        if self.terms.node_locked() && !self.machines.contains_key(r.installation) {
            return Err(SeatDenial::MachineNotActivated);
        }
        let until = self.session_until(now);
        let key = (r.product.to_string(), r.user.to_string());
        if let Some(id) = self.holders.get(&key).cloned() {
            let max = self.terms.max_sessions as usize;
            let lease = self
                .leases
                .get_mut(&id)
                .ok_or(SeatDenial::NoSeatAvailable)?;
            let count = lease.sessions.len();
            let joined = match lease
                .sessions
                .iter_mut()
                .find(|s| s.installation == r.installation)
            {
                Some(session) => {
                    session.expires_at = until;
                    session.generation += 1;
                    session.rotated_by = None;
                    session.rotated_at = now;
                    session.host = r.host.to_string();
                    false
                }
                None if max > 0 && count >= max => return Err(SeatDenial::SessionLimitReached),
                None => {
                    lease.sessions.push(new_session(r, now, until));
                    true
                }
            };
            let lease = lease.clone();
            // Checking out again from an installation that holds the seat is a
            // heartbeat: a later expiry, no event (see [`SeatEventKind`]).
            if joined {
                ch.save(&id);
                let who = Subject::of(r).lease(&id);
                ch.events.push(event(
                    now,
                    SeatEventKind::Refreshed,
                    who,
                    Some("HOST_JOINED"),
                ));
            } else {
                ch.extend(&id);
            }
            let session = lease
                .session(r.installation)
                .cloned()
                .unwrap_or_else(|| new_session(r, now, until));
            return Ok(Checkout {
                session,
                lease,
                created: false,
            });
        }
        let overage = self.allocated(r.product) >= self.terms.seats;
        if overage && !self.terms.overage {
            return Err(SeatDenial::NoSeatAvailable);
        }
        let session = new_session(r, now, until);
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
        let who = Subject::of(r).lease(new_id);
        ch.events.push(event(
            now,
            SeatEventKind::Granted,
            who,
            overage.then_some("OVERAGE"),
        ));
        Ok(Checkout {
            lease,
            session,
            created: true,
        })
    }

    /// Extend `request.installation`'s session of lease `id`, presenting the lease
    /// token of `generation`, sent with idempotency `key`:
    ///
    /// - the newest generation: extended, and the next generation starts (its token is
    ///   the one to present next);
    /// - the generation before, with the key of the heartbeat that started the newest:
    ///   a retry whose answer was lost — extended again, the same generation answered;
    /// - anything older: the lease and its key are in two places. The session ends as
    ///   `CLONE_DETECTED`, for both copies.
    ///
    /// The later expiry is a change to store, not an event (see [`SeatEventKind`]).
    pub fn heartbeat(
        &mut self,
        id: &str,
        request: SeatRequest<'_>,
        generation: u64,
        key: Option<&str>,
        now: u64,
        ch: &mut Changes,
    ) -> Result<Checkout, Gone> {
        self.sweep(now, ch);
        if self.revoked.is_some() {
            return Err(Gone::Ended);
        }
        let until = self.session_until(now);
        let lease = self.leases.get_mut(id).ok_or(Gone::Ended)?;
        if lease.user != request.user || lease.product != request.product {
            return Err(Gone::Ended);
        }
        let session = lease
            .sessions
            .iter_mut()
            .find(|s| s.installation == request.installation)
            .ok_or(Gone::Ended)?;
        let retry = generation + 1 == session.generation
            && key.is_some()
            && session.rotated_by.as_deref() == key
            && now < session.rotated_at.saturating_add(RETRY_SECONDS);
        if generation == session.generation {
            session.generation += 1;
            session.rotated_by = key.map(String::from);
            session.rotated_at = now;
        } else if !retry {
            self.end_session(id, request.installation, "CLONE_DETECTED", now, ch);
            return Err(Gone::CloneDetected);
        }
        session.expires_at = until;
        let session = session.clone();
        let lease = lease.clone();
        ch.extend(id);
        Ok(Checkout {
            lease,
            session,
            created: false,
        })
    }

    /// Give back `request.installation`'s session of lease `id`; the lease ends with its
    /// last session. Releasing what is already gone changes nothing.
    pub fn release(&mut self, id: &str, request: SeatRequest<'_>, now: u64, ch: &mut Changes) {
        self.sweep(now, ch);
        let Some(lease) = self.leases.get(id) else {
            return;
        };
        if lease.user != request.user
            || lease.product != request.product
            || lease.session(request.installation).is_none()
        {
            return;
        }
        if lease.sessions.len() == 1 {
            self.end(id, SeatEventKind::Released, None, now, ch);
            return;
        }
        self.end_session(id, request.installation, "HOST_RELEASED", now, ch);
    }

    /// Who holds what now, for the directory.
    pub fn snapshot(&self) -> PoolSnapshot {
        PoolSnapshot {
            lid: self.terms.lid.clone(),
            company: self.terms.company.clone(),
            seats: self.terms.seats,
            products: self.terms.products.clone(),
            ends_at: self.terms.ends_at(),
            revoked: self.revoked.is_some(),
            max_sessions: self.terms.max_sessions,
            holdings: self
                .leases
                .values()
                .map(|l| Holding {
                    lease: l.id.clone(),
                    product: l.product.clone(),
                    user: l.user.clone(),
                    hosts: l.sessions.iter().map(|s| s.host.clone()).collect(),
                    installations: l.sessions.iter().map(|s| s.installation.clone()).collect(),
                    since: l.since,
                    expires_at: l.expires_at(),
                    overage: l.overage,
                })
                .collect(),
        }
    }
}

fn new_session(r: SeatRequest<'_>, now: u64, until: u64) -> Session {
    Session {
        installation: r.installation.to_string(),
        host: r.host.to_string(),
        since: now,
        expires_at: until,
        generation: 1,
        rotated_by: None,
        rotated_at: now,
    }
}
