//! `GET /api/openapi.json`: the OpenAPI 3 document of every route.
//!
//! Generated from the code — the route table, each route's [`generate`] entry, and the
//! schemas `utoipa` derives from the wire types — by a test, and committed as
//! `worker/openapi.json`, which is compiled in: the worker carries no generator. The test
//! fails when the file is stale (`UPDATE_OPENAPI=1 cargo test -p tessera-worker openapi`
//! rewrites it), and `tests/http/contract.test.mjs` runs schemathesis against the running
//! worker with it. The console's Settings link to a Swagger UI of it (`/swagger/`).

use worker::Response;

use crate::error::ApiError;

#[cfg(test)]
mod generate;

/// The document, compiled in.
pub(crate) const DOCUMENT: &str = include_str!("../../openapi.json");

pub(crate) fn get() -> Result<Response, ApiError> {
    let mut response = Response::ok(DOCUMENT)?;
    response
        .headers_mut()
        .set("Content-Type", "application/json")?;
    Ok(response)
}
