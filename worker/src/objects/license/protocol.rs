//! What a license object can be asked, what it answers, and the worker's handle on the
//! license objects ([`Licenses`]) — the only part of `license/` other rooms import.
//!
//! [`Licenses::recent_revocation`] is the hot path's revocation check: an isolate keeps
//! each license's answer for
//! [`REVOCATION_FRESH_SECONDS`](tessera_engine::sync::REVOCATION_FRESH_SECONDS) (a
//! revocation for good; the rule is the engine's `revocation_known`).

use std::cell::RefCell;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use tessera_engine::api::{HeldLease, MachineView, Page, SeatEventView};
use tessera_engine::sync::revocation_known;
use tessera_engine::{
    DenyCode, DenyState, Holding, Lease, Machine, PoolSnapshot, Revocation, SeatEventKind,
    SeatTerms, Session,
};
use worker::Env;

use crate::error::{ApiError, Gone};
use crate::objects::shell;
use crate::platform;
use crate::proof::Seen;

/// The binding of the license objects (see `wrangler.toml`).
pub(crate) const BINDING: &str = "LICENSES";

/// A request to a license object: which license, and what to do.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Envelope {
    pub(crate) lid: String,
    pub(crate) call: LicenseCall,
}

/// What a license object can be asked. Each answer is `Result<T, WireError>` with the
/// `T` named here; a refused seat is `WireError::Seat` with the engine's denial.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum LicenseCall {
    /// Set the seat terms (when the license is issued). `()`.
    Open { terms: SeatTerms },
    /// Whether (and when, by whom) the license was revoked. `Option<Revocation>`.
    Revocation,
    /// Bench builds only: one small durable write, then `()` — the floor of a call that
    /// changes anything (the answer waits for the write to be stored).
    #[cfg(feature = "bench")]
    BenchWrite,
    /// Revoke the license; the revocation that stands. `Option<Revocation>`.
    Revoke { by: String },
    /// Take or refresh a seat for `installation`. [`Granted`]. `terms` open a license
    /// issued before seats existed; `refused` records a request whose license token was
    /// refused (answered with that denial). Every app call carries its proof's `jti`,
    /// refused if seen before, remembered otherwise, in the same step as the change.
    Checkout {
        terms: SeatTerms,
        product: String,
        user: String,
        host: String,
        installation: String,
        lease_id: String,
        refused: Option<DenyCode>,
        proof: Seen,
    },
    /// Extend `installation`'s session, presenting the token of `generation`, sent with
    /// idempotency `key`. [`Heartbeat`].
    Heartbeat {
        lease: String,
        product: String,
        user: String,
        installation: String,
        generation: u64,
        key: Option<String>,
        proof: Seen,
    },
    /// Give `installation`'s session back. `()`.
    Release {
        lease: String,
        product: String,
        user: String,
        installation: String,
        proof: Seen,
    },
    /// Activate the license on `installation` (a new machine gets `machine_id`).
    /// [`Activated`].
    Activate {
        terms: SeatTerms,
        installation: String,
        name: String,
        platform: String,
        fingerprint: String,
        machine_id: String,
        refused: Option<DenyCode>,
        proof: Seen,
    },
    /// Deactivate machine `machine`: by itself (its `installation` and `proof`) or an
    /// administrator (neither). `Option<Machine>`: the machine that was.
    Deactivate {
        machine: String,
        installation: Option<String>,
        proof: Option<Seen>,
    },
    /// The license's machines, oldest first, after `cursor` (a machine id).
    /// `Page<MachineView>`.
    Machines { cursor: Option<String>, limit: u32 },
    /// End one lease of `user` (an administrator's revocation). `bool`: whether it
    /// existed.
    RevokeLease { lease: String, user: String },
    /// Apply the vault's deny state (from the directory). [`Applied`].
    Apply { deny: DenyState },
    /// The live state, for the vault. `tessera_engine::api::LicensePool`.
    State,
    /// The seat event log, newest first. `Page<SeatEventView>`.
    Events {
        kind: Option<SeatEventKind>,
        before: Option<u64>,
        limit: u32,
    },
}

/// A heartbeat's answer: the extended session, or why it is gone.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub(crate) enum Heartbeat {
    Beat(Box<Beat>),
    Gone { why: Gone },
}

/// An activation: the machine, whether it is new, and what its token needs.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Activated {
    pub(crate) machine: Machine,
    pub(crate) created: bool,
}

/// A machine as the vault lists it.
pub(crate) fn machine_view(lid: &str, m: &Machine) -> MachineView {
    MachineView {
        id: m.id.clone(),
        lid: lid.to_string(),
        thumbprint: m.installation.clone(),
        name: m.name.clone(),
        platform: m.platform.clone(),
        activated_at: m.activated_at,
    }
}

/// A granted (or refreshed) checkout.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Granted {
    pub(crate) beat: Beat,
    /// A new lease (true) or one the user held refreshed (false).
    pub(crate) created: bool,
}

/// A lease and one host's session of it, after a checkout or a heartbeat.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Beat {
    pub(crate) lease: Lease,
    pub(crate) session: Session,
    pub(crate) heartbeat_seconds: u32,
}

/// What applying a deny state did, and the holdings after it.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Applied {
    pub(crate) ended: u64,
    pub(crate) seq: u64,
    pub(crate) snapshot: PoolSnapshot,
    /// The version of the deny state the license holds now.
    #[serde(default)]
    pub(crate) version: u64,
}

/// A holding as the vault lists it.
pub(crate) fn held(lid: &str, company: &str, h: Holding) -> HeldLease {
    HeldLease {
        host: h.hosts.last().cloned().unwrap_or_default(),
        lease: h.lease,
        lid: lid.to_string(),
        company: company.to_string(),
        product: h.product,
        user: h.user,
        hosts: h.hosts,
        installations: h.installations,
        since: h.since,
        expires_at: h.expires_at,
        overage: h.overage,
    }
}

/// The worker's handle on the license objects.
pub(crate) struct Licenses<'a> {
    env: &'a Env,
}

impl<'a> Licenses<'a> {
    pub(crate) fn new(env: &'a Env) -> Licenses<'a> {
        Licenses { env }
    }

    /// Ask license `lid`'s object.
    pub(crate) async fn ask<T: for<'de> Deserialize<'de>>(
        &self,
        lid: &str,
        call: LicenseCall,
    ) -> Result<T, ApiError> {
        let envelope = Envelope {
            lid: lid.to_string(),
            call,
        };
        shell::ask(self.env, BINDING, lid, &envelope).await
    }

    /// A page of license `lid`'s seat events.
    pub(crate) async fn events(
        &self,
        lid: &str,
        kind: Option<SeatEventKind>,
        before: Option<u64>,
        limit: u32,
    ) -> Result<Page<SeatEventView>, ApiError> {
        let call = LicenseCall::Events {
            kind,
            before,
            limit,
        };
        self.ask(lid, call).await
    }
}

/// Licenses per isolate whose revocation state is remembered (then all are forgotten).
const REVOCATIONS_KEPT: usize = 10_000;

thread_local! {
    /// License id → (when asked, its revocation), per isolate.
    static REVOCATIONS: RefCell<HashMap<String, (u64, Option<Revocation>)>> =
        RefCell::new(HashMap::new());
}

/// Remember what license `lid`'s object said at `now`. A revocation once seen stays: a
/// "not revoked" answer to a question asked before it (still in flight while this
/// isolate revoked) must not undo it.
fn remember_revocation(lid: &str, now: u64, revocation: Option<Revocation>) {
    REVOCATIONS.with_borrow_mut(|kept| {
        if revocation.is_none() && kept.get(lid).is_some_and(|(_, r)| r.is_some()) {
            return;
        }
        if kept.len() >= REVOCATIONS_KEPT {
            kept.clear();
        }
        kept.insert(lid.to_string(), (now, revocation));
    });
}

/// What this isolate knows of license `lid`'s revocation at `now`, if it still stands.
fn known_revocation(lid: &str, now: u64) -> Option<Option<Revocation>> {
    REVOCATIONS.with_borrow(|kept| {
        kept.get(lid)
            .filter(|(at, r)| revocation_known(*at, r.is_some(), now))
            .map(|(_, r)| r.clone())
    })
}

impl Licenses<'_> {
    /// License `lid`'s revocation, as its object last said within the freshness the
    /// engine allows (a revocation itself, whenever it was seen): one object call per
    /// license every few seconds at most. The seat routes always ask the license's
    /// object, so a revoked license never takes or keeps a seat.
    pub(crate) async fn recent_revocation(
        &self,
        lid: &str,
    ) -> Result<Option<Revocation>, ApiError> {
        let now = platform::now();
        if let Some(revocation) = known_revocation(lid, now) {
            return Ok(revocation);
        }
        let revocation: Option<Revocation> = self.ask(lid, LicenseCall::Revocation).await?;
        remember_revocation(lid, now, revocation.clone());
        Ok(revocation)
    }
}

fn store_error(e: ApiError) -> tessera_engine::Error {
    tessera_engine::Error::Store(format!("license object: {e:?}"))
}

impl tessera_engine::LiveState for Licenses<'_> {
    async fn open(&self, terms: &SeatTerms) -> Result<(), tessera_engine::Error> {
        let call = LicenseCall::Open {
            terms: terms.clone(),
        };
        self.ask::<()>(&terms.lid, call).await.map_err(store_error)
    }

    async fn revocation(&self, lid: &str) -> Result<Option<Revocation>, tessera_engine::Error> {
        self.ask(lid, LicenseCall::Revocation)
            .await
            .map_err(store_error)
    }

    async fn revoke(
        &self,
        lid: &str,
        by: &str,
        _now: u64,
    ) -> Result<Revocation, tessera_engine::Error> {
        let revocation = self
            .ask::<Option<Revocation>>(lid, LicenseCall::Revoke { by: by.to_string() })
            .await
            .map_err(store_error)?
            .ok_or_else(|| tessera_engine::Error::Store("revocation not recorded".into()))?;
        remember_revocation(lid, platform::now(), Some(revocation.clone()));
        Ok(revocation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_engine::sync::REVOCATION_FRESH_SECONDS;

    #[test]
    fn a_late_not_revoked_answer_never_undoes_a_revocation() {
        let revoked = Revocation {
            at: 100,
            by: "admin".into(),
        };
        remember_revocation("L-race", 100, Some(revoked.clone()));
        // The answer to a question asked before the revocation arrives afterwards.
        remember_revocation("L-race", 101, None);
        assert_eq!(known_revocation("L-race", 1_000_000), Some(Some(revoked)));
    }

    /// Another isolate's revocation is seen here once the "not revoked" answer this
    /// isolate holds is [`REVOCATION_FRESH_SECONDS`] old: the cache asks again then.
    #[test]
    fn a_not_revoked_answer_is_asked_again_after_the_window() {
        remember_revocation("L-open", 100, None);
        assert_eq!(known_revocation("L-open", 100), Some(None));
        assert_eq!(
            known_revocation("L-open", 100 + REVOCATION_FRESH_SECONDS - 1),
            Some(None)
        );
        assert_eq!(
            known_revocation("L-open", 100 + REVOCATION_FRESH_SECONDS),
            None,
            "stale: the object is asked"
        );
        assert_eq!(known_revocation("L-never-asked", 100), None);
    }
}
