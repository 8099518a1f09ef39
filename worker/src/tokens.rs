//! API tokens and the vault access token, kept by the
//! [`AccountsObject`](crate::objects::accounts::AccountsObject), and resolving a Bearer
//! secret.
//!
//! A token is stored as a [`StoredToken`] (the API view, the creator's user id, and the
//! SHA-256 of the secret); the vault token as a [`StoredVault`]. No secret is ever
//! stored or logged: a secret exists only in the response that creates it.
//!
//! "Last used" is recorded best-effort, at most once a minute per token per isolate
//! ([`LAST_USED_RESOLUTION`]): a busy token costs one write a minute per isolate using it,
//! not one a request, and a failed write never fails the request. It is kept apart from
//! the token, so recording a use never rewrites it (and never undoes a concurrent
//! disable).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tessera_engine::{ApiToken, VaultTokenInfo, looks_like_secret, secret_prefix};
use worker::Env;

use crate::error::ApiError;
use crate::objects::accounts::{self, AccountsCall};

pub(crate) use crate::objects::accounts::{Resolved, Viewer};

/// "Last used" is kept to within this many seconds.
pub(crate) const LAST_USED_RESOLUTION: u64 = 60;

/// A token as stored: what the API shows, plus what only the server needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredToken {
    pub(crate) token: ApiToken,
    /// The creating user's id: a user deleted and re-created under the same name does
    /// not inherit the old user's tokens.
    pub(crate) creator_id: String,
    /// SHA-256 of the secret, hex.
    pub(crate) hash: String,
}

/// The vault access token as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredVault {
    pub(crate) hash: String,
    pub(crate) prefix: String,
    pub(crate) created_at: u64,
    pub(crate) created_by: String,
}

/// SHA-256 of a secret, lower-case hex.
pub(crate) fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Resolve a Bearer secret, or say why it is refused.
pub(crate) async fn resolve(env: &Env, secret: &str) -> Result<Resolved, ApiError> {
    if !looks_like_secret(secret) {
        return Err(ApiError::Unauthorized("not a Tessera token"));
    }
    match accounts::ask(env, AccountsCall::Resolve { hash: hash(secret) }).await? {
        Resolved::Unknown => Err(ApiError::Unauthorized("unknown or deleted token")),
        known => Ok(known),
    }
}

thread_local! {
    /// When this isolate last recorded each token's use.
    static LAST_WRITTEN: std::cell::RefCell<std::collections::HashMap<String, u64>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

/// Record a use of token `id` at `now`: best-effort, at most once a minute per isolate.
pub(crate) async fn record_use(env: &Env, id: &str, now: u64) {
    let due = LAST_WRITTEN.with_borrow_mut(|m| {
        if m.get(id)
            .is_some_and(|t| now.saturating_sub(*t) < LAST_USED_RESOLUTION)
        {
            return false;
        }
        if m.len() > 4096 {
            m.clear();
        }
        m.insert(id.to_string(), now);
        true
    });
    let call = AccountsCall::RecordUse {
        id: id.to_string(),
        at: now,
    };
    if due && let Err(e) = accounts::ask::<()>(env, call).await {
        worker::console_warn!("could not record a token's last use: {e:?}");
    }
}

/// About the vault token, never its value.
pub(crate) async fn vault_info(env: &Env) -> Result<VaultTokenInfo, ApiError> {
    accounts::ask(env, AccountsCall::VaultInfo).await
}

/// Replace the vault token with `secret`, in one step: the old secret stops resolving
/// as the new one starts.
pub(crate) async fn set_vault(
    env: &Env,
    secret: &str,
    by: &str,
    now: u64,
) -> Result<VaultTokenInfo, ApiError> {
    let stored = StoredVault {
        hash: hash(secret),
        prefix: secret_prefix(secret),
        created_at: now,
        created_by: by.to_string(),
    };
    accounts::ask(env, AccountsCall::SetVault { stored }).await
}

/// Delete the vault token, if any.
pub(crate) async fn delete_vault(env: &Env) -> Result<VaultTokenInfo, ApiError> {
    accounts::ask(env, AccountsCall::DeleteVault).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_sha256_hex() {
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
