//! The console's session: `POST /api/session` `{username, password}` signs in,
//! `DELETE /api/session` signs out.
//!
//! Signing in proves the password (with the same limits on failures as Basic) and
//! exchanges it for a random session secret in an `HttpOnly`, `Secure`,
//! `SameSite=Strict` cookie scoped to `/api`, so the browser never keeps the password
//! and page scripts never see the secret. Only the secret's SHA-256 is stored, in the
//! accounts object, which ends the session after [`SESSION_SECONDS`] (8 hours; the
//! `SESSION_SECONDS` var overrides it), at sign-out, and when the user's password
//! changes or they are disabled or deleted. A session counts as its user's password
//! sign-in (seed 004's licensing endpoints take it from a server administrator).
//!
//! A sign-in also leaves a device cookie (`auth::DEVICE_COOKIE`, 180 days, kept at
//! sign-out): the client is known for that user from then on, and no stranger's failed
//! sign-ins can keep it out.

use crate::request::Request;
use base64::Engine as _;
use serde::Deserialize;
use tessera_engine::api::Me;
use worker::{Env, Response};

use crate::auth::{self, SESSION_COOKIE};
use crate::error::ApiError;
use crate::objects::accounts::protocol::{self as accounts, AccountsCall};
use crate::{body, platform};

/// How long a device cookie is kept: 180 days.
const DEVICE_SECONDS: u64 = 180 * 86_400;

/// How long a console session lasts, at most.
pub(crate) const SESSION_SECONDS: u64 = 8 * 3600;

/// `POST /api/session`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(test, derive(utoipa::ToSchema))]
pub(crate) struct SignIn {
    username: String,
    password: String,
}

fn session_seconds(env: &Env) -> u64 {
    env.var("SESSION_SECONDS")
        .ok()
        .and_then(|v| v.to_string().parse().ok())
        .filter(|s| (1..=SESSION_SECONDS * 3).contains(s))
        .unwrap_or(SESSION_SECONDS)
}

fn cookie(value: &str, max_age: u64) -> String {
    format!(
        "{SESSION_COOKIE}={value}; Path=/api; HttpOnly; Secure; SameSite=Strict; Max-Age={max_age}"
    )
}

pub(crate) async fn create(req: &mut Request, env: &Env) -> Result<Response, ApiError> {
    let sign_in: SignIn = body::json(req).await?;
    let caller = auth::password_caller(req, env, &sign_in.username, &sign_in.password).await?;
    let user_id = caller
        .user_id
        .clone()
        .ok_or(ApiError::Unauthorized("sign in as a user"))?;
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(platform::random::<32>()?);
    let seconds = session_seconds(env);
    let call = AccountsCall::CreateSession {
        hash: platform::sha256_hex(&secret),
        user_id,
        now: platform::now(),
        seconds,
    };
    if !accounts::ask::<bool>(env, call).await? {
        return Err(ApiError::Unauthorized("this user cannot sign in"));
    }
    let me = Me {
        username: caller.username.clone(),
        role: caller.role,
        via: "session".into(),
        token_id: None,
        permissions: caller
            .permissions()
            .iter()
            .map(|p| p.as_str().to_string())
            .collect(),
    };
    let mut session_caller = caller.clone();
    session_caller.via = auth::Via::Session;
    crate::audit::record(req, env, &session_caller, "session.create", None).await;
    let mut response = super::json(201, &me)?;
    let headers = response.headers_mut();
    headers.set("Set-Cookie", &cookie(&secret, seconds))?;
    // This client is now known for this user: its failed sign-ins are its own.
    let device = auth::new_device_cookie(env, &caller.username)?;
    headers.append(
        "Set-Cookie",
        &format!(
            "{}={device}; Path=/api; HttpOnly; Secure; SameSite=Strict; Max-Age={DEVICE_SECONDS}",
            auth::DEVICE_COOKIE
        ),
    )?;
    Ok(response)
}

pub(crate) async fn delete(req: &Request, env: &Env) -> Result<Response, ApiError> {
    if let Some(secret) = auth::session_secret(req) {
        let call = AccountsCall::EndSession {
            hash: platform::sha256_hex(&secret),
        };
        accounts::ask::<()>(env, call).await?;
    }
    let mut response = Response::empty()?.with_status(204);
    response.headers_mut().set("Set-Cookie", &cookie("", 0))?;
    Ok(response)
}
