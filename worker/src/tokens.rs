//! API tokens and the vault access token in KV, and resolving a Bearer secret.
//!
//! Layout: `token:<id>` holds a [`StoredToken`] (the API view, the creator's user id,
//! and the SHA-256 of the secret); `token-hash:<sha256>` points a secret's hash at its
//! token (or at the vault token); `vault-token` holds the vault token's hash and
//! details. No secret is ever stored or logged: a secret exists only in the response
//! that creates it.
//!
//! "Last used" lives in its own key, `token-used:<id>`, so recording a use never
//! rewrites the token record (and so can never undo a concurrent disable). It is written
//! best-effort, at most once a minute per token per isolate ([`LAST_USED_RESOLUTION`]),
//! since Workers KV takes about one write per second per key: a busy token costs one
//! write a minute per isolate using it, not one a request, and a failed write never
//! fails the request.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tessera_engine::{
    ApiToken, Store, TokenStatus, VaultTokenInfo, looks_like_secret, secret_prefix,
};

use crate::error::ApiError;
use crate::kv::Kv;

/// "Last used" is kept to within this many seconds.
pub(crate) const LAST_USED_RESOLUTION: u64 = 60;

const VAULT_KEY: &str = "vault-token";

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

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum HashEntry {
    Api { id: String },
    Vault,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredVault {
    hash: String,
    prefix: String,
    created_at: u64,
    created_by: String,
}

/// SHA-256 of a secret, lower-case hex.
pub(crate) fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn token_key(id: &str) -> String {
    format!("token:{id}")
}

fn hash_key(hash: &str) -> String {
    format!("token-hash:{hash}")
}

async fn read<T: for<'de> Deserialize<'de>>(kv: &Kv, key: &str) -> Result<Option<T>, ApiError> {
    match kv.get(key).await? {
        None => Ok(None),
        Some(json) => serde_json::from_str(&json)
            .map(Some)
            .map_err(|e| ApiError::Internal(format!("corrupt {key}: {e}"))),
    }
}

async fn write<T: Serialize>(kv: &Kv, key: &str, value: &T) -> Result<(), ApiError> {
    let json = serde_json::to_string(value).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(kv.put(key, &json).await?)
}

pub(crate) async fn get(kv: &Kv, id: &str) -> Result<Option<StoredToken>, ApiError> {
    if !tessera_engine::plausible_id(id) {
        return Ok(None);
    }
    read(kv, &token_key(id)).await
}

pub(crate) async fn put(kv: &Kv, stored: &StoredToken) -> Result<(), ApiError> {
    write(kv, &token_key(&stored.token.id), stored).await
}

/// Store a new token and the index from its secret's hash.
pub(crate) async fn insert(kv: &Kv, stored: &StoredToken) -> Result<(), ApiError> {
    put(kv, stored).await?;
    write(
        kv,
        &hash_key(&stored.hash),
        &HashEntry::Api {
            id: stored.token.id.clone(),
        },
    )
    .await
}

/// Mark a token deleted and forget its secret's hash, so the secret resolves to nothing.
pub(crate) async fn delete(kv: &Kv, stored: &mut StoredToken) -> Result<(), ApiError> {
    stored.token.status = TokenStatus::Deleted;
    put(kv, stored).await?;
    Ok(kv.delete(&hash_key(&stored.hash)).await?)
}

/// Every token, oldest first.
pub(crate) async fn list(kv: &Kv) -> Result<Vec<StoredToken>, ApiError> {
    let mut out = Vec::new();
    for key in kv.list("token:").await? {
        if let Some(t) = read::<StoredToken>(kv, &key).await? {
            out.push(t);
        }
    }
    out.sort_by(|a, b| (a.token.created_at, &a.token.id).cmp(&(b.token.created_at, &b.token.id)));
    Ok(out)
}

/// What a Bearer secret names.
pub(crate) enum Resolved {
    Api(Box<StoredToken>),
    Vault,
}

/// Resolve a Bearer secret, or say why it is refused.
pub(crate) async fn resolve(kv: &Kv, secret: &str) -> Result<Resolved, ApiError> {
    if !looks_like_secret(secret) {
        return Err(ApiError::Unauthorized("not a Tessera token"));
    }
    match read::<HashEntry>(kv, &hash_key(&hash(secret))).await? {
        None => Err(ApiError::Unauthorized("unknown or deleted token")),
        Some(HashEntry::Vault) => Ok(Resolved::Vault),
        Some(HashEntry::Api { id }) => match get(kv, &id).await? {
            None => Err(ApiError::Unauthorized("unknown or deleted token")),
            Some(stored) => Ok(Resolved::Api(Box::new(stored))),
        },
    }
}

thread_local! {
    /// When this isolate last wrote each token's "last used".
    static LAST_WRITTEN: std::cell::RefCell<std::collections::HashMap<String, u64>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

fn used_key(id: &str) -> String {
    format!("token-used:{id}")
}

/// Record a use of token `id` at `now`: best-effort, at most once a minute per isolate.
pub(crate) async fn record_use(kv: &Kv, id: &str, now: u64) {
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
    if due && let Err(e) = kv.put(&used_key(id), &now.to_string()).await {
        worker::console_warn!("could not record a token's last use: {e}");
    }
}

/// The token as the API shows it, with its "last used".
pub(crate) async fn view(kv: &Kv, stored: StoredToken) -> Result<ApiToken, ApiError> {
    let mut token = stored.token;
    token.last_used_at = kv
        .get(&used_key(&token.id))
        .await?
        .and_then(|t| t.parse().ok());
    Ok(token)
}

/// About the vault token, never its value.
pub(crate) async fn vault_info(kv: &Kv) -> Result<VaultTokenInfo, ApiError> {
    Ok(match read::<StoredVault>(kv, VAULT_KEY).await? {
        None => VaultTokenInfo::default(),
        Some(v) => VaultTokenInfo {
            exists: true,
            prefix: Some(v.prefix),
            created_at: Some(v.created_at),
            created_by: Some(v.created_by),
        },
    })
}

/// Replace the vault token (the old secret stops resolving at once) with `secret`.
pub(crate) async fn set_vault(
    kv: &Kv,
    secret: &str,
    by: &str,
    now: u64,
) -> Result<VaultTokenInfo, ApiError> {
    delete_vault(kv).await?;
    let stored = StoredVault {
        hash: hash(secret),
        prefix: secret_prefix(secret),
        created_at: now,
        created_by: by.to_string(),
    };
    write(kv, &hash_key(&stored.hash), &HashEntry::Vault).await?;
    write(kv, VAULT_KEY, &stored).await?;
    vault_info(kv).await
}

/// Delete the vault token, if any.
pub(crate) async fn delete_vault(kv: &Kv) -> Result<(), ApiError> {
    if let Some(old) = read::<StoredVault>(kv, VAULT_KEY).await? {
        kv.delete(&hash_key(&old.hash)).await?;
        kv.delete(VAULT_KEY).await?;
    }
    Ok(())
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
