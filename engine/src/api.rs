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
    /// For `INVALID_FIELD`: the request field at fault.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// For `INVALID_LICENSE`: the engine's denial code (`EXPIRED`, `BAD_SIGNATURE`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `GET /api/me`: who the caller is and what they may do.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Me {
    /// The user's name (`"vault"` for the vault access token).
    pub username: String,
    /// The user's role; none for the vault access token.
    pub role: Option<crate::Role>,
    /// How the caller signed in: `password`, `api_token`, `agent_token` or `vault_token`.
    pub via: String,
    /// The token's id, when signed in with an API or Agent token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
    /// Every `resource:action` the caller may use, role and credential considered.
    pub permissions: alloc::vec::Vec<String>,
}

/// The body of seed 004's `POST /api/licensing/token`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplyToken {
    /// The licence token to apply.
    pub token: String,
}

/// The body of seed 004's `DELETE /api/licensing/token`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RemoveToken {
    /// Root URL of the instance whose licence is removed. Required.
    #[serde(default)]
    pub instance: Option<String>,
}

/// What the API shows about a key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeyInfo {
    /// The key id tokens carry.
    pub kid: String,
    /// `"secret"` for the root key, `"rotated"` for keys made by rotation.
    pub source: String,
    /// When the key was made (0 for the root key, which predates the deployment).
    pub created_at: u64,
    /// Whether this key signs new tokens.
    pub active: bool,
}
