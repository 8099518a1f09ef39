//! The JSON shapes the worker sends and the console reads, defined once so the two
//! can never disagree. Only types live here: no handlers, no I/O.

mod machines;
pub use machines::{ActivateAnswer, ActivateRequest, MachineView};

use alloc::string::String;
use alloc::vec::Vec;

/// `GET /api/health`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// `"ok"` when every check passed; `"degraded"` when a stored signing key did not
    /// open or no key can sign (see `GET /api/keys`).
    pub status: String,
    /// Always `"tessera"`.
    pub service: String,
    /// The worker's crate version.
    pub version: String,
    /// Whether a KV read round-tripped.
    pub kv: bool,
    /// Whether a key can sign new tokens.
    pub signing: bool,
    /// Stored signing keys that did not open under the deployment secret (skipped).
    pub unopened_keys: u32,
    /// The worker's clock in Unix seconds: the `now` it judges licenses by.
    pub time: u64,
}

/// The body of every API error: `{"error": {"code", "message"}}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorEnvelope {
    /// The error.
    pub error: ErrorBody,
}

/// A stable SCREAMING code and a message for people.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    /// The user's name (`"vault"` for the vault access token).
    pub username: String,
    /// The user's role; none for the vault access token.
    pub role: Option<crate::roles::Role>,
    /// How the caller signed in: `password`, `api_token`, `agent_token` or `vault_token`.
    pub via: String,
    /// The token's id, when signed in with an API or Agent token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
    /// Every `resource:action` the caller may use, role and credential considered.
    pub permissions: Vec<String>,
}

/// The body of seed 004's `POST /api/licensing/token`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApplyToken {
    /// The license token to apply.
    pub token: String,
}

/// The body of seed 004's `DELETE /api/licensing/token`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RemoveToken {
    /// Root URL of the instance whose license is removed. Required.
    #[serde(default)]
    pub instance: Option<String>,
}

/// What the API shows about a key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyInfo {
    /// The key id tokens carry.
    pub kid: String,
    /// `"secret"` for the root key, `"rotated"` for keys made by rotation.
    pub source: String,
    /// When the key was made (0 for the root key, which predates the deployment).
    pub created_at: u64,
    /// When it starts (or started) to sign; it is published from its creation.
    pub activates_at: u64,
    /// Whether this key signs new tokens now.
    pub active: bool,
}

// --- The app-facing seat endpoints ----------------------------------------------------

/// `POST /api/licenses/validate`: online validation of a license token.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ValidateRequest {
    /// The license token.
    pub token: String,
    /// A product the license must cover.
    #[serde(default)]
    pub product: Option<String>,
    /// The instance (root URL) it must be for.
    #[serde(default)]
    pub instance: Option<String>,
}

/// The answer to `POST /api/licenses/validate`: the npm validator's shape, with
/// revocation known.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ValidateAnswer {
    /// Whether the license is valid now.
    pub valid: bool,
    /// Why not, when not valid.
    pub code: Option<crate::decision::DenyCode>,
    /// The claims, whenever the signature verified.
    pub claims: Option<crate::claims::LicenseClaims>,
    /// What to act on soon (valid licenses only).
    pub warnings: Vec<crate::decision::Warning>,
}

/// `POST /api/seats/checkout`: take (or refresh) a seat.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckoutRequest {
    /// The license token the app holds.
    pub license: String,
    /// The product wanted.
    pub product: String,
    /// Who wants it: a username or e-mail address, compared in its one identity form
    /// (`Bob`, `"bob "` and `ｂｏｂ` are one user).
    pub user: String,
    /// A label for the machine asking, shown in the vault (optional). The machine itself
    /// is the key its DPoP proof is signed with.
    #[serde(default)]
    pub host: String,
}

/// A body with nothing in it (or `{}`): heartbeat and release present their lease
/// token as `Authorization: DPoP <token>`, not in the body.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Empty {}

/// A lease as an app sees it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LeaseView {
    /// The lease id (the lease token's `jti`).
    pub id: String,
    /// The license it is a seat of.
    pub lid: String,
    /// The product.
    pub product: String,
    /// The user.
    pub user: String,
    /// This installation's host label.
    pub host: String,
    /// This installation: the thumbprint of its key (the lease token's `cnf.jkt`).
    pub installation: String,
    /// The lease token's generation: present this token at the next heartbeat; every
    /// older one stops working.
    pub generation: u64,
    /// When the lease began.
    pub since: u64,
    /// When it ends unless heartbeated.
    pub expires_at: u64,
    /// Heartbeat at least this often.
    pub heartbeat_seconds: u32,
    /// Granted beyond the license's seats (billed).
    pub overage: bool,
}

/// The answer to checkout and heartbeat: the lease and a lease token for it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LeaseAnswer {
    /// The lease.
    pub lease: LeaseView,
    /// An EdDSA JWT (`typ` `lease+jwt`) the npm validator checks offline until it expires.
    pub token: String,
}

// --- The license vault (seeds 001/002) -------------------------------------------------

/// Free and allocated seats of one product, over every license that covers it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProductSeats {
    /// The product.
    pub product: String,
    /// Seats over every license in force that covers it.
    pub seats: u64,
    /// Leases now, overage included.
    pub allocated: u64,
    /// Seats not allocated.
    pub free: u64,
    /// Leases granted beyond the seats (usage billing).
    pub overage: u64,
    /// Licenses in force that cover it.
    pub licenses: u64,
    /// False once disconnected from the vault.
    pub connected: bool,
}

/// One license's seats of one product.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LicenseSeats {
    /// The license id.
    pub lid: String,
    /// The product.
    pub product: String,
    /// The customer.
    pub company: String,
    /// Its seats of the product.
    pub seats: u64,
    /// Leases now.
    pub allocated: u64,
    /// Seats not allocated.
    pub free: u64,
    /// Revoked licenses lend nothing.
    pub revoked: bool,
    /// When it stops lending seats.
    pub ends_at: u64,
    /// Installations one user may hold it from at once (0: any number).
    #[serde(default)]
    pub max_sessions: u32,
}

/// A lease as the vault lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HeldLease {
    /// The lease id.
    pub lease: String,
    /// The license.
    pub lid: String,
    /// The customer.
    pub company: String,
    /// The product.
    pub product: String,
    /// The user.
    pub user: String,
    /// The most recent host ("" if none).
    pub host: String,
    /// Every installation's host label.
    pub hosts: Vec<String>,
    /// Every installation holding it (key thumbprints).
    #[serde(default)]
    pub installations: Vec<String>,
    /// When it was granted.
    pub since: u64,
    /// When it ends unless heartbeated.
    pub expires_at: u64,
    /// Granted beyond the seats.
    pub overage: bool,
}

/// A user holding at least one seat, or blocked.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActiveUser {
    /// The user.
    pub user: String,
    /// Leases held now.
    pub leases: u64,
    /// The products held.
    pub products: Vec<String>,
    /// Whether blocked from new seats.
    pub blocked: bool,
}

/// A blocked user.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BlockView {
    /// The user.
    pub user: String,
    /// Since when.
    pub at: u64,
    /// Blocked by.
    pub by: String,
}

/// A disconnected product.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DisconnectedView {
    /// The product.
    pub product: String,
    /// Since when.
    pub at: u64,
    /// Disconnected by.
    pub by: String,
}

/// The vault directory at work: the deny state's version, how far its publication and
/// its job have got, and the calls it served since it started.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DirectoryStatus {
    /// The deny state's version (grows with every block, unblock, disconnect, connect
    /// and "revoke all").
    pub deny_version: u64,
    /// The version published to KV, which licenses holding no seats read.
    pub published_version: u64,
    /// Licenses holding seats not yet told the version their roll-up shard holds (the
    /// shards' jobs' backlog).
    pub behind: u64,
    /// The roll-up's shards (objects keeping who holds what, each with its part of the
    /// job).
    #[serde(default)]
    pub shards: u64,
    /// Shards not yet told the current version (the directory's job tells them again).
    #[serde(default)]
    pub shards_behind: u64,
    /// Calls the directory and its shards served, by kind (`report`, `products`, …),
    /// since `since`.
    pub calls: alloc::collections::BTreeMap<String, u64>,
    /// When it began counting (its first call), Unix seconds.
    pub since: u64,
}

/// What a vault change reached: licenses told, leases it ended.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VaultChange {
    /// Leases ended by this change.
    pub ended: u64,
    /// Licenses that applied it now.
    pub licenses: u64,
    /// Licenses, and roll-up shards (each with its licenses), that could not be reached
    /// now: the jobs retry them, and each license reads the published state at the
    /// latest once its copy is `DENY_HELD_SECONDS` (300 s) old.
    pub unreachable: u64,
    /// Licenses holding seats not told yet: the directory's job tells them next, in
    /// the background, within the same bound.
    #[serde(default)]
    pub pending: u64,
}

impl VaultChange {
    /// Add what another part of the change (a roll-up shard) reached.
    pub fn add(&mut self, other: &VaultChange) {
        self.ended += other.ended;
        self.licenses += other.licenses;
        self.unreachable += other.unreachable;
        self.pending += other.pending;
    }
}

/// One license's live seat state.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LicensePool {
    /// The license id.
    pub lid: String,
    /// The customer.
    pub company: String,
    /// Whether revoked.
    pub revoked: bool,
    /// Seats per product.
    pub seats: u32,
    /// Session lifetime without a heartbeat, seconds.
    pub lease_seconds: u32,
    /// When it stops lending seats.
    pub ends_at: u64,
    /// Per product: seats in use.
    pub products: Vec<LicenseSeats>,
    /// Every lease now.
    pub leases: Vec<HeldLease>,
    /// Installations one user may hold a product from at once (0: any number).
    pub max_sessions: u32,
    /// Machines it may be activated on (0: not node-locked).
    pub max_machines: u32,
    /// Activations per rolling day (0: no limit).
    pub activations_per_day: u32,
    /// Machines it is activated on now.
    pub machines: u64,
    /// Denials not written to the log today (over the daily cap), only counted.
    pub denials_suppressed_today: u32,
}

/// A seat event as the API lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SeatEventView {
    /// Its position in the license's log (increasing).
    pub seq: u64,
    /// The event.
    #[serde(flatten)]
    pub event: crate::seats::SeatEvent,
}

/// A page of a list, and the cursor for the next one (none on the last page).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Page<T> {
    /// This page's items.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page.
    pub next_cursor: Option<String>,
}

/// One denial, as the denials report lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DenialRow {
    /// The event's id (`t:<lid>:<seq>` for Tessera's own, `a:...` for an agent's).
    pub id: String,
    /// When (Unix seconds).
    pub at: u64,
    /// The product asked for.
    pub product: String,
    /// Who asked.
    pub user: String,
    /// From which host ("" if none).
    pub host: String,
    /// The license (Tessera's own denials).
    pub lid: Option<String>,
    /// The license's company (Tessera's own denials).
    pub company: Option<String>,
    /// Why: a seat denial code (`NO_SEAT_AVAILABLE`, `USER_BLOCKED`, ...), a license's
    /// code (`EXPIRED`, `REVOKED`, ...), or an agent's reason ("" if it gave none).
    pub reason: String,
    /// The outside license server an agent reported it from; none for Tessera's own.
    pub server: Option<String>,
    /// How many refused requests it stands for (denials alike within a minute are one
    /// event; see the denial log).
    #[serde(default = "one")]
    pub count: u32,
}

fn one() -> u32 {
    1
}

/// How many denials one product had for one reason.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DenialCount {
    /// The product.
    pub product: String,
    /// The reason.
    pub reason: String,
    /// How many, over the whole range.
    pub count: u64,
}

/// `GET /api/vault/reports/denials`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DenialsReport {
    /// The range's start (Unix seconds).
    pub from: u64,
    /// The range's end (exclusive).
    pub to: u64,
    /// Counts per product and reason over the whole range (every page carries them).
    pub counts: Vec<DenialCount>,
    /// Denials, newest first: this page.
    pub items: Vec<DenialRow>,
    /// Pass as `cursor` for the next page.
    pub next_cursor: Option<String>,
}

/// One change made through the API, as the audit log keeps it. Never a secret: the
/// object is an id or a name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    /// Its position in the log (increasing).
    #[serde(default)]
    pub seq: u64,
    /// When (Unix seconds).
    pub at: u64,
    /// Who: the user's name (`vault` for the vault access token).
    pub actor: String,
    /// The API or Agent token that acted, if one did.
    pub token_id: Option<String>,
    /// How the actor signed in: `password`, `session`, `token` or `vault`.
    pub via: String,
    /// What, e.g. `license.issue`, `token.update`, `seats.block` (README lists them).
    pub action: String,
    /// Which object: a license id, a username, a token id, a product, ...
    pub object: Option<String>,
    /// The client's address, as Cloudflare reported it.
    pub address: Option<String>,
}

/// `POST /api/agent/events`: a batch from an agent.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentBatch {
    /// Up to 1,000 events.
    pub events: Vec<crate::reports::AgentEvent>,
}

/// The answer to an agent's batch: every event is now stored, once.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentBatchAnswer {
    /// Events stored by this request.
    pub accepted: u64,
    /// Events stored before (a retry): counted once.
    pub duplicates: u64,
}
