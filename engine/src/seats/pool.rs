//! [`Pool`]: the decisions of one license's seat pool — checkout, heartbeat, release,
//! expiry, revocation and the vault's deny state — each writing what it changed into a
//! [`Changes`] for the shell to persist.

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::model::{
    Changes, Checkout, DenyState, Holding, Lease, PoolSnapshot, Revocation, SeatDenial,
    SeatEventKind, SeatRequest, SeatTerms, Session, event,
};
use crate::decision::DenyCode;

/// One license's live seat state.
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

    /// Why the license lends nothing to `product`, if it does not.
    fn license_denial(&self, product: &str, now: u64) -> Option<SeatDenial> {
        if self.revoked.is_some() {
            return Some(SeatDenial::License(DenyCode::Revoked));
        }
        if !self.terms.products.iter().any(|p| p == product) {
            return Some(SeatDenial::License(DenyCode::WrongProduct));
        }
        if let Some(code) = self.terms.ended(now) {
            return Some(SeatDenial::License(code));
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
        if let Some(denial) = self.license_denial(r.product, now) {
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

    /// Record a request refused before it reached the pool's rules (the license token
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

    /// Revoke the license: every lease ends, and nothing is lent again. Revoking twice
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
