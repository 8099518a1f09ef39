//! `GET /api/health`: is the worker up, and can it reach its KV namespace?
//!
//! Unauthenticated on purpose (load balancers and the console's first page call it),
//! so it reveals nothing but liveness and the version.

use tessera_engine::api::Health;
use worker::{Env, Response};

use crate::error::ApiError;
use crate::kv::KV_BINDING;
use crate::platform;

pub(crate) async fn get(env: &Env) -> Result<Response, ApiError> {
    let kv = env.kv(KV_BINDING)?;
    // A read of a key that never exists: proves the binding answers, writes nothing.
    kv.get("health:probe").text().await?;
    let health = Health {
        status: "ok".into(),
        service: "tessera".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        kv: true,
        time: platform::now(),
    };
    super::json(200, &health)
}
