//! What a roll-up shard can be asked and answers, and how to ask it — the only part of
//! `rollup/` other rooms import.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use tessera_engine::vault::{ROLLUP_SHARDS, rollup_shard};
use tessera_engine::{DenyState, PoolSnapshot};
use worker::Env;

use crate::error::ApiError;
use crate::objects::shell;

/// The binding of the roll-up's shards (see `wrangler.toml`).
pub(crate) const BINDING: &str = "ROLLUP";

/// The shard numbered `shard`'s object.
fn name(shard: u32) -> String {
    format!("rollup-{shard}")
}

/// A page cursor, opaque to clients: the last key of the previous page, base64url.
pub(crate) fn encode_cursor(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(key)
}

/// The key a cursor names ("" for none or one that does not decode: the first page).
pub(crate) fn decode_cursor(cursor: Option<&str>) -> String {
    cursor
        .and_then(|c| URL_SAFE_NO_PAD.decode(c).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_default()
}

/// Which licenses a change ends leases on, told first: those holding a lease of `user`
/// or of `product`; neither for a change that ends nothing (unblock, connect).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Reach {
    pub(crate) user: Option<String>,
    pub(crate) product: Option<String>,
}

impl Reach {
    pub(crate) fn user(user: String) -> Reach {
        Reach {
            user: Some(user),
            product: None,
        }
    }

    pub(crate) fn product(product: String) -> Reach {
        Reach {
            user: None,
            product: Some(product),
        }
    }
}

/// A license's holdings as the directory kept them before the roll-up was sharded:
/// moved to its shard once.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Adopted {
    pub(crate) seq: u64,
    pub(crate) snapshot: PoolSnapshot,
    /// The deny state's version the license was known to hold.
    pub(crate) known_version: u64,
}

/// What a shard can be asked. Each answer is `Result<T, WireError>` with the `T` named
/// here (`tessera_engine::api` types).
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum RollupCall {
    /// A license's holdings, and the version of its deny state. `Option<DenyState>`:
    /// the shard's copy, when the license's is older.
    Report {
        seq: u64,
        snapshot: PoolSnapshot,
        deny_version: u64,
    },
    /// A new version of the deny state, from the directory: keep it (unless a newer one
    /// is here), tell the licenses `first` reaches, then the rest of a batch, and leave
    /// the others to the job. `VaultChange`.
    Deliver { deny: DenyState, first: Reach },
    /// Holdings moved from the directory. `()`.
    Adopt { licenses: Vec<Adopted> },
    /// Free and allocated seats per product in this shard. `Vec<ProductSeats>`.
    Products,
    /// Per license, the seats of one product. `Page<LicenseSeats>`.
    ProductLicenses {
        product: String,
        cursor: Option<String>,
        limit: u32,
    },
    /// Users holding seats. `Page<ActiveUser>`.
    Users {
        search: Option<String>,
        cursor: Option<String>,
        limit: u32,
    },
    /// Every lease a user holds here. `Vec<HeldLease>`.
    UserLeases { user: String },
    /// The shard at work. `DirectoryStatus`.
    Status,
}

impl RollupCall {
    /// The call's kind, as the status counts it.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            RollupCall::Report { .. } => "report",
            RollupCall::Deliver { .. } => "deliver",
            RollupCall::Adopt { .. } => "adopt",
            RollupCall::Products => "products",
            RollupCall::ProductLicenses { .. } => "product_licenses",
            RollupCall::Users { .. } => "users",
            RollupCall::UserLeases { .. } => "user_leases",
            RollupCall::Status => "status",
        }
    }
}

/// Ask shard `shard`.
pub(crate) async fn ask<T: for<'de> Deserialize<'de>>(
    env: &Env,
    shard: u32,
    call: &RollupCall,
) -> Result<T, ApiError> {
    shell::ask(env, BINDING, &name(shard), call).await
}

/// Ask each shard named its call, all at once; each shard's answer, in the order given.
pub(crate) async fn ask_each<T: for<'de> Deserialize<'de>>(
    env: &Env,
    calls: Vec<(u32, RollupCall)>,
) -> Vec<(u32, Result<T, ApiError>)> {
    let requests = calls
        .iter()
        .map(|(shard, call)| (name(*shard), shell::encode(call)))
        .collect();
    let answers = shell::ask_all(env, BINDING, requests).await;
    calls
        .into_iter()
        .zip(answers)
        .map(|((shard, _), text)| (shard, text.and_then(|t| shell::decode(&t))))
        .collect()
}

/// Ask every shard the same read; the first failure fails it (a read missing a shard
/// would be wrong, not partial).
pub(crate) async fn read_all<T: for<'de> Deserialize<'de>>(
    env: &Env,
    call: impl Fn() -> RollupCall,
) -> Result<Vec<T>, ApiError> {
    let calls = (0..ROLLUP_SHARDS).map(|shard| (shard, call())).collect();
    ask_each(env, calls)
        .await
        .into_iter()
        .map(|(_, answer)| answer)
        .collect()
}

/// A license object's report of its holdings and of its deny state's version, to its
/// shard: the newer state, if the shard has one.
pub(crate) async fn report(
    env: &Env,
    seq: u64,
    snapshot: PoolSnapshot,
    deny_version: u64,
) -> Result<Option<DenyState>, ApiError> {
    let shard = rollup_shard(&snapshot.lid);
    let call = RollupCall::Report {
        seq,
        snapshot,
        deny_version,
    };
    ask(env, shard, &call).await
}
