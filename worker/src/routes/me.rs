//! `GET /api/me`: who the credentials belong to, and what they may do. The console's
//! sign-in calls it to check a username and password.

use tessera_engine::api::Me;
use worker::{Env, Request, Response};

use crate::auth;
use crate::error::ApiError;

pub(crate) async fn get(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let caller = auth::authenticate(req, env).await?;
    super::json(
        200,
        &Me {
            username: caller.username,
            role: caller.role,
            permissions: caller
                .role
                .permissions()
                .iter()
                .map(|p| p.as_str().to_string())
                .collect(),
        },
    )
}
