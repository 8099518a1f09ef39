//! The vault access token (seeds 001/002): `GET/POST/DELETE /api/vault-token`.
//!
//! One per installation. `POST` generates it, or regenerates it (the old one stops at
//! once); the secret is in that response only. `GET` says whether one exists, never
//! its value. It reads licence data (`licenses:read`) and nothing else.

use crate::request::Request;
use tessera_engine::{GeneratedVaultToken, Permission, new_secret};
use worker::{Env, Response};

use crate::error::ApiError;
use crate::{audit, auth, platform, tokens};

pub(crate) async fn get(req: &Request, env: &Env) -> Result<Response, ApiError> {
    auth::require(req, env, Permission::VaultRead).await?;
    super::json(200, &tokens::vault_info(env).await?)
}

pub(crate) async fn generate(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let caller = auth::require(req, env, Permission::VaultWrite).await?;
    let secret = new_secret(true, &platform::random::<32>()?);
    let info = tokens::set_vault(env, &secret, &caller.username, platform::now()).await?;
    audit::record(req, env, &caller, "vault_token.generate", None).await;
    super::json(201, &GeneratedVaultToken { info, secret })
}

pub(crate) async fn delete(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let caller = auth::require(req, env, Permission::VaultWrite).await?;
    let info = tokens::delete_vault(env).await?;
    audit::record(req, env, &caller, "vault_token.delete", None).await;
    super::json(200, &info)
}
