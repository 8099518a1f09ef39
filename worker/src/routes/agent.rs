//! `POST /api/agent/ping`: the agent endpoint an Agent-scope token is for. A licence
//! server's agent calls it to check its token and connectivity; usage and denial
//! ingestion will join it here.

use tessera_engine::Permission;
use worker::{Env, Request, Response};

use crate::auth::{self, Via};
use crate::error::ApiError;
use crate::platform;

pub(crate) async fn ping(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let caller = auth::require(req, env, Permission::AgentWrite).await?;
    let token = match &caller.via {
        Via::Token { id, .. } => Some(id.clone()),
        _ => None,
    };
    super::json(
        200,
        &serde_json::json!({ "ok": true, "user": caller.username, "token_id": token, "time": platform::now() }),
    )
}
