//! `SignInLimiter`: one small Durable Object per username and per client address,
//! counting failed sign-ins in a sliding window ([`tessera_engine::Attempts`]) so a
//! password guesser is answered `429` before any PBKDF2 work is spent on it.
//!
//! A check takes an attempt and a success gives it back; the object holds the times in
//! memory and in its storage (a restart keeps the count).

use std::cell::RefCell;

use serde::{Deserialize, Serialize};
use tessera_engine::{Attempts, Window};
use worker::{DurableObject, Env, Request, Response, State, durable_object};

use crate::error::ApiError;
use crate::platform;

/// The binding (see `wrangler.toml`).
pub(crate) const BINDING: &str = "SIGN_IN_LIMITS";

/// What a limiter can be asked.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum LimiterCall {
    /// Take an attempt: `Ok(at)` (give it back with `at` if it succeeds) or
    /// `Err(retry_after_seconds)`.
    Take { window: Window },
    /// The attempt taken at `at` succeeded.
    GiveBack { at: u64 },
}

/// One key's failed sign-ins.
#[durable_object(fetch)]
pub struct SignInLimiter {
    state: State,
    attempts: RefCell<Option<Attempts>>,
}

impl core::fmt::Debug for SignInLimiter {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SignInLimiter").finish_non_exhaustive()
    }
}

impl DurableObject for SignInLimiter {
    fn new(state: State, _env: Env) -> Self {
        SignInLimiter {
            state,
            attempts: RefCell::new(None),
        }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        super::serve(req, |call: LimiterCall| self.handle(call)).await
    }
}

impl SignInLimiter {
    async fn handle(&self, call: LimiterCall) -> Result<Result<u64, u64>, ApiError> {
        let storage = self.state.storage();
        if self.attempts.borrow().is_none() {
            let stored: Option<Attempts> = storage.get("attempts").await?;
            self.attempts
                .borrow_mut()
                .get_or_insert(stored.unwrap_or_default());
        }
        let now = platform::now();
        // Decide and change in memory with no await in between: two concurrent attempts
        // cannot both take the last one.
        let (answer, attempts) = {
            let mut guard = self.attempts.borrow_mut();
            let attempts = guard.get_or_insert_with(Attempts::default);
            let answer = match call {
                LimiterCall::Take { window } => attempts.take(window, now).map(|()| now),
                LimiterCall::GiveBack { at } => {
                    attempts.give_back(at);
                    Ok(at)
                }
            };
            (answer, attempts.clone())
        };
        storage.put("attempts", &attempts).await?;
        Ok(answer)
    }
}

/// The worker's side: take an attempt from the limiter of `key` (hashed into the
/// object's name, so a 10 KB username names a small object).
pub(crate) async fn take(
    env: &Env,
    key: &str,
    window: Window,
) -> Result<Result<u64, u64>, ApiError> {
    ask(env, key, LimiterCall::Take { window }).await
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
    call: LimiterCall,
) -> Result<T, ApiError> {
    let name = crate::tokens::hash(key);
    let stub = env
        .durable_object(BINDING)?
        .id_from_name(&name)?
        .get_stub()?;
    super::call(stub, &call).await
}
