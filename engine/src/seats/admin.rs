//! What ends seats from outside the app: an administrator revoking one lease, the
//! license's revocation, and the vault's deny state (blocks, disconnected products,
//! "revoke all") as the directory delivers it.

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::events::{Changes, SeatEventKind};
use super::model::{DenyState, Lease, Revocation};
use super::pool::Pool;

impl Pool {
    /// An administrator ends lease `id` of `user` (every installation). `None` if there
    /// is no such lease of that user.
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
