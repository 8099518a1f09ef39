//! `GET /api/keys`, `POST /api/keys/rotate`: the signing keys, and rotation.
//!
//! Rotation (a credential operation: password sign-in or console session only) makes a
//! new key that is published at once and signs from its `activates_at`; older keys stay
//! in the JWKS until no token they signed can still be valid.

use crate::request::Request;
use worker::{Env, Response};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::{audit, deployment, platform};

pub(crate) async fn list(env: &Env) -> Result<Response, ApiError> {
    super::json(
        200,
        &deployment::keyring(env).await?.describe(platform::now()),
    )
}

pub(crate) async fn rotate(req: &Request, env: &Env, caller: Caller) -> Result<Response, ApiError> {
    let (ring, entry) = deployment::rotate(env).await?;
    audit::record(req, env, &caller, "keys.rotate", Some(&entry.kid)).await;
    let info = ring
        .describe(platform::now())
        .into_iter()
        .find(|k| k.kid == entry.kid)
        .ok_or_else(|| ApiError::Internal("rotated key missing from the ring".into()))?;
    super::json(201, &info)
}
