//! `VaultRollup`: one shard of the vault's roll-up of who holds what (SQLite-backed
//! Durable Objects named `rollup-0` … `rollup-7`; a license reports to
//! `tessera_engine::vault::rollup_shard(lid)`), so the roll-up's write load grows with
//! its shards and no one object takes every report.
//!
//! A shard keeps, for its licenses:
//! 1. **Their holdings**, for the vault's reads (free and allocated seats per product, a
//!    user's leases, active users) without asking every license. License objects
//!    `report` after each change of who holds what; each report carries a `seq` and an
//!    older one is ignored. The vault's reads ask every shard and merge
//!    (`tessera_engine::vault::merge_*`); they lag the licenses by about a quarter second.
//! 2. **Its part of the deny state's delivery.** The directory delivers each new version
//!    to every shard; the shard keeps it, tells the licenses the change reaches first and
//!    a batch more before it answers, and its job (the alarm) tells the rest of its
//!    licenses holding seats whose copy is older, retrying failures. A report is
//!    answered with the shard's copy when the license's is older.
//!
//! - `protocol.rs`: the calls, the answers, how to ask one shard or all, the cursor.
//! - `store.rs`: the roll-up's tables and statements; `store/delivery.rs`: the deny
//!   copy and the job's bookkeeping.

pub(crate) mod protocol;
mod store;

use std::collections::BTreeSet;

use futures_util::StreamExt as _;
use tessera_engine::DenyState;
use tessera_engine::api::VaultChange;
use tessera_engine::vault::{DELIVER_FIRST, PUSH_BATCH, deny_for_report};
use worker::{DurableObject, Env, Request, Response, State, durable_object};

use self::protocol::RollupCall;
use self::store::Store;
use crate::error::ApiError;
use crate::objects::license::protocol::{Applied, LicenseCall, Licenses};
use crate::objects::shell::{alarm_in, answer, opaque_debug, serve};
use crate::platform;

/// Licenses one shard tells of a change at once: 16 over the eight shards. Local
/// workerd, which keeps every object of a deployment in one process, ran out of SQLite
/// memory when 8 × 16 license objects woke at once under 5,000 licenses
/// (`tests/bench/scale.mjs`); 16 in all is what one directory pushed before.
const FAN_OUT: usize = 2;
/// How long one run of the job keeps pushing before it lets the alarm run it again, in
/// milliseconds.
const JOB_RUN_MS: u64 = 20_000;
/// Batches one run pushes at most: each push is a subrequest, and one invocation may
/// make about a thousand.
const JOB_BATCHES: usize = 12;
/// When the job runs again after a run that left licenses behind, in milliseconds
/// (local workerd drops an alarm set for "now" from inside an alarm).
const JOB_AGAIN_MS: u64 = 1_000;
/// When it runs again after a run in which no license took the state, in milliseconds.
const JOB_BACKOFF_MS: u64 = 5_000;

/// One shard of the vault's roll-up.
#[durable_object(alarm)]
pub struct VaultRollup {
    state: State,
    env: Env,
    store: Store,
}

opaque_debug!(VaultRollup);

impl DurableObject for VaultRollup {
    fn new(state: State, env: Env) -> Self {
        let store = Store::open(state.storage().sql());
        VaultRollup { state, env, store }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        serve(req, |call: RollupCall| self.handle(call)).await
    }

    /// The job: push the deny state to the licenses behind.
    async fn alarm(&self) -> worker::Result<Response> {
        let deadline = worker::Date::now().as_millis() + JOB_RUN_MS;
        if let Err(e) = self.job(deadline).await {
            worker::console_error!("roll-up job: {e:?}");
            self.again(JOB_BACKOFF_MS).await;
        }
        Response::ok("")
    }
}

impl VaultRollup {
    async fn handle(&self, call: RollupCall) -> Result<serde_json::Value, ApiError> {
        let now = platform::now();
        let store = &self.store;
        store.count_call(call.kind(), now)?;
        match call {
            RollupCall::Report {
                seq,
                snapshot,
                deny_version,
            } => {
                if store.take(seq, &snapshot)? {
                    store.known_version(&snapshot.lid, deny_version)?;
                }
                // The state itself (up to every block) is read only when it is owed.
                let newer = deny_for_report(deny_version, store.deny_version()?)
                    .then(|| store.deny_state())
                    .transpose()?;
                answer(&newer)
            }
            RollupCall::Deliver { deny, first } => {
                let deny = store.keep_deny(deny)?;
                let first = match (first.user, first.product) {
                    (Some(user), _) => store.holding_user(&user)?,
                    (None, Some(product)) => store.holding_product(&product)?,
                    (None, None) => BTreeSet::new(),
                };
                answer(&self.deliver(&deny, first, now).await?)
            }
            RollupCall::Adopt { licenses } => {
                for adopted in licenses {
                    if store.take(adopted.seq, &adopted.snapshot)? {
                        store.known_version(&adopted.snapshot.lid, adopted.known_version)?;
                    }
                }
                if store.behind_count(store.deny_version()?)? > 0 {
                    self.again(0).await;
                }
                answer(&())
            }
            RollupCall::Products => answer(&store.products(now)?),
            RollupCall::ProductLicenses {
                product,
                cursor,
                limit,
            } => answer(&store.product_licenses(&product, cursor.as_deref(), limit)?),
            RollupCall::Users {
                search,
                cursor,
                limit,
            } => answer(&store.users(search.as_deref(), cursor.as_deref(), limit)?),
            RollupCall::UserLeases { user } => answer(&store.user_leases(&user)?),
            RollupCall::Status => {
                let deny_version = store.deny_version()?;
                answer(&tessera_engine::api::DirectoryStatus {
                    deny_version,
                    behind: store.behind_count(deny_version)?,
                    ..store.calls()?
                })
            }
        }
    }

    /// Tell the licenses a change reaches (`first`), then as many more behind as make
    /// this shard's share of a batch ([`DELIVER_FIRST`]), before the directory answers;
    /// the alarm does the rest.
    async fn deliver(
        &self,
        deny: &DenyState,
        first: BTreeSet<String>,
        now: u64,
    ) -> Result<VaultChange, ApiError> {
        let mut outcome = VaultChange::default();
        let mut batch = first;
        let room = DELIVER_FIRST.saturating_sub(batch.len());
        batch.extend(self.store.behind(deny.version, now, room)?);
        self.push(deny, batch, &mut outcome).await?;
        outcome.pending = self.store.behind_count(deny.version)?;
        if outcome.pending > 0 {
            self.again(0).await;
        }
        Ok(outcome)
    }

    /// Push `deny` to `lids`, [`FAN_OUT`] at a time, recording which version each took.
    async fn push(
        &self,
        deny: &DenyState,
        lids: BTreeSet<String>,
        outcome: &mut VaultChange,
    ) -> Result<(), ApiError> {
        let licenses = Licenses::new(&self.env);
        let mut answers = futures_util::stream::iter(lids.into_iter().map(|lid| {
            let licenses = &licenses;
            let deny = deny.clone();
            async move {
                let answer: Result<Applied, ApiError> =
                    licenses.ask(&lid, LicenseCall::Apply { deny }).await;
                (lid, answer)
            }
        }))
        .buffer_unordered(FAN_OUT);
        while let Some((lid, answer)) = answers.next().await {
            match answer {
                Ok(applied) => {
                    outcome.licenses += 1;
                    outcome.ended += applied.ended;
                    self.store.take(applied.seq, &applied.snapshot)?;
                    self.store.known_version(&lid, applied.version)?;
                }
                Err(e) => {
                    worker::console_warn!("license {lid} did not take the deny state now: {e:?}");
                    outcome.unreachable += 1;
                    let after = platform::now() + JOB_BACKOFF_MS / 1000;
                    self.store.push_failed(&lid, after)?;
                }
            }
        }
        Ok(())
    }

    /// One run of the job: push the shard's deny state to every license holding seats
    /// that is behind, until none is or `deadline` (epoch ms).
    async fn job(&self, deadline: u64) -> Result<(), ApiError> {
        let deny = self.store.deny_state()?;
        for run in 1.. {
            let batch = self
                .store
                .behind(deny.version, platform::now(), PUSH_BATCH)?;
            if batch.is_empty() {
                break;
            }
            self.push(&deny, batch, &mut VaultChange::default()).await?;
            if run == JOB_BATCHES || worker::Date::now().as_millis() >= deadline {
                self.again(JOB_AGAIN_MS).await;
                return Ok(());
            }
        }
        // Left: licenses waiting after a failed push.
        if self.store.behind_count(deny.version)? > 0 {
            self.again(JOB_BACKOFF_MS).await;
        }
        Ok(())
    }

    /// Run the job `delay_ms` from now (at least a second: see [`JOB_AGAIN_MS`]).
    async fn again(&self, delay_ms: u64) {
        alarm_in(&self.state, delay_ms.max(JOB_AGAIN_MS), "roll-up job").await;
    }
}
