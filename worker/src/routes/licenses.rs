//! Issuing: `GET/POST /api/licenses` (the list in pages: `?cursor`, `?limit`), `GET /api/licenses/:lid`,
//! `POST /api/licenses/:lid/revoke`, `POST /api/licenses/:lid/reissue`.

use crate::request::Request;
use tessera_engine::{IssueRequest, Permission};
use worker::{Env, Response};

use crate::auth::Caller;
use crate::deployment::LicensingContext;
use crate::error::ApiError;
use crate::query::Query;
use crate::{audit, body, platform};

/// Lists show ids and claims, never tokens: a license token is a seat credential.
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
    audit::record(req, env, &caller, "license.issue", Some(&record.claims.lid)).await;
    super::json(201, &record)
}

/// One license; its token only for a caller who may hand licenses out.
pub(crate) async fn get(
    req: &Request,
    env: &Env,
    caller: Caller,
    lid: &str,
) -> Result<Response, ApiError> {
    let ctx = LicensingContext::load(req, env).await?;
    let record = ctx.service().get(lid).await?;
    if caller.may(Permission::LicensesWrite) {
        return super::json(200, &record);
    }
    super::json(200, &record.without_token())
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

/// A fresh token for license `lid`, signed by the key that signs now: the compromise
/// drill's last step, for licenses whose token a retired key signed.
pub(crate) async fn reissue(
    req: &Request,
    env: &Env,
    caller: Caller,
    lid: &str,
) -> Result<Response, ApiError> {
    let ctx = LicensingContext::load(req, env).await?;
    let record = ctx
        .service()
        .reissue(lid, platform::random_id()?, platform::now())
        .await?;
    audit::record(req, env, &caller, "license.reissue", Some(lid)).await;
    super::json(200, &record)
}
