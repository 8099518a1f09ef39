//! `GET /api/keys`, `POST /api/keys/rotate`, `POST /api/keys/:kid/retire`: the signing
//! keys, rotation and retirement.
//!
//! Rotation (a credential operation: password sign-in or console session only) makes a
//! new key that is published at once and signs from its `activates_at` — or at once
//! with `{"activate_now": true}`, after a compromise. Older keys stay in the JWKS until
//! no token they signed can still be valid, or until they are retired by hand: any key
//! but the one signing, the root included; every token it signed stops verifying (the
//! compromise drill: rotate now, retire the leaked key, re-issue its licenses —
//! `POST /api/licenses/:lid/reissue`).

use crate::request::Request;
use serde::Deserialize;
use tessera_engine::api::KeyInfo;
use worker::{Env, Response};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::{audit, body, deployment, platform};

pub(crate) async fn list(env: &Env) -> Result<Response, ApiError> {
    let keys = deployment::keys(env).await?;
    super::json(200, &keys.ring.describe(platform::now()))
}

/// `POST /api/keys/rotate` (the body may be empty).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(test, derive(utoipa::ToSchema))]
pub(crate) struct Rotate {
    /// Sign with the new key at once instead of after every cached JWKS has it
    /// (after a compromise; validators refuse its tokens until they fetch the JWKS).
    #[serde(default)]
    activate_now: bool,
}

pub(crate) async fn rotate(
    req: &mut Request,
    env: &Env,
    caller: Caller,
) -> Result<Response, ApiError> {
    let rotate: Rotate = body::json(req).await?;
    let (keys, entry) = deployment::rotate(env, rotate.activate_now).await?;
    audit::record(req, env, &caller, "keys.rotate", Some(&entry.kid)).await;
    let info = keys
        .ring
        .describe(platform::now())
        .into_iter()
        .find(|k| k.kid == entry.kid)
        .ok_or_else(|| ApiError::Internal("rotated key missing from the ring".into()))?;
    super::json(201, &info)
}

pub(crate) async fn retire(
    req: &Request,
    env: &Env,
    caller: Caller,
    kid: &str,
) -> Result<Response, ApiError> {
    let keys = deployment::retire(env, kid).await?;
    audit::record(req, env, &caller, "keys.retire", Some(kid)).await;
    let left: Vec<KeyInfo> = keys.ring.describe(platform::now());
    super::json(200, &left)
}
