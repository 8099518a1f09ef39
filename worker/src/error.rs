//! The API's errors: one closed code enum, one `status()` match, one JSON envelope.
//!
//! Handlers return `Result<Response, ApiError>`; the entry point turns an error into
//! `{"error": {"code": "...", "message": "..."}}` with the matching status. Messages are
//! for people and never carry secrets or internal details; an internal failure is
//! logged (without request data) and answered with a generic message.

use tessera_engine::api::{ErrorBody, ErrorEnvelope};
use worker::Response;

/// Everything the API can answer with instead of success.
#[derive(Debug)]
pub(crate) enum ApiError {
    /// No route at this path.
    NotFound,
    /// The path exists, but not for this method; `allow` lists the methods it takes.
    MethodNotAllowed { allow: String },
    /// The runtime or a binding failed; not the client's fault.
    Internal(String),
}

impl ApiError {
    /// The stable code clients match on.
    pub(crate) fn code(&self) -> &'static str {
        match self {
            ApiError::NotFound => "NOT_FOUND",
            ApiError::MethodNotAllowed { .. } => "METHOD_NOT_ALLOWED",
            ApiError::Internal(_) => "INTERNAL",
        }
    }

    pub(crate) fn status(&self) -> u16 {
        match self {
            ApiError::NotFound => 404,
            ApiError::MethodNotAllowed { .. } => 405,
            ApiError::Internal(_) => 500,
        }
    }

    fn message(&self) -> &str {
        match self {
            ApiError::NotFound => "no such route",
            ApiError::MethodNotAllowed { .. } => "this route does not accept that method",
            ApiError::Internal(_) => "internal error; see the worker's logs",
        }
    }

    pub(crate) fn into_response(self) -> worker::Result<Response> {
        if let ApiError::Internal(detail) = &self {
            worker::console_error!("internal error: {detail}");
        }
        let envelope = ErrorEnvelope {
            error: ErrorBody {
                code: self.code().into(),
                message: self.message().into(),
            },
        };
        let mut response = Response::from_json(&envelope)?.with_status(self.status());
        if let ApiError::MethodNotAllowed { allow } = &self {
            response.headers_mut().set("Allow", allow)?;
        }
        Ok(response)
    }
}

impl From<worker::Error> for ApiError {
    fn from(e: worker::Error) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl From<worker::kv::KvError> for ApiError {
    fn from(e: worker::kv::KvError) -> Self {
        ApiError::Internal(e.to_string())
    }
}
