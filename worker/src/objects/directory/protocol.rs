//! What the vault's directory can be asked and answers, and how to ask it — the only
//! part of `directory/` other rooms import.

use serde::{Deserialize, Serialize};
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
    /// The deny state that stands, for the vault's reads to merge. `DenyState`.
    Deny,
    /// The directory at work (without its shards'). `DirectoryStatus`.
    Status,
}

impl DirectoryCall {
    /// The call's kind, as the status counts it.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            DirectoryCall::RevokeUser { .. } => "revoke_user",
            DirectoryCall::Unblock { .. } => "unblock",
            DirectoryCall::Disconnect { .. } => "disconnect",
            DirectoryCall::Connect { .. } => "connect",
            DirectoryCall::Blocks => "blocks",
            DirectoryCall::Disconnected => "disconnected",
            DirectoryCall::Deny => "deny",
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
