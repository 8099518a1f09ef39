//! `GET /api/health`: is the worker up, can it reach its KV namespace, and can it sign?
//!
//! Unauthenticated on purpose (load balancers and the console's first page call it),
//! so it reveals nothing but liveness, the version, and whether the keyring is whole
//! (how many stored keys did not open: a wrong `DEPLOYMENT_SECRET`).

use tessera_engine::api::Health;
use worker::{Env, Response};

use crate::error::ApiError;
use crate::kv::KV_BINDING;
use crate::{deployment, platform};

pub(crate) async fn get(env: &Env) -> Result<Response, ApiError> {
    let kv = env.kv(KV_BINDING)?;
    // A read of a key that never exists: proves the binding answers, writes nothing.
    kv.get("health:probe").text().await?;
    let now = platform::now();
    let keys = deployment::keys(env).await?;
    let signing = keys.ring.active(now).is_ok();
    let unopened_keys = keys.ring.unopened().len() as u32;
    let health = Health {
        status: if signing && unopened_keys == 0 {
            "ok"
        } else {
            "degraded"
        }
        .into(),
        service: "tessera".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        kv: true,
        signing,
        unopened_keys,
        time: now,
    };
    super::json(200, &health)
}
