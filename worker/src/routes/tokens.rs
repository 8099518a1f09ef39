//! API tokens (seeds 000, 003): `GET/POST /api/tokens`, `GET/PATCH/DELETE /api/tokens/:id`.
//!
//! Everyone with `tokens:write` manages their own tokens; `tokens:admin` sees and
//! manages everyone's (`?all=true` lists them) and may create Agent tokens. Another
//! user's token is `NOT_FOUND` to someone who may not manage it, so ids leak nothing.
//! The secret is in the creation response only. Lists come in pages (`?cursor`,
//! `?limit`), oldest first.

use crate::request::Request;
use tessera_engine::api::Page;
use tessera_engine::{
    ApiToken, CreateToken, CreatedToken, Permission, TokenStatus, UpdateToken, check_create_token,
    secret_prefix,
};
use worker::{Env, Response};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::objects::accounts::protocol::{self as accounts, AccountsCall, StoredToken, Viewer};
use crate::query::Query;
use crate::{audit, body, platform};

fn viewer(caller: &Caller) -> Viewer {
    Viewer {
        user_id: caller.user_id.clone(),
        role: caller.role,
        tokens_admin: caller.may(Permission::TokensAdmin),
    }
}

pub(crate) async fn list(req: &Request, env: &Env, caller: Caller) -> Result<Response, ApiError> {
    let q = Query::of(req)?;
    let all = q.flag("all")?;
    if all && !caller.may(Permission::TokensAdmin) {
        return Err(ApiError::Forbidden(
            "listing everyone's tokens needs tokens:admin".into(),
        ));
    }
    let call = AccountsCall::Tokens {
        viewer: viewer(&caller),
        all,
        cursor: q.cursor().map(String::from),
        limit: q.limit()?,
    };
    let page: Page<ApiToken> = accounts::ask(env, call).await?;
    super::json(200, &page)
}

pub(crate) async fn create(
    req: &mut Request,
    env: &Env,
    caller: Caller,
) -> Result<Response, ApiError> {
    let request: CreateToken = body::json(req).await?;
    let now = platform::now();
    check_create_token(&request, caller.may(Permission::TokensAdmin), now)?;
    let user_id = caller
        .user_id
        .clone()
        .ok_or(ApiError::Forbidden("only users create tokens".into()))?;
    let secret = crate::deployment::secret(env)?.token_secret(false, &platform::random::<32>()?);
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
        hash: platform::sha256_hex(&secret),
        tagged: true,
    };
    let token = stored.token.clone();
    accounts::ask::<()>(env, AccountsCall::CreateToken { stored }).await?;
    audit::record(req, env, &caller, "token.create", Some(&token.id)).await;
    super::json(201, &CreatedToken { token, secret })
}

pub(crate) async fn get(env: &Env, caller: Caller, id: &str) -> Result<Response, ApiError> {
    let call = AccountsCall::Token {
        viewer: viewer(&caller),
        id: id.to_string(),
    };
    let token: Option<ApiToken> = accounts::ask(env, call).await?;
    super::json(200, &token.ok_or(ApiError::NotFound("token".into()))?)
}

pub(crate) async fn update(
    req: &mut Request,
    env: &Env,
    caller: Caller,
    id: &str,
) -> Result<Response, ApiError> {
    let change: UpdateToken = body::json(req).await?;
    let call = AccountsCall::UpdateToken {
        viewer: viewer(&caller),
        id: id.to_string(),
        change,
    };
    let token: ApiToken = accounts::ask(env, call).await?;
    audit::record(req, env, &caller, "token.update", Some(&token.id)).await;
    super::json(200, &token)
}

pub(crate) async fn delete(
    req: &Request,
    env: &Env,
    caller: Caller,
    id: &str,
) -> Result<Response, ApiError> {
    let call = AccountsCall::DeleteToken {
        viewer: viewer(&caller),
        id: id.to_string(),
    };
    let token: ApiToken = accounts::ask(env, call).await?;
    audit::record(req, env, &caller, "token.delete", Some(&token.id)).await;
    super::json(200, &token)
}
