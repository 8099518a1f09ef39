//! The engine's one error type: "could not evaluate", as opposed to "denied".
//!
//! A refused license is a [`Decision::Deny`](crate::Decision::Deny), never an `Error`.
//! Errors are for inputs that are not licenses at all: a JWKS that is not one, a key of
//! the wrong size, claims that cannot be signed.

use alloc::string::String;

use crate::decision::DenyCode;

/// Why the engine could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A JWKS or JWK could not be read; the message says which part and why.
    InvalidJwks(String),
    /// Key bytes are not a valid Ed25519 key.
    InvalidKey,
    /// Two keys in one key set share a `kid`.
    DuplicateKid(String),
    /// Signing failed (the claims could not be serialised).
    Signing(String),
    /// A request field is invalid; nothing was stored.
    Invalid {
        /// The field, as the request names it.
        field: &'static str,
        /// What is wrong with it, for people.
        message: String,
    },
    /// The record does not exist (the argument names what was looked for).
    NotFound(&'static str),
    /// A license was refused, for this reason; nothing was stored.
    Refused(DenyCode),
    /// The store failed, or holds a record that cannot be read.
    Store(String),
    /// The caller may not do this (a rule, not a missing permission), and why.
    Forbidden(&'static str),
    /// The change conflicts with the current state, and why.
    Conflict(&'static str),
    /// The deployment is misconfigured (a secret missing or malformed), and how.
    Config(&'static str),
}

impl Error {
    /// An [`Error::Invalid`] of `field`.
    pub(crate) fn invalid(field: &'static str, message: &str) -> Error {
        use alloc::string::ToString as _;
        Error::Invalid {
            field,
            message: message.to_string(),
        }
    }
}

impl core::fmt::Display for Error {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Error::InvalidJwks(why) => write!(f, "invalid JWKS: {why}"),
            Error::InvalidKey => f.write_str("not a valid Ed25519 key"),
            Error::DuplicateKid(kid) => write!(f, "duplicate key id {kid:?}"),
            Error::Signing(why) => write!(f, "could not sign: {why}"),
            Error::Invalid { field, message } => write!(f, "{field} {message}"),
            Error::NotFound(what) => write!(f, "no such {what}"),
            Error::Refused(code) => write!(f, "license refused: {code}"),
            Error::Store(why) => write!(f, "storage failed: {why}"),
            Error::Forbidden(why) | Error::Conflict(why) | Error::Config(why) => f.write_str(why),
        }
    }
}

impl core::error::Error for Error {}
