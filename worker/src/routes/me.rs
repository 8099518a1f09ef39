//! `GET /api/me`: who the credentials belong to, and what they may do. The console calls
//! it on start, with its session cookie, to learn whether it is signed in.

use tessera_engine::TokenScope;
use tessera_engine::api::Me;
use worker::Response;

use crate::auth::{Caller, Via};
use crate::error::ApiError;

pub(crate) fn get(caller: Caller) -> Result<Response, ApiError> {
    let (via, token_id) = match &caller.via {
        Via::Password => ("password", None),
        Via::Session => ("session", None),
        Via::Token {
            id,
            scope: TokenScope::Api,
            ..
        } => ("api_token", Some(id.clone())),
        Via::Token {
            id,
            scope: TokenScope::Agent,
            ..
        } => ("agent_token", Some(id.clone())),
        Via::Vault => ("vault_token", None),
    };
    let permissions = caller
        .permissions()
        .iter()
        .map(|p| p.as_str().to_string())
        .collect();
    super::json(
        200,
        &Me {
            username: caller.username,
            role: caller.role,
            via: via.into(),
            token_id,
            permissions,
        },
    )
}
