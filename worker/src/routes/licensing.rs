//! Seed 004's licensing endpoints, to the letter, plus the console's view of them.
//!
//! They act on the license applied to an *instance*: this deployment's own (by
//! default), or the one named by an `instance` query parameter. All take Basic auth
//! of a server administrator only.
//!
//! - `GET /api/licensing/check` → `true` / `false`
//! - `POST /api/licensing/token` `{"token"}` → 200 claims + `status`; 400 if refused
//! - `POST /api/licensing/token/renew` `{}` → 200 the fresh token's claims (+ `token`)
//! - `DELETE /api/licensing/token` `{"instance"}` → 202 `{}`; 422 for a missing or
//!   wrong instance
//! - `GET /api/licensing/applied` → the applied license as the console shows it, or `null`

use crate::request::Request;
use serde::Deserialize;
use tessera_engine::api::{ApplyToken, RemoveToken};
use tessera_engine::{instance_field, normalize_instance};
use worker::{Env, Response};

use crate::auth::Caller;
use crate::deployment::{self, LicensingContext};
use crate::error::ApiError;
use crate::{audit, body, platform};

/// The instance a request acts on: `?instance=` if given, else this deployment's own.
fn target_instance(req: &Request, env: &Env) -> Result<String, ApiError> {
    let url = req.url()?;
    match url.query_pairs().find(|(k, _)| k == "instance") {
        Some((_, value)) => Ok(instance_field("instance", &value)?),
        None => deployment::own_instance(req, env),
    }
}

pub(crate) async fn check(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let instance = target_instance(req, env)?;
    let ctx = LicensingContext::load(req, env).await?;
    super::json(200, &ctx.service().check(&instance, platform::now()).await?)
}

pub(crate) async fn applied(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let instance = target_instance(req, env)?;
    let ctx = LicensingContext::load(req, env).await?;
    super::json(
        200,
        &ctx.service().applied(&instance, platform::now()).await?,
    )
}

pub(crate) async fn apply(
    req: &mut Request,
    env: &Env,
    caller: Caller,
) -> Result<Response, ApiError> {
    let instance = target_instance(req, env)?;
    let body: ApplyToken = body::json(req).await?;
    let ctx = LicensingContext::load(req, env).await?;
    let status = ctx
        .service()
        .apply(
            &instance,
            body.token.trim(),
            &caller.username,
            platform::now(),
        )
        .await?;
    audit::record(req, env, &caller, "licensing.apply", Some(&instance)).await;
    super::json(200, &status)
}

/// Renewal's body: seed 004 sends `{}`; anything else in it is a mistake.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(test, derive(utoipa::ToSchema))]
pub(crate) struct RenewBody {}

/// Seed 004's answer to a removal: `{}`.
#[derive(serde::Serialize)]
#[cfg_attr(test, derive(utoipa::ToSchema))]
pub(crate) struct Removed {}

pub(crate) async fn renew(
    req: &mut Request,
    env: &Env,
    caller: Caller,
) -> Result<Response, ApiError> {
    let instance = target_instance(req, env)?;
    let _: RenewBody = body::json(req).await?;
    let ctx = LicensingContext::load(req, env).await?;
    let status = ctx
        .service()
        .renew(
            &instance,
            platform::random_id()?,
            &caller.username,
            platform::now(),
        )
        .await?;
    audit::record(req, env, &caller, "licensing.renew", Some(&instance)).await;
    super::json(200, &status)
}

pub(crate) async fn remove(
    req: &mut Request,
    env: &Env,
    caller: Caller,
) -> Result<Response, ApiError> {
    // Seed 004: a missing or wrong instance, however it is wrong, is 422.
    let target = target_instance(req, env).map_err(|e| match e {
        ApiError::InvalidField { message, .. } => {
            ApiError::InvalidInstance(format!("instance {message}"))
        }
        other => other,
    })?;
    let body: RemoveToken = body::json(req).await.map_err(|e| match e {
        ApiError::InvalidBody(why) => {
            ApiError::InvalidInstance(format!("instance must be a string: {why}"))
        }
        other => other,
    })?;
    let named = body
        .instance
        .ok_or_else(|| ApiError::InvalidInstance("instance is required".into()))?;
    let named = normalize_instance(&named)
        .ok_or_else(|| ApiError::InvalidInstance("instance must be an http(s) root URL".into()))?;
    if named != target {
        return Err(ApiError::InvalidInstance(format!(
            "instance {named} is not the instance this request acts on ({target})"
        )));
    }
    let ctx = LicensingContext::load(req, env).await?;
    ctx.service().remove(&target).await?;
    audit::record(req, env, &caller, "licensing.remove", Some(&target)).await;
    super::json(202, &Removed {})
}
