//! `GET /.well-known/jwks.json`: every public key that may have signed a live licence.
//!
//! Public and cacheable: offline validators (the npm package) fetch it once.

use worker::{Env, Response};

use crate::deployment;
use crate::error::ApiError;
use crate::kv::Kv;

pub(crate) async fn get(env: &Env) -> Result<Response, ApiError> {
    let kv = Kv::from_env(env)?;
    let jwks = deployment::keys(env, &kv).await?.set.to_jwks();
    let mut response = Response::ok(jwks)?;
    let headers = response.headers_mut();
    headers.set("Content-Type", "application/json")?;
    headers.set("Cache-Control", "public, max-age=300")?;
    Ok(response)
}
