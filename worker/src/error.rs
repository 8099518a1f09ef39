//! The API's errors: one closed code enum, one `status()` match, one JSON envelope.
//!
//! Handlers return `Result<Response, ApiError>`; the entry point turns an error into
//! `{"error": {"code", "message", "field"?, "reason"?}}` with the matching status.
//! Messages are for people and never carry secrets or internal details; an internal
//! failure is logged (without request data) and answered with a generic message.
//! Engine errors become API errors only here, in `From<tessera_engine::Error>`.

use tessera_engine::api::{ErrorBody, ErrorEnvelope};
use tessera_engine::{DenyCode, Error as EngineError, SeatDenial};
use worker::Response;

use crate::objects::accounts::RefusalKind;

/// Everything the API can answer with instead of success.
#[derive(Debug)]
pub(crate) enum ApiError {
    /// The body is not JSON.
    MalformedJson(String),
    /// The body is JSON of the wrong shape: wrong types, missing or unknown fields.
    InvalidBody(String),
    /// A field is well-typed but its value is not acceptable.
    InvalidField {
        field: &'static str,
        message: String,
    },
    /// A licence token was refused (seed 004: 400), with the engine's reason.
    InvalidLicense(DenyCode),
    /// A seat was refused; the code is the denial's own (`NO_SEAT_AVAILABLE`,
    /// `USER_BLOCKED`, `REVOKED`, ...).
    Seat(SeatDenial),
    /// A lease token that does not verify (400), with the engine's reason.
    InvalidLease(DenyCode),
    /// The lease is gone (410): `LEASE_EXPIRED`, or `LEASE_REVOKED` when it ended
    /// before its time (released, revoked, blocked, disconnected).
    LeaseGone { expired: bool },
    /// No credentials, or wrong ones, or a scheme this route does not take.
    Unauthorized(&'static str),
    /// Authenticated, but the role lacks the route's permission.
    Forbidden(&'static str),
    /// No route at this path, or no record with this id.
    NotFound(&'static str),
    /// The path exists, but not for this method; `allow` lists the methods it takes.
    MethodNotAllowed { allow: String },
    /// The body is larger than the route accepts.
    PayloadTooLarge(usize),
    /// The body is not `application/json`.
    UnsupportedMediaType,
    /// A state-changing request a browser sent on another site's behalf.
    CrossSite,
    /// Too many failed sign-ins; try again in this many seconds.
    TooManyRequests(u64),
    /// A rule of the accounts refused a change (decided inside the accounts object).
    Refused(crate::objects::accounts::Refusal),
    /// Seed 004's 422 for `DELETE /api/licensing/token`: a missing or wrong instance.
    InvalidInstance(String),
    /// The change conflicts with the current state (the last server administrator, a
    /// deleted token).
    Conflict(&'static str),
    /// The runtime, a binding, or the deployment's configuration failed.
    Internal(String),
}

impl ApiError {
    /// The stable code clients match on.
    pub(crate) fn code(&self) -> &'static str {
        match self {
            ApiError::MalformedJson(_) => "MALFORMED_JSON",
            ApiError::InvalidBody(_) => "INVALID_BODY",
            ApiError::InvalidField { .. } => "INVALID_FIELD",
            ApiError::InvalidLicense(_) => "INVALID_LICENSE",
            ApiError::Seat(denial) => denial.as_str(),
            ApiError::InvalidLease(_) => "INVALID_LEASE",
            ApiError::LeaseGone { expired: true } => "LEASE_EXPIRED",
            ApiError::LeaseGone { expired: false } => "LEASE_REVOKED",
            ApiError::Unauthorized(_) => "UNAUTHORIZED",
            ApiError::Forbidden(_) => "FORBIDDEN",
            ApiError::NotFound(_) => "NOT_FOUND",
            ApiError::MethodNotAllowed { .. } => "METHOD_NOT_ALLOWED",
            ApiError::PayloadTooLarge(_) => "PAYLOAD_TOO_LARGE",
            ApiError::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            ApiError::CrossSite => "CROSS_SITE_REQUEST",
            ApiError::TooManyRequests(_) => "TOO_MANY_REQUESTS",
            ApiError::Refused(r) => match r.kind {
                RefusalKind::NotFound => "NOT_FOUND",
                RefusalKind::Forbidden => "FORBIDDEN",
                RefusalKind::Conflict => "CONFLICT",
                RefusalKind::InvalidField => "INVALID_FIELD",
            },
            ApiError::InvalidInstance(_) => "INVALID_INSTANCE",
            ApiError::Conflict(_) => "CONFLICT",
            ApiError::Internal(_) => "INTERNAL",
        }
    }

    pub(crate) fn status(&self) -> u16 {
        match self {
            ApiError::MalformedJson(_)
            | ApiError::InvalidBody(_)
            | ApiError::InvalidField { .. }
            | ApiError::InvalidLicense(_)
            | ApiError::InvalidLease(_)
            | ApiError::Seat(SeatDenial::Licence(DenyCode::Malformed)) => 400,
            ApiError::Seat(SeatDenial::NoSeatAvailable | SeatDenial::SessionLimitReached) => 409,
            ApiError::Seat(_) => 403,
            ApiError::LeaseGone { .. } => 410,
            ApiError::Unauthorized(_) => 401,
            ApiError::Forbidden(_) | ApiError::CrossSite => 403,
            ApiError::NotFound(_) => 404,
            ApiError::MethodNotAllowed { .. } => 405,
            ApiError::Conflict(_) => 409,
            ApiError::PayloadTooLarge(_) => 413,
            ApiError::TooManyRequests(_) => 429,
            ApiError::Refused(r) => match r.kind {
                RefusalKind::NotFound => 404,
                RefusalKind::Forbidden => 403,
                RefusalKind::Conflict => 409,
                RefusalKind::InvalidField => 400,
            },
            ApiError::UnsupportedMediaType => 415,
            ApiError::InvalidInstance(_) => 422,
            ApiError::Internal(_) => 500,
        }
    }

    fn message(&self) -> String {
        match self {
            ApiError::MalformedJson(why) => format!("the body is not valid JSON: {why}"),
            ApiError::InvalidBody(why) => format!("the body does not fit this route: {why}"),
            ApiError::InvalidField { field, message } => format!("{field} {message}"),
            ApiError::InvalidLicense(code) => format!("the licence was refused: {code}"),
            ApiError::Seat(denial) => seat_message(*denial),
            ApiError::InvalidLease(code) => format!("the lease token was refused: {code}"),
            ApiError::LeaseGone { expired: true } => {
                "the lease expired: check out a seat again".to_string()
            }
            ApiError::LeaseGone { expired: false } => {
                "the lease ended (released, revoked, or its product or user kept out): check out a seat again".to_string()
            }
            ApiError::Unauthorized(why) | ApiError::Forbidden(why) | ApiError::Conflict(why) => {
                (*why).to_string()
            }
            ApiError::NotFound(what) => format!("no such {what}"),
            ApiError::MethodNotAllowed { allow } => {
                format!("this route does not accept that method (allowed: {allow})")
            }
            ApiError::PayloadTooLarge(limit) => format!("the body is larger than {limit} bytes"),
            ApiError::UnsupportedMediaType => "send the body as application/json".to_string(),
            ApiError::TooManyRequests(wait) => {
                format!("too many failed sign-ins; try again in {wait} s")
            }
            ApiError::Refused(r) => match (&r.kind, &r.field) {
                (RefusalKind::InvalidField, Some(field)) => format!("{field} {}", r.message),
                _ => r.message.clone(),
            },
            ApiError::CrossSite => {
                "a request another site sent from a browser cannot change anything here"
                    .to_string()
            }
            ApiError::InvalidInstance(why) => why.clone(),
            ApiError::Internal(_) => "internal error; see the worker's logs".to_string(),
        }
    }

    pub(crate) fn into_response(self) -> worker::Result<Response> {
        if let ApiError::Internal(detail) = &self {
            worker::console_error!("internal error: {detail}");
        }
        let envelope = ErrorEnvelope {
            error: ErrorBody {
                code: self.code().into(),
                message: self.message(),
                field: match &self {
                    ApiError::InvalidField { field, .. } => Some((*field).into()),
                    ApiError::Refused(r) => r.field.clone(),
                    _ => None,
                },
                reason: match &self {
                    ApiError::InvalidLicense(code) | ApiError::InvalidLease(code) => {
                        Some(code.as_str().into())
                    }
                    _ => None,
                },
            },
        };
        let mut response = Response::from_json(&envelope)?.with_status(self.status());
        match &self {
            ApiError::MethodNotAllowed { allow } => response.headers_mut().set("Allow", allow)?,
            ApiError::TooManyRequests(wait) => response
                .headers_mut()
                .set("Retry-After", &wait.to_string())?,
            // A Bearer challenge: a Basic one makes browsers ask for a password and keep
            // it, then send it with requests other sites make them send.
            ApiError::Unauthorized(_) => response
                .headers_mut()
                .set("WWW-Authenticate", "Bearer realm=\"tessera\"")?,
            _ => {}
        }
        Ok(response)
    }
}

fn seat_message(denial: SeatDenial) -> String {
    match denial {
        SeatDenial::NoSeatAvailable => "every seat of this product is taken".into(),
        SeatDenial::SessionLimitReached => {
            "this user already holds the product from as many hosts as the licence allows".into()
        }
        SeatDenial::ProductDisconnected => "this product is disconnected from the vault".into(),
        SeatDenial::UserBlocked => "this user is blocked from taking seats".into(),
        SeatDenial::Licence(code) => format!("the licence refuses seats: {code}"),
        _ => denial.as_str().into(),
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Invalid { field, message } => ApiError::InvalidField { field, message },
            EngineError::NotFound(what) => ApiError::NotFound(what),
            EngineError::Refused(code) => ApiError::InvalidLicense(code),
            EngineError::Forbidden(why) => ApiError::Forbidden(why),
            EngineError::Conflict(why) => ApiError::Conflict(why),
            // Keys and signing come from the deployment, not the client.
            other => ApiError::Internal(other.to_string()),
        }
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
