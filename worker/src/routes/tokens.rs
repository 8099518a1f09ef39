//! API tokens (seeds 000, 003): `GET/POST /api/tokens`, `GET/PATCH/DELETE /api/tokens/:id`.
//!
//! Everyone with `tokens:write` manages their own tokens; `tokens:admin` sees and
//! manages everyone's (`?all=true` lists them) and may create Agent tokens. Another
//! user's token is `NOT_FOUND` to someone who may not manage it, so ids leak nothing.
//! The secret is in the creation response only.

use tessera_engine::{
    ApiToken, CreateToken, CreatedToken, Permission, TokenStatus, UpdateToken, check_create_token,
    may_manage, new_secret, secret_prefix, update_token,
};
use worker::{Env, Request, Response};

use crate::auth::{self, Caller};
use crate::error::ApiError;
use crate::kv::Kv;
use crate::tokens::{self, StoredToken};
use crate::{body, platform, users};

fn owns(caller: &Caller, stored: &StoredToken) -> bool {
    caller.user_id.as_deref() == Some(stored.creator_id.as_str())
}

/// Whether the caller may see and manage `stored`: their own, or, with `tokens:admin`,
/// one whose creator they may manage (an administrator cannot touch a server
/// administrator's tokens).
async fn may_manage_token(
    kv: &Kv,
    caller: &Caller,
    stored: &StoredToken,
) -> Result<bool, ApiError> {
    if owns(caller, stored) {
        return Ok(true);
    }
    let (Some(role), true) = (caller.role, caller.may(Permission::TokensAdmin)) else {
        return Ok(false);
    };
    let creator = users::get(kv, &stored.token.created_by)
        .await?
        .filter(|u| u.id == stored.creator_id);
    Ok(creator.is_none_or(|u| may_manage(role, u.role, None).is_ok()))
}

/// The token with this id, if the caller may see and manage it; else `NOT_FOUND`.
async fn visible(kv: &Kv, caller: &Caller, id: &str) -> Result<StoredToken, ApiError> {
    match tokens::get(kv, id).await? {
        Some(stored) if may_manage_token(kv, caller, &stored).await? => Ok(stored),
        _ => Err(ApiError::NotFound("token")),
    }
}

pub(crate) async fn list(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let caller = auth::require(req, env, Permission::TokensWrite).await?;
    let all = req
        .url()?
        .query_pairs()
        .any(|(k, v)| k == "all" && v == "true");
    if all && !caller.may(Permission::TokensAdmin) {
        return Err(ApiError::Forbidden(
            "listing everyone's tokens needs tokens:admin",
        ));
    }
    let kv = Kv::from_env(env)?;
    let mut views: Vec<ApiToken> = Vec::new();
    for stored in tokens::list(&kv).await? {
        let shown = if all {
            may_manage_token(&kv, &caller, &stored).await?
        } else {
            owns(&caller, &stored)
        };
        if shown {
            views.push(tokens::view(&kv, stored).await?);
        }
    }
    super::json(200, &views)
}

pub(crate) async fn create(req: &mut Request, env: &Env) -> Result<Response, ApiError> {
    let caller = auth::require(req, env, Permission::TokensWrite).await?;
    let request: CreateToken = body::json(req).await?;
    let now = platform::now();
    check_create_token(&request, caller.may(Permission::TokensAdmin), now)?;
    let user_id = caller
        .user_id
        .clone()
        .ok_or(ApiError::Forbidden("only users create tokens"))?;
    let secret = new_secret(false, &platform::random::<32>()?);
    let mut modules = request.modules;
    modules.sort();
    modules.dedup();
    let stored = StoredToken {
        token: ApiToken {
            id: platform::random_id()?,
            prefix: secret_prefix(&secret),
            description: request.description,
            scope: request.scope,
            modules,
            created_by: caller.username.clone(),
            created_at: now,
            last_used_at: None,
            status: TokenStatus::Active,
            expires_at: request.expires_at,
        },
        creator_id: user_id,
        hash: tokens::hash(&secret),
    };
    let kv = Kv::from_env(env)?;
    tokens::insert(&kv, &stored).await?;
    super::json(
        201,
        &CreatedToken {
            token: stored.token,
            secret,
        },
    )
}

pub(crate) async fn get(req: &Request, env: &Env, id: &str) -> Result<Response, ApiError> {
    let caller = auth::require(req, env, Permission::TokensWrite).await?;
    let kv = Kv::from_env(env)?;
    super::json(
        200,
        &tokens::view(&kv, visible(&kv, &caller, id).await?).await?,
    )
}

pub(crate) async fn update(req: &mut Request, env: &Env, id: &str) -> Result<Response, ApiError> {
    let caller = auth::require(req, env, Permission::TokensWrite).await?;
    let change: UpdateToken = body::json(req).await?;
    let kv = Kv::from_env(env)?;
    let mut stored = visible(&kv, &caller, id).await?;
    update_token(
        &mut stored.token,
        change,
        caller.may(Permission::TokensAdmin),
    )?;
    tokens::put(&kv, &stored).await?;
    super::json(200, &stored.token)
}

pub(crate) async fn delete(req: &Request, env: &Env, id: &str) -> Result<Response, ApiError> {
    let caller = auth::require(req, env, Permission::TokensWrite).await?;
    let kv = Kv::from_env(env)?;
    let mut stored = visible(&kv, &caller, id).await?;
    if stored.token.status != TokenStatus::Deleted {
        tokens::delete(&kv, &mut stored).await?;
    }
    super::json(200, &tokens::view(&kv, stored).await?)
}
