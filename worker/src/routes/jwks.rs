//! `GET /.well-known/jwks.json`: every public key that may have signed a live license.
//!
//! Public and cacheable for 5 minutes: a rotated key is published here longer than that
//! before it signs (see `deployment`), so a cached copy always holds every signer.

use worker::{Env, Response};

use crate::deployment;
use crate::error::ApiError;

pub(crate) async fn get(env: &Env) -> Result<Response, ApiError> {
    let jwks = deployment::keys(env).await?.set.to_jwks();
    let mut response = Response::ok(jwks)?;
    let headers = response.headers_mut();
    headers.set("Content-Type", "application/json")?;
    headers.set("Cache-Control", "public, max-age=300")?;
    Ok(response)
}
