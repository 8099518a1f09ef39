//! API tokens and the vault access token, kept by the
//! [`AccountsObject`](crate::objects::accounts::AccountsObject), and resolving a Bearer
//! secret.
//!
//! A token is stored as a `StoredToken` (the API view, the creator's user id, and the
//! SHA-256 of the secret); the vault token as a `StoredVault` (both records are the
//! accounts object's protocol's). No secret is ever
//! stored or logged: a secret exists only in the response that creates it.
//!
//! "Last used" is recorded best-effort, at most once a minute per token per isolate
//! ([`LAST_USED_RESOLUTION`]): a busy token costs one write a minute per isolate using it,
//! not one a request, and a failed write never fails the request. It is kept apart from
//! the token, so recording a use never rewrites it (and never undoes a concurrent
//! disable).

use tessera_engine::{SecretCheck, VaultTokenInfo, looks_like_secret, secret_prefix};
use worker::Env;

use crate::error::ApiError;
use crate::objects::accounts::protocol::{self as accounts, AccountsCall, Resolved, StoredVault};
use crate::platform::sha256_hex;

/// "Last used" is kept to within this many seconds.
pub(crate) const LAST_USED_RESOLUTION: u64 = 60;

/// Resolve a Bearer secret, or say why it is refused. A secret is checked by its tag
/// first, with no object call: a forged one never reaches the accounts object. An
/// untagged one (made before tags) is looked up only while such secrets exist. What a
/// genuine one names is remembered per isolate for a few seconds
/// (`accounts::CREDENTIAL_SECONDS`).
pub(crate) async fn resolve(env: &Env, secret: &str) -> Result<Resolved, ApiError> {
    match crate::deployment::secret(env)?.check_token_secret(secret) {
        SecretCheck::Tagged => {}
        SecretCheck::Untagged if untagged_secrets_exist(env).await? => {}
        SecretCheck::Untagged => return Err(ApiError::Unauthorized("unknown or deleted token")),
        SecretCheck::Foreign if looks_like_secret(secret) => {
            return Err(ApiError::Unauthorized("unknown or deleted token"));
        }
        SecretCheck::Foreign => return Err(ApiError::Unauthorized("not a Tessera token")),
    }
    let resolved = accounts::resolve(env, sha256_hex(secret), crate::platform::now()).await?;
    match &*resolved {
        Resolved::Unknown => Err(ApiError::Unauthorized("unknown or deleted token")),
        known => Ok(known.clone()),
    }
}

/// How long an isolate trusts its answer to "do untagged secrets exist?", seconds.
/// Untagged secrets are only ever removed (every new one is tagged), so a stale "yes"
/// costs a lookup and a stale "no" cannot happen after the first ask.
const UNTAGGED_SECONDS: u64 = 60;

thread_local! {
    static UNTAGGED: std::cell::Cell<Option<(u64, bool)>> = const { std::cell::Cell::new(None) };
}

/// Whether any live secret is untagged (cached per isolate, [`UNTAGGED_SECONDS`]).
async fn untagged_secrets_exist(env: &Env) -> Result<bool, ApiError> {
    let now = crate::platform::now();
    if let Some((at, exist)) = UNTAGGED.get()
        && (!exist || now.saturating_sub(at) < UNTAGGED_SECONDS)
    {
        return Ok(exist);
    }
    let exist = accounts::ask(env, AccountsCall::HasUntaggedSecrets).await?;
    UNTAGGED.set(Some((now, exist)));
    Ok(exist)
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
    by_id: Option<&str>,
    now: u64,
) -> Result<VaultTokenInfo, ApiError> {
    let stored = StoredVault {
        hash: sha256_hex(secret),
        prefix: secret_prefix(secret),
        created_at: now,
        created_by: by.to_string(),
        creator_id: by_id.map(str::to_string),
        tagged: true,
    };
    accounts::ask(env, AccountsCall::SetVault { stored }).await
}

/// Delete the vault token, if any.
pub(crate) async fn delete_vault(env: &Env) -> Result<VaultTokenInfo, ApiError> {
    accounts::ask(env, AccountsCall::DeleteVault).await
}
