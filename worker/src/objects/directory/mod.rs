//! `VaultDirectory`: the license vault's one directory (a SQLite-backed Durable Object
//! named `vault`), the home of two things.
//!
//! 1. **The deny state**, authoritative: blocked users, disconnected products, and
//!    "revoke all" marks, with a version that grows on every change. A change is
//!    written here first and published to KV ([`DENY_KEY`]); then the directory's job
//!    pushes it to every license holding seats whose copy is older (the roll-up knows
//!    them and which version each holds): the API call runs the job's first batch,
//!    those holding the leases it ends first, and answers with what is still
//!    `pending`; the alarm does the rest, retrying failures. Nothing on an app's
//!    request calls the directory: a license holding seats uses what it was pushed (or
//!    answered to its reports) for a bounded time, and one holding none reads the
//!    published snapshot before it lends a seat (`tessera_engine::sync`). Deliveries are
//!    versioned: a late one never replaces a newer state, so a block is never undone.
//! 2. **A roll-up of who holds what**, for the vault's reads (free and allocated seats
//!    per product, a user's leases, active users) without asking every license. License
//!    objects `report` their holdings after each change; each report carries a `seq` and
//!    an older one is ignored. The roll-up lags the licenses by about a quarter second.
//!
//! - `protocol.rs`: the calls, the answers, and how to ask.
//! - `store.rs`: the tables and the roll-up's statements; `store/deny.rs`: the deny
//!   state's, the job's bookkeeping and the call counts.
//!
//! The rules (the block cap, which licenses a change reaches, which report wins) are the
//! engine's (`tessera_engine::vault`).

pub(crate) mod protocol;
mod store;

use std::collections::BTreeSet;

use futures_util::StreamExt as _;
use tessera_engine::api::{DirectoryStatus, VaultChange};
use tessera_engine::vault::{PUSH_BATCH, check_block, deny_for_report};
use tessera_engine::{DenyState, Store as _};
use worker::{DurableObject, Env, Request, Response, State, durable_object};

use self::protocol::{DENY_KEY, DirectoryCall};
use self::store::Store;
use crate::error::ApiError;
use crate::objects::license::protocol::{Applied, LicenseCall, Licenses};
use crate::objects::shell::{answer, opaque_debug, serve};
use crate::platform;

/// Licenses told of a change at once.
const FAN_OUT: usize = 16;
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

/// The vault's directory.
#[durable_object(alarm)]
pub struct VaultDirectory {
    state: State,
    env: Env,
    store: Store,
}

opaque_debug!(VaultDirectory);

impl DurableObject for VaultDirectory {
    fn new(state: State, env: Env) -> Self {
        let store = Store::open(state.storage().sql());
        VaultDirectory { state, env, store }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        serve(req, |call: DirectoryCall| self.handle(call)).await
    }

    /// The job: publish and push what a change left to do.
    async fn alarm(&self) -> worker::Result<Response> {
        let deadline = worker::Date::now().as_millis() + JOB_RUN_MS;
        if let Err(e) = self.job(deadline).await {
            worker::console_error!("directory job: {e:?}");
            self.again(JOB_BACKOFF_MS).await;
        }
        Response::ok("")
    }
}

impl VaultDirectory {
    async fn handle(&self, call: DirectoryCall) -> Result<serde_json::Value, ApiError> {
        let now = platform::now();
        let store = &self.store;
        store.count_call(call.kind(), now)?;
        match call {
            DirectoryCall::Report {
                seq,
                snapshot,
                deny_version,
            } => {
                if store.take(seq, &snapshot)? {
                    store.known_version(&snapshot.lid, deny_version)?;
                }
                let deny = store.deny_state()?;
                let newer = deny_for_report(deny_version, deny.version).then_some(deny);
                answer(&newer)
            }
            DirectoryCall::Products => answer(&store.products(now)?),
            DirectoryCall::ProductLicenses {
                product,
                cursor,
                limit,
            } => answer(&store.product_licenses(&product, cursor.as_deref(), limit)?),
            DirectoryCall::Users {
                search,
                cursor,
                limit,
            } => answer(&store.users(search.as_deref(), cursor.as_deref(), limit)?),
            DirectoryCall::UserLeases { user } => answer(&store.user_leases(&user)?),
            DirectoryCall::RevokeUser { user, block, by } => {
                if block {
                    let (blocked, already) = store.blocked(&user)?;
                    check_block(blocked, already)?;
                    store.block(&user, now, &by)?;
                }
                store.mark_revoked(&user, now)?;
                let affected = store.holding_user(&user)?;
                answer(&self.change(now, affected).await?)
            }
            DirectoryCall::Unblock { user } => {
                store.unblock(&user)?;
                answer(&self.change(now, BTreeSet::new()).await?)
            }
            DirectoryCall::Disconnect { product, by } => {
                store.disconnect(&product, now, &by)?;
                let affected = store.holding_product(&product)?;
                answer(&self.change(now, affected).await?)
            }
            DirectoryCall::Connect { product } => {
                store.connect(&product)?;
                answer(&self.change(now, BTreeSet::new()).await?)
            }
            DirectoryCall::Blocks => answer(&store.blocks()?),
            DirectoryCall::Disconnected => answer(&store.disconnected()?),
            DirectoryCall::Status => {
                let (published_version, deny_version) = store.published()?;
                answer(&DirectoryStatus {
                    deny_version,
                    published_version,
                    behind: store.behind_count(deny_version)?,
                    ..store.calls()?
                })
            }
        }
    }

    /// After a change of the deny state (already written): bump its version, publish
    /// it, and run the job's first batch — the licenses holding leases it ends
    /// (`affected`) first — before the API answers; the alarm does the rest.
    async fn change(&self, now: u64, affected: BTreeSet<String>) -> Result<VaultChange, ApiError> {
        let deny = self.store.next_version(now)?;
        self.publish(&deny).await;
        let mut outcome = VaultChange::default();
        let mut batch = affected;
        let room = PUSH_BATCH.saturating_sub(batch.len());
        batch.extend(self.store.behind(deny.version, now, room)?);
        self.push(&deny, batch, &mut outcome).await?;
        outcome.pending = self.store.behind_count(deny.version)?;
        if outcome.pending > 0 || self.store.published()?.0 < deny.version {
            self.again(0).await;
        }
        Ok(outcome)
    }

    /// Publish `deny` to KV for licenses holding no seats. A failure (KV takes one
    /// write a second per key) is left to the job.
    async fn publish(&self, deny: &DenyState) {
        let published = async {
            let json =
                serde_json::to_string(deny).map_err(|e| ApiError::Internal(e.to_string()))?;
            crate::kv::Kv::from_env(&self.env)?
                .put(DENY_KEY, &json)
                .await
                .map_err(ApiError::from)?;
            self.store.set_published(deny.version)
        };
        if let Err(e) = published.await {
            worker::console_warn!("deny state {} not published yet: {e:?}", deny.version);
        }
    }

    /// Push `deny` to `lids`, 16 at a time, recording which version each took.
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

    /// One run of the job: publish the state if it is not, then push it to every
    /// license holding seats that is behind, until none is or `deadline` (epoch ms).
    async fn job(&self, deadline: u64) -> Result<(), ApiError> {
        let deny = self.store.deny_state()?;
        if self.store.published()?.0 < deny.version {
            self.publish(&deny).await;
        }
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
        // Left: licenses waiting after a failed push, or an unpublished state.
        if self.store.behind_count(deny.version)? > 0 {
            self.again(JOB_BACKOFF_MS).await;
        } else if self.store.published()?.0 < deny.version {
            self.again(JOB_AGAIN_MS).await;
        }
        Ok(())
    }

    /// Run the job `delay_ms` from now (at least a second: see [`JOB_AGAIN_MS`]).
    async fn again(&self, delay_ms: u64) {
        let at = worker::Date::now().as_millis() + delay_ms.max(JOB_AGAIN_MS);
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at as f64));
        if let Err(e) = self
            .state
            .storage()
            .set_alarm(worker::ScheduledTime::new(date))
            .await
        {
            worker::console_error!("directory job not scheduled: {e}");
        }
    }
}
