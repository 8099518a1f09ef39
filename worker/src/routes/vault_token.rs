//! The vault access token (seeds 001/002): `GET/POST/DELETE /api/vault-token`.
//!
//! One per installation. `POST` generates it, or regenerates it (the old one stops at
//! once); the secret is in that response only. `GET` says whether one exists, never
//! its value. It reads license data (`licenses:read`) and nothing else. It stops when
//! the administrator who generated it is disabled, deleted or demoted below `vault:write`
//! (`tessera_engine::vault_token_stands`).

use crate::request::Request;
use tessera_engine::GeneratedVaultToken;
use worker::{Env, Response};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::{audit, platform, tokens};

pub(crate) async fn get(env: &Env) -> Result<Response, ApiError> {
    super::json(200, &tokens::vault_info(env).await?)
}

pub(crate) async fn generate(
    req: &Request,
    env: &Env,
    caller: Caller,
) -> Result<Response, ApiError> {
    let secret = crate::deployment::secret(env)?.token_secret(true, &platform::random::<32>()?);
    let info = tokens::set_vault(
        env,
        &secret,
        &caller.username,
        caller.user_id.as_deref(),
        platform::now(),
    )
    .await?;
    audit::record(req, env, &caller, "vault_token.generate", None).await;
    super::json(201, &GeneratedVaultToken { info, secret })
}

pub(crate) async fn delete(req: &Request, env: &Env, caller: Caller) -> Result<Response, ApiError> {
    let info = tokens::delete_vault(env).await?;
    audit::record(req, env, &caller, "vault_token.delete", None).await;
    super::json(200, &info)
}
