//! The API's errors: one closed code enum, one `status()` match, one JSON envelope.
//!
//! Handlers return `Result<Response, ApiError>`; the entry point turns an error into
//! `{"error": {"code", "message", "field"?, "reason"?}}` with the matching status.
//! Messages are for people and never carry secrets or internal details; an internal
//! failure is logged (without request data) and answered with a generic message.
//! Engine errors become API errors only here, in `From<tessera_engine::Error>`.
//!
//! [`WireError`] is the one error that crosses a Durable Object call: every object
//! answers `Result<T, WireError>`, and the worker turns an `Err` back into the
//! `ApiError` it stands for — a rule's refusal keeps its code and message, a seat
//! denial travels as the engine's [`SeatDenial`], and an object's internal failure
//! stays an internal error.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use tessera_engine::api::{ErrorBody, ErrorEnvelope};
use tessera_engine::{DenyCode, Error as EngineError, ProofError, SeatDenial};
use worker::Response;

/// A message that is usually a literal, and sometimes made at run time (a rule's
/// refusal read back from an object's answer).
pub(crate) type Text = Cow<'static, str>;

/// Why a lease is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Gone {
    /// Its time passed without a heartbeat.
    Expired,
    /// It ended before its time.
    Revoked,
    /// It was presented from two places.
    CloneDetected,
}

/// Everything the API can answer with instead of success.
#[derive(Debug)]
pub(crate) enum ApiError {
    /// The body is not JSON.
    MalformedJson(String),
    /// The body is JSON of the wrong shape: wrong types, missing or unknown fields.
    InvalidBody(String),
    /// A field is well-typed but its value is not acceptable.
    InvalidField { field: Text, message: String },
    /// A license token was refused (seed 004: 400), with the engine's reason.
    InvalidLicense(DenyCode),
    /// A seat was refused; the code is the denial's own (`NO_SEAT_AVAILABLE`,
    /// `USER_BLOCKED`, `REVOKED`, ...).
    Seat(SeatDenial),
    /// A lease token that does not verify (400), with the engine's reason.
    InvalidLease(DenyCode),
    /// The lease is gone (410): `LEASE_EXPIRED`, `LEASE_REVOKED` when it ended before
    /// its time (released, revoked, blocked, disconnected, machine deactivated), or
    /// `CLONE_DETECTED` when it was found in two places.
    LeaseGone(Gone),
    /// An installation's DPoP proof (RFC 9449) was refused, or is missing (401).
    InvalidProof(ProofError),
    /// More activations today than the license allows; try again in this many seconds.
    TooManyActivations(u64),
    /// No credentials, or wrong ones, or a scheme this route does not take.
    Unauthorized(&'static str),
    /// Authenticated, but the role lacks the route's permission, or a rule forbids the
    /// change.
    Forbidden(Text),
    /// No route at this path, or no record with this id (what was looked for).
    NotFound(Text),
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
    /// Seed 004's 422 for `DELETE /api/licensing/token`: a missing or wrong instance.
    InvalidInstance(String),
    /// The change conflicts with the current state (the last server administrator, a
    /// deleted token).
    Conflict(Text),
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
            ApiError::LeaseGone(Gone::Expired) => "LEASE_EXPIRED",
            ApiError::LeaseGone(Gone::Revoked) => "LEASE_REVOKED",
            ApiError::LeaseGone(Gone::CloneDetected) => "CLONE_DETECTED",
            ApiError::InvalidProof(_) => "INVALID_PROOF",
            ApiError::TooManyActivations(_) => "TOO_MANY_ACTIVATIONS",
            ApiError::Unauthorized(_) => "UNAUTHORIZED",
            ApiError::Forbidden(_) => "FORBIDDEN",
            ApiError::NotFound(_) => "NOT_FOUND",
            ApiError::MethodNotAllowed { .. } => "METHOD_NOT_ALLOWED",
            ApiError::PayloadTooLarge(_) => "PAYLOAD_TOO_LARGE",
            ApiError::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            ApiError::CrossSite => "CROSS_SITE_REQUEST",
            ApiError::TooManyRequests(_) => "TOO_MANY_REQUESTS",
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
            | ApiError::Seat(SeatDenial::License(DenyCode::Malformed)) => 400,
            ApiError::Seat(
                SeatDenial::NoSeatAvailable
                | SeatDenial::SessionLimitReached
                | SeatDenial::MachineLimitReached,
            ) => 409,
            ApiError::Seat(SeatDenial::TooManyActivations) | ApiError::TooManyActivations(_) => 429,
            ApiError::Seat(_) => 403,
            ApiError::LeaseGone(_) => 410,
            ApiError::Unauthorized(_) | ApiError::InvalidProof(_) => 401,
            ApiError::Forbidden(_) | ApiError::CrossSite => 403,
            ApiError::NotFound(_) => 404,
            ApiError::MethodNotAllowed { .. } => 405,
            ApiError::Conflict(_) => 409,
            ApiError::PayloadTooLarge(_) => 413,
            ApiError::TooManyRequests(_) => 429,
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
            ApiError::InvalidLicense(code) => format!("the license was refused: {code}"),
            ApiError::Seat(denial) => seat_message(*denial),
            ApiError::InvalidLease(code) => format!("the lease token was refused: {code}"),
            ApiError::LeaseGone(Gone::Expired) => {
                "the lease expired: check out a seat again".to_string()
            }
            ApiError::LeaseGone(Gone::Revoked) => {
                "the lease ended (released, revoked, its product, user or machine kept out): check out a seat again".to_string()
            }
            ApiError::LeaseGone(Gone::CloneDetected) => {
                "the lease was presented from two places (a copied lease token and key): it ended for both".to_string()
            }
            ApiError::InvalidProof(why) => why.to_string(),
            ApiError::TooManyActivations(wait) => {
                format!("this license was activated as often as it allows today; try again in {wait} s")
            }
            ApiError::Unauthorized(why) => (*why).to_string(),
            ApiError::Forbidden(why) | ApiError::Conflict(why) => why.to_string(),
            ApiError::NotFound(what) => format!("no such {what}"),
            ApiError::MethodNotAllowed { allow } => {
                format!("this route does not accept that method (allowed: {allow})")
            }
            ApiError::PayloadTooLarge(limit) => format!("the body is larger than {limit} bytes"),
            ApiError::UnsupportedMediaType => "send the body as application/json".to_string(),
            ApiError::TooManyRequests(wait) => {
                format!("too many failed sign-ins; try again in {wait} s")
            }
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
                    ApiError::InvalidField { field, .. } => Some(field.to_string()),
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
            ApiError::TooManyRequests(wait) | ApiError::TooManyActivations(wait) => response
                .headers_mut()
                .set("Retry-After", &wait.to_string())?,
            // RFC 9449 §7.1: the DPoP scheme's challenge.
            ApiError::InvalidProof(_) => response.headers_mut().set(
                "WWW-Authenticate",
                "DPoP error=\"invalid_dpop_proof\", algs=\"EdDSA ES256\"",
            )?,
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
            "this user already holds the product from as many installations as the license allows".into()
        }
        SeatDenial::ProductDisconnected => "this product is disconnected from the vault".into(),
        SeatDenial::UserBlocked => "this user is blocked from taking seats".into(),
        SeatDenial::MachineNotActivated => {
            "this license is node-locked: activate this installation first (POST /api/machines/activate)".into()
        }
        SeatDenial::MachineLimitReached => {
            "this license is active on as many machines as it allows: deactivate one first".into()
        }
        SeatDenial::TooManyActivations => {
            "this license was activated as often as it allows today".into()
        }
        SeatDenial::License(code) => format!("the license refuses seats: {code}"),
        _ => denial.as_str().into(),
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::Invalid { field, message } => ApiError::InvalidField {
                field: field.into(),
                message,
            },
            EngineError::NotFound(what) => ApiError::NotFound(what.into()),
            EngineError::Refused(code) => ApiError::InvalidLicense(code),
            EngineError::Forbidden(why) => ApiError::Forbidden(why.into()),
            EngineError::Conflict(why) => ApiError::Conflict(why.into()),
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

/// An error as it crosses a Durable Object call (see the module docs). Only what an
/// object's rules can answer has a variant; anything else an object fails with is
/// `Internal`, its detail logged by the object and by the worker, never shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum WireError {
    /// No such record (what was looked for).
    NotFound { what: String },
    /// A rule forbids it.
    Forbidden { message: String },
    /// It conflicts with the state now.
    Conflict { message: String },
    /// A field's value is refused.
    InvalidField { field: String, message: String },
    /// A seat was refused, for the engine's reason.
    Seat { denial: SeatDenial },
    /// A DPoP proof was used before (the object remembers each `jti`).
    ProofReplayed,
    /// Over the day's activations; seconds to wait.
    TooManyActivations { retry_after: u64 },
    /// The object could not do it.
    Internal { detail: String },
}

impl From<ApiError> for WireError {
    fn from(e: ApiError) -> WireError {
        match e {
            ApiError::NotFound(what) => WireError::NotFound {
                what: what.into_owned(),
            },
            ApiError::Forbidden(message) => WireError::Forbidden {
                message: message.into_owned(),
            },
            ApiError::Conflict(message) => WireError::Conflict {
                message: message.into_owned(),
            },
            ApiError::InvalidField { field, message } => WireError::InvalidField {
                field: field.into_owned(),
                message,
            },
            ApiError::Seat(denial) => WireError::Seat { denial },
            ApiError::InvalidProof(ProofError::Replayed) => WireError::ProofReplayed,
            ApiError::TooManyActivations(retry_after) => {
                WireError::TooManyActivations { retry_after }
            }
            ApiError::Internal(detail) => WireError::Internal { detail },
            // Nothing else is an object's to answer: keep what it was, as a failure.
            other => WireError::Internal {
                detail: format!("{}: {}", other.code(), other.message()),
            },
        }
    }
}

impl From<EngineError> for WireError {
    fn from(e: EngineError) -> WireError {
        ApiError::from(e).into()
    }
}

impl From<worker::Error> for WireError {
    fn from(e: worker::Error) -> WireError {
        ApiError::from(e).into()
    }
}

impl From<WireError> for ApiError {
    fn from(e: WireError) -> ApiError {
        match e {
            WireError::NotFound { what } => ApiError::NotFound(what.into()),
            WireError::Forbidden { message } => ApiError::Forbidden(message.into()),
            WireError::Conflict { message } => ApiError::Conflict(message.into()),
            WireError::InvalidField { field, message } => ApiError::InvalidField {
                field: field.into(),
                message,
            },
            WireError::Seat { denial } => ApiError::Seat(denial),
            WireError::ProofReplayed => ApiError::InvalidProof(ProofError::Replayed),
            WireError::TooManyActivations { retry_after } => {
                ApiError::TooManyActivations(retry_after)
            }
            WireError::Internal { detail } => ApiError::Internal(detail),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every error an object can answer reads back as the API error it was, with the
    /// same code, status and message.
    #[test]
    fn errors_cross_an_object_call_unchanged() {
        let cases = [
            ApiError::NotFound("user".into()),
            ApiError::Forbidden("your role does not allow this".into()),
            ApiError::Conflict("the last server administrator stays".into()),
            ApiError::InvalidField {
                field: "username".into(),
                message: "is taken".into(),
            },
            ApiError::Seat(SeatDenial::SessionLimitReached),
            ApiError::Seat(SeatDenial::License(DenyCode::Revoked)),
            ApiError::Seat(SeatDenial::MachineNotActivated),
            ApiError::InvalidProof(ProofError::Replayed),
            ApiError::TooManyActivations(3600),
        ];
        for error in cases {
            let (code, status, message) = (error.code(), error.status(), error.message());
            let json =
                serde_json::to_string(&Err::<(), _>(WireError::from(error))).expect("serializes");
            let back: Result<(), WireError> = serde_json::from_str(&json).expect("reads back");
            let back = ApiError::from(back.expect_err("an error"));
            assert_eq!(
                (back.code(), back.status(), back.message()),
                (code, status, message),
                "{json}"
            );
        }
    }

    /// A seat denial is the engine's type on the wire: an unknown code is refused, never
    /// read as some other denial.
    #[test]
    fn an_unknown_seat_denial_does_not_read_as_another() {
        let json = r#"{"Err":{"kind":"seat","denial":"NO_SUCH_CODE"}}"#;
        assert!(serde_json::from_str::<Result<(), WireError>>(json).is_err());
        let json = r#"{"Err":{"kind":"seat","denial":"USER_BLOCKED"}}"#;
        let read: Result<(), WireError> = serde_json::from_str(json).expect("reads");
        assert_eq!(
            read,
            Err(WireError::Seat {
                denial: SeatDenial::UserBlocked
            })
        );
    }

    /// Anything else an object fails with stays an internal error, its detail kept for
    /// the logs and never shown.
    #[test]
    fn other_failures_stay_internal() {
        let wire = WireError::from(ApiError::Unauthorized("no"));
        assert!(matches!(&wire, WireError::Internal { detail } if detail.contains("UNAUTHORIZED")));
        let back = ApiError::from(wire);
        assert_eq!(back.status(), 500);
        assert_eq!(back.message(), "internal error; see the worker's logs");
    }
}
