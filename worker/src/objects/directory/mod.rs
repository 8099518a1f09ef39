//! `VaultDirectory`: the license vault's one directory (a SQLite-backed Durable Object
//! named `vault`), the authority on **the deny state**: blocked users, disconnected
//! products, and "revoke all" marks, with a version that grows on every change.
//!
//! A change is written here first and published to KV ([`DENY_KEY`]); then it is
//! delivered to every roll-up shard (`objects/rollup/`), each of which tells its
//! licenses holding seats whose copy is older — those holding the leases the change
//! ends first — and answers what is still `pending`; the shards' jobs do the rest, and
//! this object's job tells again any shard that missed it. Nothing on an app's request
//! calls the directory: a license holding seats uses what it was pushed (or answered to
//! its reports by its shard) for a bounded time, and one holding none reads the
//! published snapshot before it lends a seat (`tessera_engine::sync`). Deliveries are
//! versioned: a late one never replaces a newer state, so a block is never undone.
//!
//! Who holds what lives in the shards; the vault's reads ask them and merge, taking
//! blocked and disconnected from here ([`DirectoryCall::Deny`]). A directory from before
//! the roll-up was sharded still holds its roll-up: it hands it to the shards before it
//! answers its first call (and from its job).
//!
//! - `protocol.rs`: the calls, the answers, and how to ask.
//! - `store.rs`: the deny state's tables, the shards' versions, the call counts;
//!   `store/legacy.rs`: the unsharded roll-up, moved once.
//!
//! The rules (the block cap, which version wins) are the engine's
//! (`tessera_engine::vault`).

pub(crate) mod protocol;
mod store;

use std::cell::Cell;
use std::collections::BTreeMap;

use tessera_engine::api::{DirectoryStatus, VaultChange};
use tessera_engine::vault::{check_block, rollup_shard};
use tessera_engine::{DenyState, Store as _};
use worker::{DurableObject, Env, Request, Response, State, durable_object};

use self::protocol::{DENY_KEY, DirectoryCall};
use self::store::Store;
use crate::error::ApiError;
use crate::objects::rollup::protocol::{self as rollup, Adopted, Reach, RollupCall};
use crate::objects::shell::{alarm_in, answer, opaque_debug, serve};
use crate::platform;

/// When the job runs again after a run that left work, in milliseconds (local workerd
/// drops an alarm set for "now" from inside an alarm).
const JOB_AGAIN_MS: u64 = 1_000;
/// When it runs again after a run in which a shard was not reached, in milliseconds.
const JOB_BACKOFF_MS: u64 = 5_000;
/// Licenses of the unsharded roll-up moved per round.
const LEGACY_BATCH: u64 = 256;

/// The vault's directory.
#[durable_object(alarm)]
pub struct VaultDirectory {
    state: State,
    env: Env,
    store: Store,
    /// Whether the unsharded roll-up may still be here (checked once per load).
    legacy: Cell<bool>,
}

opaque_debug!(VaultDirectory);

impl DurableObject for VaultDirectory {
    fn new(state: State, env: Env) -> Self {
        let store = Store::open(state.storage().sql());
        VaultDirectory {
            state,
            env,
            store,
            legacy: Cell::new(true),
        }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        if let Err(e) = self.move_legacy().await {
            worker::console_error!("directory: the unsharded roll-up not moved yet: {e:?}");
        }
        serve(req, |call: DirectoryCall| self.handle(call)).await
    }

    /// The job: publish, and tell the shards, what a change left to do.
    async fn alarm(&self) -> worker::Result<Response> {
        if let Err(e) = self.job().await {
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
            DirectoryCall::RevokeUser { user, block, by } => {
                if block {
                    let (blocked, already) = store.blocked(&user)?;
                    check_block(blocked, already)?;
                    store.block(&user, now, &by)?;
                }
                store.mark_revoked(&user, now)?;
                answer(&self.change(now, Reach::user(user)).await?)
            }
            DirectoryCall::Unblock { user } => {
                store.unblock(&user)?;
                answer(&self.change(now, Reach::default()).await?)
            }
            DirectoryCall::Disconnect { product, by } => {
                store.disconnect(&product, now, &by)?;
                answer(&self.change(now, Reach::product(product)).await?)
            }
            DirectoryCall::Connect { product } => {
                store.connect(&product)?;
                answer(&self.change(now, Reach::default()).await?)
            }
            DirectoryCall::Blocks => answer(&store.blocks()?),
            DirectoryCall::Disconnected => answer(&store.disconnected()?),
            DirectoryCall::Deny => answer(&store.deny_state()?),
            DirectoryCall::Status => {
                let (published_version, deny_version) = store.published()?;
                answer(&DirectoryStatus {
                    deny_version,
                    published_version,
                    ..store.calls()?
                })
            }
        }
    }

    /// After a change of the deny state (already written): bump its version, publish
    /// it, and deliver it to every shard — each tells the licenses holding the leases it
    /// ends (`first`) and a batch more before the API answers; their jobs do the rest.
    async fn change(&self, now: u64, first: Reach) -> Result<VaultChange, ApiError> {
        let deny = self.store.next_version(now)?;
        self.publish(&deny).await;
        let shards = self.store.shards_behind(deny.version)?;
        let outcome = self.deliver(&deny, shards, &first).await?;
        let unpublished = self.store.published()?.0 < deny.version;
        if unpublished || !self.store.shards_behind(deny.version)?.is_empty() {
            self.again(JOB_AGAIN_MS).await;
        }
        Ok(outcome)
    }

    /// Deliver `deny` to `shards` at once, recording which took it; what they reached,
    /// summed (a shard not reached counts as unreachable: the job tells it again).
    async fn deliver(
        &self,
        deny: &DenyState,
        shards: Vec<u32>,
        first: &Reach,
    ) -> Result<VaultChange, ApiError> {
        let calls = shards
            .into_iter()
            .map(|shard| {
                let call = RollupCall::Deliver {
                    deny: deny.clone(),
                    first: first.clone(),
                };
                (shard, call)
            })
            .collect();
        let mut outcome = VaultChange::default();
        for (shard, answer) in rollup::ask_each::<VaultChange>(&self.env, calls).await {
            match answer {
                Ok(reached) => {
                    outcome.add(&reached);
                    self.store.shard_told(shard, deny.version)?;
                }
                Err(e) => {
                    worker::console_warn!(
                        "roll-up shard {shard} did not take the deny state: {e:?}"
                    );
                    outcome.unreachable += 1;
                }
            }
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

    /// One run of the job: move what is left of the unsharded roll-up, publish the
    /// state if it is not, and tell the shards that missed it.
    async fn job(&self) -> Result<(), ApiError> {
        self.move_legacy().await?;
        let deny = self.store.deny_state()?;
        if self.store.published()?.0 < deny.version {
            self.publish(&deny).await;
        }
        let behind = self.store.shards_behind(deny.version)?;
        if !behind.is_empty() {
            self.deliver(&deny, behind, &Reach::default()).await?;
        }
        if !self.store.shards_behind(deny.version)?.is_empty() {
            self.again(JOB_BACKOFF_MS).await;
        } else if self.store.published()?.0 < deny.version {
            self.again(JOB_AGAIN_MS).await;
        }
        Ok(())
    }

    /// Hand the roll-up this directory kept before it was sharded to the shards, a
    /// batch at a time (each license to its shard, which keeps the newer of that and any
    /// report it already took), and drop it when empty. Once per load when there is none.
    async fn move_legacy(&self) -> Result<(), ApiError> {
        if !self.legacy.get() {
            return Ok(());
        }
        if !self.store.has_legacy()? {
            self.legacy.set(false);
            return Ok(());
        }
        loop {
            let batch = self.store.legacy_batch(LEGACY_BATCH)?;
            if batch.is_empty() {
                self.store.drop_legacy()?;
                self.legacy.set(false);
                return Ok(());
            }
            let lids: Vec<String> = batch.iter().map(|a| a.snapshot.lid.clone()).collect();
            let mut per_shard: BTreeMap<u32, Vec<Adopted>> = BTreeMap::new();
            for adopted in batch {
                let shard = rollup_shard(&adopted.snapshot.lid);
                per_shard.entry(shard).or_default().push(adopted);
            }
            let calls = per_shard
                .into_iter()
                .map(|(shard, licenses)| (shard, RollupCall::Adopt { licenses }))
                .collect();
            for (_, answer) in rollup::ask_each::<()>(&self.env, calls).await {
                answer?;
            }
            self.store.forget_legacy(&lids)?;
        }
    }

    /// Run the job `delay_ms` from now (at least a second: see [`JOB_AGAIN_MS`]).
    async fn again(&self, delay_ms: u64) {
        alarm_in(&self.state, delay_ms.max(JOB_AGAIN_MS), "directory job").await;
    }
}
