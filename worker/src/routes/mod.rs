//! One module per resource; each owns its request handling and response shapes (wire
//! types shared with the console live in `tessera_engine::api`).

pub(crate) mod agent;
pub(crate) mod audit;
pub(crate) mod health;
pub(crate) mod jwks;
pub(crate) mod keys;
pub(crate) mod licenses;
pub(crate) mod licensing;
pub(crate) mod machines;
pub(crate) mod me;
pub(crate) mod openapi;
pub(crate) mod reports;
pub(crate) mod seats;
pub(crate) mod session;
pub(crate) mod tokens;
pub(crate) mod users;
pub(crate) mod validate;
pub(crate) mod vault;
pub(crate) mod vault_token;

use serde::Serialize;
use worker::Response;

use crate::error::ApiError;

/// A JSON response with `status`.
pub(crate) fn json<T: Serialize>(status: u16, value: &T) -> Result<Response, ApiError> {
    Ok(Response::from_json(value)?.with_status(status))
}
