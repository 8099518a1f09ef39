//! `GET /api/health`: is the worker up, and can it reach its KV namespace?
//!
//! Unauthenticated on purpose (load balancers and the console's first page call it),
//! so it reveals nothing but liveness and the version.

use tessera_engine::api::Health;
use worker::{Env, Response};

use crate::error::ApiError;

/// The KV binding every record lives in (see `wrangler.toml`).
pub(crate) const KV_BINDING: &str = "TESSERA_KV";

pub(crate) async fn get(env: &Env) -> Result<Response, ApiError> {
    let kv = env.kv(KV_BINDING)?;
    // A read of a key that never exists: proves the binding answers, writes nothing.
    kv.get("health:probe").text().await?;
    let health = Health {
        status: "ok".into(),
        service: "tessera".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        kv: true,
        time: worker::Date::now().as_millis() / 1000,
    };
    Ok(Response::from_json(&health)?)
}
