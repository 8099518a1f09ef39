//! Issuing: `GET/POST /api/licenses` (the list in pages: `?cursor`, `?limit`), `GET /api/licenses/:lid`,
//! `POST /api/licenses/:lid/revoke`.

use crate::request::Request;
use tessera_engine::IssueRequest;
use worker::{Env, Response};

use crate::auth::Caller;
use crate::deployment::LicensingContext;
use crate::error::ApiError;
use crate::query::Query;
use crate::{audit, body, platform};

pub(crate) async fn list(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let q = Query::of(req)?;
    let ctx = LicensingContext::load(req, env).await?;
    super::json(200, &ctx.service().list(q.cursor(), q.limit()?).await?)
}

pub(crate) async fn issue(
    req: &mut Request,
    env: &Env,
    caller: Caller,
) -> Result<Response, ApiError> {
    let request: IssueRequest = body::json(req).await?;
    let ctx = LicensingContext::load(req, env).await?;
    let record = ctx
        .service()
        .issue(
            request,
            platform::random_id()?,
            platform::random_id()?,
            &caller.username,
            platform::now(),
        )
        .await?;
    note_key(env, &record.token, record.claims.exp).await?;
    audit::record(req, env, &caller, "license.issue", Some(&record.claims.lid)).await;
    super::json(201, &record)
}

/// Record which key signed `token` and until when it is valid: the key stays published
/// at least that long.
pub(crate) async fn note_key(env: &Env, token: &str, exp: u64) -> Result<(), ApiError> {
    match tessera_engine::header_kid(token) {
        Some(kid) => crate::deployment::key_used(env, &kid, exp).await,
        None => Ok(()),
    }
}

pub(crate) async fn get(req: &Request, env: &Env, lid: &str) -> Result<Response, ApiError> {
    let ctx = LicensingContext::load(req, env).await?;
    super::json(200, &ctx.service().get(lid).await?)
}

pub(crate) async fn revoke(
    req: &Request,
    env: &Env,
    caller: Caller,
    lid: &str,
) -> Result<Response, ApiError> {
    let ctx = LicensingContext::load(req, env).await?;
    let record = ctx
        .service()
        .revoke(lid, &caller.username, platform::now())
        .await?;
    audit::record(req, env, &caller, "license.revoke", Some(lid)).await;
    super::json(200, &record)
}
