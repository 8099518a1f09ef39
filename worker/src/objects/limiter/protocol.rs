//! What a sign-in limiter can be asked, and the worker's side of it — the only part of
//! `limiter/` other rooms import.

use serde::{Deserialize, Serialize};
use tessera_engine::Limit;
use worker::Env;

use crate::error::ApiError;
use crate::objects::shell;
use crate::platform;

/// The binding (see `wrangler.toml`).
pub(crate) const BINDING: &str = "SIGN_IN_LIMITS";

/// What a limiter can be asked. Both answer `Result<u64, u64>`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum LimiterCall {
    /// Take an attempt: `Ok(at)` (give it back with `at` if it succeeds) or
    /// `Err(retry_after_seconds)`.
    Take { limit: Limit },
    /// The attempt taken at `at` succeeded.
    GiveBack { at: u64 },
}

/// The worker's side: take an attempt from the limiter of `key` (hashed into the
/// object's name, so a 10 KB username names a small object).
pub(crate) async fn take(env: &Env, key: &str, limit: Limit) -> Result<Result<u64, u64>, ApiError> {
    ask(env, key, LimiterCall::Take { limit }).await
}

/// Give back the attempt taken at `at` from the limiter of `key`.
pub(crate) async fn give_back(env: &Env, key: &str, at: u64) -> Result<(), ApiError> {
    ask::<Result<u64, u64>>(env, key, LimiterCall::GiveBack { at })
        .await
        .map(|_| ())
}

async fn ask<T: for<'de> Deserialize<'de>>(
    env: &Env,
    key: &str,
    message: LimiterCall,
) -> Result<T, ApiError> {
    shell::ask(env, BINDING, &platform::sha256_hex(key), &message).await
}
