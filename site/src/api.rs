//! Typed calls to the worker's JSON API.
//!
//! Every call returns `Result<T, ApiError>`: a non-2xx answer becomes the API's own
//! error code and message, a network or decoding failure a client-side code, so pages
//! can always show something precise and never need to `unwrap()`.

use gloo_net::http::{Request, Response};
use serde::de::DeserializeOwned;
use tessera_engine::api::{ErrorEnvelope, Health};

/// A failed API call, as a person should see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    /// The API's stable code, or `NETWORK` / `BAD_RESPONSE` for client-side failures.
    pub(crate) code: String,
    pub(crate) message: String,
}

impl core::fmt::Display for ApiError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for ApiError {}

impl ApiError {
    fn new(code: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            code: code.into(),
            message: message.into(),
        }
    }
}

async fn read<T: DeserializeOwned>(response: Response) -> Result<T, ApiError> {
    if response.ok() {
        return response
            .json()
            .await
            .map_err(|e| ApiError::new("BAD_RESPONSE", e.to_string()));
    }
    match response.json::<ErrorEnvelope>().await {
        Ok(envelope) => Err(ApiError::new(&envelope.error.code, envelope.error.message)),
        Err(_) => Err(ApiError::new(
            "BAD_RESPONSE",
            format!("HTTP {} without an error body", response.status()),
        )),
    }
}

async fn get<T: DeserializeOwned>(path: &str) -> Result<T, ApiError> {
    let response = Request::get(path)
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|e| ApiError::new("NETWORK", e.to_string()))?;
    read(response).await
}

/// `GET /api/health`.
pub(crate) async fn health() -> Result<Health, ApiError> {
    get("/api/health").await
}
