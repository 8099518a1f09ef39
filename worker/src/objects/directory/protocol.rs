//! What the vault's directory can be asked and answers, and how to ask it — the only
//! part of `directory/` other rooms import.

use serde::{Deserialize, Serialize};
use tessera_engine::{DenyState, PoolSnapshot};
use worker::Env;

use crate::error::ApiError;
use crate::objects::shell;

/// The binding of the directory (see `wrangler.toml`).
pub(crate) const BINDING: &str = "DIRECTORY";
/// The directory's one object.
const NAME: &str = "vault";
/// Where the directory publishes each version of the deny state (KV, JSON
/// `DenyState`), for license objects holding no seats to read before they lend one.
pub(crate) const DENY_KEY: &str = "vault:deny";

/// What the directory can be asked. Each answer is `Result<T, WireError>` with the `T`
/// named here (`tessera_engine::api` types).
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum DirectoryCall {
    /// A license's holdings, and the version of its deny state. `Option<DenyState>`:
    /// the directory's, when the license's is older.
    Report {
        seq: u64,
        snapshot: PoolSnapshot,
        #[serde(default)]
        deny_version: u64,
    },
    /// Free and allocated seats per product. `Vec<ProductSeats>`.
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
    /// Every lease a user holds. `Vec<HeldLease>`.
    UserLeases { user: String },
    /// End a user's leases (and block them). `VaultChange`.
    RevokeUser {
        user: String,
        block: bool,
        by: String,
    },
    /// Lift a block. `VaultChange`.
    Unblock { user: String },
    /// Disconnect a product. `VaultChange`.
    Disconnect { product: String, by: String },
    /// Connect it again. `VaultChange`.
    Connect { product: String },
    /// Blocked users. `Vec<BlockView>`.
    Blocks,
    /// Disconnected products. `Vec<DisconnectedView>`.
    Disconnected,
    /// The directory at work. `DirectoryStatus`.
    Status,
}

impl DirectoryCall {
    /// The call's kind, as the status counts it.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            DirectoryCall::Report { .. } => "report",
            DirectoryCall::Products => "products",
            DirectoryCall::ProductLicenses { .. } => "product_licenses",
            DirectoryCall::Users { .. } => "users",
            DirectoryCall::UserLeases { .. } => "user_leases",
            DirectoryCall::RevokeUser { .. } => "revoke_user",
            DirectoryCall::Unblock { .. } => "unblock",
            DirectoryCall::Disconnect { .. } => "disconnect",
            DirectoryCall::Connect { .. } => "connect",
            DirectoryCall::Blocks => "blocks",
            DirectoryCall::Disconnected => "disconnected",
            DirectoryCall::Status => "status",
        }
    }
}

/// Ask the directory.
pub(crate) async fn ask<T: for<'de> Deserialize<'de>>(
    env: &Env,
    message: DirectoryCall,
) -> Result<T, ApiError> {
    shell::ask(env, BINDING, NAME, &message).await
}

/// A license object's report of its holdings and of its deny state's version: the
/// newer state, if the directory has one.
pub(crate) async fn report(
    env: &Env,
    seq: u64,
    snapshot: PoolSnapshot,
    deny_version: u64,
) -> Result<Option<DenyState>, ApiError> {
    let call = DirectoryCall::Report {
        seq,
        snapshot,
        deny_version,
    };
    ask(env, call).await
}
