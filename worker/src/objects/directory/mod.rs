//! `VaultDirectory`: the license vault's one directory (a SQLite-backed Durable Object
//! named `vault`), the home of two things.
//!
//! 1. **The deny state**, authoritative: blocked users, disconnected products, and
//!    "revoke all" marks, with a version that grows on every change. License objects
//!    keep a copy and ask for it again (`pull`) when theirs is stale; the directory
//!    remembers who asked. A change is written here first, then pushed to every license
//!    that asked within the freshness interval and to every license holding a lease it
//!    ends, before the API answers. So a license lending seats always has the current
//!    state, or gets it within the interval if a push failed (the answer counts those as
//!    `unreachable`). Deliveries are versioned: a late one never replaces a newer state,
//!    so a block is never undone.
//! 2. **A roll-up of who holds what**, for the vault's reads (free and allocated seats
//!    per product, a user's leases, active users) without asking every license. License
//!    objects `report` their holdings after each change; each report carries a `seq` and
//!    an older one is ignored. The roll-up lags the licenses by about a quarter second.
//!
//! - `protocol.rs`: the calls, the answers, and how to ask.
//! - `store.rs`: the tables and every statement.
//!
//! The rules (the block cap, which licenses a change reaches, which report wins) are the
//! engine's (`tessera_engine::vault`).

pub(crate) mod protocol;
mod store;

use std::collections::BTreeSet;

use futures_util::StreamExt as _;
use tessera_engine::api::VaultChange;
use tessera_engine::sync::DENY_REFRESH_SECONDS;
use tessera_engine::vault::{check_block, push_cutoff};
use worker::{DurableObject, Env, Request, Response, State, durable_object};

use self::protocol::{DenyAnswer, DirectoryCall};
use self::store::Store;
use crate::error::ApiError;
use crate::objects::license::protocol::{Applied, LicenseCall, Licenses};
use crate::objects::shell::{answer, opaque_debug, serve};
use crate::platform;

/// Licenses told of a change at once.
const FAN_OUT: usize = 16;

/// The vault's directory.
#[durable_object(fetch)]
pub struct VaultDirectory {
    env: Env,
    store: Store,
}

opaque_debug!(VaultDirectory);

impl DurableObject for VaultDirectory {
    fn new(state: State, env: Env) -> Self {
        let store = Store::open(state.storage().sql());
        VaultDirectory { env, store }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        serve(req, |call: DirectoryCall| self.handle(call)).await
    }
}

impl VaultDirectory {
    async fn handle(&self, call: DirectoryCall) -> Result<serde_json::Value, ApiError> {
        let now = platform::now();
        let store = &self.store;
        match call {
            DirectoryCall::Pull { seq, snapshot } => {
                store.take(seq, &snapshot)?;
                store.set_fresh(&snapshot.lid, now + DENY_REFRESH_SECONDS)?;
                answer(&DenyAnswer {
                    deny: store.deny_state()?,
                    fresh_for: DENY_REFRESH_SECONDS,
                })
            }
            DirectoryCall::Report { seq, snapshot } => answer(&store.take(seq, &snapshot)?),
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
        }
    }

    /// After a change of the deny state (already written): bump its version, then push
    /// it to every license using its copy now and to `affected`, and take their new
    /// holdings.
    async fn change(
        &self,
        now: u64,
        mut affected: BTreeSet<String>,
    ) -> Result<VaultChange, ApiError> {
        let deny = self.store.next_version(now)?;
        affected.extend(self.store.fresh_after(push_cutoff(now))?);
        let licenses = Licenses::new(&self.env);
        let mut outcome = VaultChange::default();
        let mut answers = futures_util::stream::iter(affected.into_iter().map(|lid| {
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
                    self.store.set_fresh(&lid, now + DENY_REFRESH_SECONDS)?;
                }
                Err(e) => {
                    worker::console_warn!("license {lid} did not take the deny state now: {e:?}");
                    outcome.unreachable += 1;
                }
            }
        }
        Ok(outcome)
    }
}
