//! `POST /api/agent/ping`: the agent endpoint an Agent-scope token is for. A licence
//! server's agent calls it to check its token and connectivity; usage and denial
//! ingestion will join it here.

use serde::Serialize;
use tessera_engine::Permission;
use worker::{Env, Request, Response};

use crate::auth::{self, Via};
use crate::error::ApiError;
use crate::platform;

/// The answer of a ping: who the token belongs to, and the server's clock.
#[derive(Serialize)]
#[cfg_attr(test, derive(utoipa::ToSchema))]
pub(crate) struct Pong {
    ok: bool,
    /// The token's creator.
    user: String,
    /// The token's id (none when signed in with a password).
    token_id: Option<String>,
    /// The server's time (Unix seconds).
    time: u64,
}

pub(crate) async fn ping(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let caller = auth::require(req, env, Permission::AgentWrite).await?;
    let token = match &caller.via {
        Via::Token { id, .. } => Some(id.clone()),
        _ => None,
    };
    let pong = Pong {
        ok: true,
        user: caller.username,
        token_id: token,
        time: platform::now(),
    };
    super::json(200, &pong)
}
