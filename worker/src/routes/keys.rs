//! `GET /api/keys`, `POST /api/keys/rotate`: the signing keys, and rotation.
//!
//! Rotation makes a new key that signs from now on; every older key stays in the JWKS,
//! so licences signed before the rotation keep verifying.

use tessera_engine::Permission;
use worker::{Env, Request, Response};

use crate::error::ApiError;
use crate::kv::Kv;
use crate::{auth, deployment, platform};

pub(crate) async fn list(req: &Request, env: &Env) -> Result<Response, ApiError> {
    auth::require(req, env, Permission::KeysRead).await?;
    let kv = Kv::from_env(env)?;
    super::json(200, &deployment::keyring(env, &kv).await?.describe())
}

pub(crate) async fn rotate(req: &Request, env: &Env) -> Result<Response, ApiError> {
    auth::require(req, env, Permission::KeysWrite).await?;
    let kv = Kv::from_env(env)?;
    let mut ring = deployment::keyring(env, &kv).await?;
    let entry = ring.rotate(&platform::random::<32>()?, platform::now())?;
    deployment::store_rotated(&kv, &entry, &ring).await?;
    let info = ring
        .describe()
        .into_iter()
        .find(|k| k.kid == entry.kid)
        .ok_or_else(|| ApiError::Internal("rotated key missing from the ring".into()))?;
    super::json(201, &info)
}
