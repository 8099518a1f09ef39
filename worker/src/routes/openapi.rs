//! `GET /api/openapi.json`: the OpenAPI 3 document of every route.
//!
//! Written by hand in `worker/openapi.json`; `router::tests` fails if it and the route
//! table ever disagree.

use worker::Response;

use crate::error::ApiError;

/// The document, compiled in.
pub(crate) const DOCUMENT: &str = include_str!("../../openapi.json");

pub(crate) fn get() -> Result<Response, ApiError> {
    let mut response = Response::ok(DOCUMENT)?;
    response
        .headers_mut()
        .set("Content-Type", "application/json")?;
    Ok(response)
}
