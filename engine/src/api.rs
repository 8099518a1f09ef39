//! The JSON shapes the worker sends and the console reads, defined once so the two
//! can never disagree. Only types live here: no handlers, no I/O.

use alloc::string::String;

/// `GET /api/health`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Health {
    /// `"ok"` when every check passed.
    pub status: String,
    /// Always `"tessera"`.
    pub service: String,
    /// The worker's crate version.
    pub version: String,
    /// Whether a KV read round-tripped.
    pub kv: bool,
    /// The worker's clock in Unix seconds: the `now` it judges licences by.
    pub time: u64,
}

/// The body of every API error: `{"error": {"code", "message"}}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ErrorEnvelope {
    /// The error.
    pub error: ErrorBody,
}

/// A stable SCREAMING code and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ErrorBody {
    /// Stable: clients match on it.
    pub code: String,
    /// For people; may change.
    pub message: String,
}
