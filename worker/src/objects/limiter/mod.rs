//! `SignInLimiter`: one small Durable Object per limit key (a username, an address, a
//! (username, client) pair — `tessera_engine::sign_in_limits`), counting failed
//! sign-ins ([`tessera_engine::Attempts`]) so a password guesser is answered `429`
//! before any PBKDF2 work is spent on it.
//!
//! A check takes an attempt and a success gives it back; the object holds the times in
//! memory and in its storage (a restart keeps the count). `protocol.rs` has the calls
//! and the worker's side.

use std::cell::RefCell;

pub(crate) mod protocol;

use tessera_engine::Attempts;
use worker::{DurableObject, Env, Request, Response, State, durable_object};

use self::protocol::LimiterCall;
use crate::error::ApiError;
use crate::objects::shell::{opaque_debug, serve};
use crate::platform;

/// One key's failed sign-ins.
#[durable_object(fetch)]
pub struct SignInLimiter {
    state: State,
    attempts: RefCell<Option<Attempts>>,
}

opaque_debug!(SignInLimiter);

impl DurableObject for SignInLimiter {
    fn new(state: State, _env: Env) -> Self {
        SignInLimiter {
            state,
            attempts: RefCell::new(None),
        }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        serve(req, |call: LimiterCall| self.handle(call)).await
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
                LimiterCall::Take { limit } => attempts.take_under(limit, now).map(|()| now),
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
