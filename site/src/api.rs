//! Typed calls to the worker's JSON API.
//!
//! Every call returns `Result<T, ApiError>`: a non-2xx answer becomes the API's own
//! error code and message, a network or decoding failure a client-side code, so pages
//! can always show something precise and never need to `unwrap()`.

use gloo_net::http::{Request, RequestBuilder, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tessera_engine::api::{ApplyToken, ErrorEnvelope, Health, Me, RemoveToken};
use tessera_engine::{AppliedView, IssueRequest, LicenceRecord, LicenceStatus};

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
        Ok(envelope) => {
            let mut message = envelope.error.message;
            if let Some(reason) = envelope.error.reason {
                message = format!("{message} ({reason})");
            }
            Err(ApiError::new(&envelope.error.code, message))
        }
        Err(_) => Err(ApiError::new(
            "BAD_RESPONSE",
            format!("HTTP {} without an error body", response.status()),
        )),
    }
}

fn authorized(builder: RequestBuilder, authorization: &str) -> RequestBuilder {
    // X-Requested-With: the worker then answers 401 without a Basic challenge, so the
    // browser does not open its own password dialog.
    let builder = builder
        .header("Accept", "application/json")
        .header("X-Requested-With", "tessera-console");
    if authorization.is_empty() {
        builder
    } else {
        builder.header("Authorization", authorization)
    }
}

async fn send<T: DeserializeOwned>(
    request: Result<Request, gloo_net::Error>,
) -> Result<T, ApiError> {
    let request = request.map_err(|e| ApiError::new("NETWORK", e.to_string()))?;
    let response = request
        .send()
        .await
        .map_err(|e| ApiError::new("NETWORK", e.to_string()))?;
    read(response).await
}

async fn get<T: DeserializeOwned>(path: &str, authorization: &str) -> Result<T, ApiError> {
    send(authorized(Request::get(path), authorization).build()).await
}

async fn with_body<T: DeserializeOwned>(
    builder: RequestBuilder,
    authorization: &str,
    body: &impl Serialize,
) -> Result<T, ApiError> {
    send(authorized(builder, authorization).json(body)).await
}

/// `GET /api/health`.
pub(crate) async fn health() -> Result<Health, ApiError> {
    get("/api/health", "").await
}

/// `GET /api/me` with the given credentials.
pub(crate) async fn me(authorization: &str) -> Result<Me, ApiError> {
    get("/api/me", authorization).await
}

/// `GET /api/licenses`.
pub(crate) async fn licences(authorization: &str) -> Result<Vec<LicenceRecord>, ApiError> {
    get("/api/licenses", authorization).await
}

/// `POST /api/licenses`.
pub(crate) async fn issue(
    authorization: &str,
    request: &IssueRequest,
) -> Result<LicenceRecord, ApiError> {
    with_body(Request::post("/api/licenses"), authorization, request).await
}

/// `POST /api/licenses/:lid/revoke`.
pub(crate) async fn revoke(authorization: &str, lid: &str) -> Result<LicenceRecord, ApiError> {
    let path = format!("/api/licenses/{}/revoke", js_sys::encode_uri_component(lid));
    with_body(Request::post(&path), authorization, &serde_json::json!({})).await
}

/// `GET /api/licensing/applied`.
pub(crate) async fn applied(authorization: &str) -> Result<Option<AppliedView>, ApiError> {
    get("/api/licensing/applied", authorization).await
}

/// `POST /api/licensing/token`.
pub(crate) async fn apply(authorization: &str, token: String) -> Result<LicenceStatus, ApiError> {
    with_body(
        Request::post("/api/licensing/token"),
        authorization,
        &ApplyToken { token },
    )
    .await
}

/// `POST /api/licensing/token/renew`.
pub(crate) async fn renew(authorization: &str) -> Result<LicenceStatus, ApiError> {
    with_body(
        Request::post("/api/licensing/token/renew"),
        authorization,
        &serde_json::json!({}),
    )
    .await
}

/// `DELETE /api/licensing/token`.
pub(crate) async fn remove(
    authorization: &str,
    instance: String,
) -> Result<serde_json::Value, ApiError> {
    let body = RemoveToken {
        instance: Some(instance),
    };
    with_body(
        Request::delete("/api/licensing/token"),
        authorization,
        &body,
    )
    .await
}
