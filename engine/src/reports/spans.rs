//! The spans events open and close: an agent's batch ([`agent_spans`]) and Tessera's
//! own seat events ([`license_span_edge`]), so the event store keeps one row per seat
//! held whoever reported it.

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::Error;
use crate::seats::{MAX_HOST_BYTES, MAX_PRODUCT_BYTES, MAX_USER_BYTES, SeatEventKind, field};

/// The most events in one agent batch.
pub const MAX_AGENT_BATCH: usize = 1000;
/// Longest agent event id and server name, in bytes.
pub const MAX_AGENT_ID_BYTES: usize = 128;
/// Longest reason, in bytes.
pub const MAX_REASON_BYTES: usize = 200;
/// How far in the future an agent's clock may be, in seconds.
pub const AGENT_CLOCK_SKEW: u64 = 300;
/// The earliest time an agent may report (2000-01-01).
pub const AGENT_EARLIEST: u64 = 946_684_800;

/// What an outside license server's event says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AgentEventType {
    /// A seat was taken (stored as `granted`).
    Checkout,
    /// A seat was given back (stored as `released`).
    Checkin,
    /// A request was refused (stored as `denied`).
    Denial,
}

/// One event an agent reports from a license server that is not Tessera (FlexNet,
/// RLM, a JetBrains server, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentEvent {
    /// The agent's id for the event, unique per `server`: a retried event with the
    /// same id counts once.
    pub id: String,
    /// What happened.
    #[cfg_attr(feature = "serde", serde(rename = "type"))]
    pub kind: AgentEventType,
    /// When (Unix seconds).
    pub time: u64,
    /// The license server it happened on.
    pub server: String,
    /// The product (feature).
    pub product: String,
    /// The user.
    pub user: String,
    /// The host ("" if none).
    #[cfg_attr(feature = "serde", serde(default))]
    pub host: String,
    /// Why, for a denial.
    #[cfg_attr(feature = "serde", serde(default))]
    pub reason: Option<String>,
}

impl AgentEvent {
    /// Check the event's fields; `now` bounds its time (a little clock skew allowed).
    pub fn check(&self, now: u64) -> Result<(), Error> {
        field("id", &self.id, 1, MAX_AGENT_ID_BYTES)?;
        field("server", &self.server, 1, MAX_AGENT_ID_BYTES)?;
        field("product", &self.product, 1, MAX_PRODUCT_BYTES)?;
        field("user", &self.user, 1, MAX_USER_BYTES)?;
        field("host", &self.host, 0, MAX_HOST_BYTES)?;
        if let Some(reason) = &self.reason {
            field("reason", reason, 1, MAX_REASON_BYTES)?;
        }
        if self.time < AGENT_EARLIEST || self.time > now + AGENT_CLOCK_SKEW {
            return Err(Error::invalid(
                "time",
                "must be Unix seconds between 2000-01-01 and now",
            ));
        }
        Ok(())
    }

    /// The event's key in the store: unique per server and id (`a:<length of
    /// server>:<server>:<id>`, so no two pairs give the same key).
    pub fn key(&self) -> String {
        alloc::format!("a:{}:{}:{}", self.server.len(), self.server, self.id)
    }
}

/// A seat an agent's server holds, still open in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct OpenSpan {
    /// The span's key (its checkout's [`AgentEvent::key`]).
    pub key: String,
    /// The server.
    pub server: String,
    /// The product.
    pub product: String,
    /// The user.
    pub user: String,
    /// The host.
    pub host: String,
    /// When it was taken.
    pub start: u64,
}

/// A span an agent's batch ends: the checkin `by` ended span `key` at `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Close {
    /// The span.
    pub key: String,
    /// When.
    pub at: u64,
    /// The checkin's key (a retried checkin closes nothing twice).
    pub by: String,
}

/// Which spans a batch of agent events opens and which it closes, given the spans its
/// servers hold open: events in time order; a checkout opens a span; a checkin ends the
/// earliest open span of the same server, product, user and host that began at or
/// before it (a checkin with none ends nothing).
pub fn agent_spans(open: &[OpenSpan], events: &[AgentEvent]) -> (Vec<OpenSpan>, Vec<Close>) {
    let mut order: Vec<&AgentEvent> = events.iter().collect();
    order.sort_by_key(|e| (e.time, e.kind != AgentEventType::Checkout));
    let mut live: Vec<OpenSpan> = open.to_vec();
    live.sort_by_key(|s| s.start);
    let mut opened = Vec::new();
    let mut closes = Vec::new();
    for e in order {
        match e.kind {
            AgentEventType::Checkout => {
                let span = OpenSpan {
                    key: e.key(),
                    server: e.server.clone(),
                    product: e.product.clone(),
                    user: e.user.clone(),
                    host: e.host.clone(),
                    start: e.time,
                };
                let at = live.partition_point(|s| s.start <= e.time);
                live.insert(at, span.clone());
                opened.push(span);
            }
            AgentEventType::Checkin => {
                let found = live.iter().position(|s| {
                    s.server == e.server
                        && s.product == e.product
                        && s.user == e.user
                        && s.host == e.host
                        && s.start <= e.time
                });
                if let Some(i) = found {
                    let span = live.remove(i);
                    closes.push(Close {
                        key: span.key,
                        at: e.time,
                        by: e.key(),
                    });
                }
            }
            AgentEventType::Denial => {}
        }
    }
    (opened, closes)
}

/// How one of Tessera's own seat events moves the seats held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpanEdge {
    /// The event took a seat: a span opens, keyed by its lease.
    Opens,
    /// The event gave one back (released, expired, revoked): the lease's span ends.
    Closes,
}

/// Whether a seat event of `kind` opens or closes its lease's span. A refresh (a host
/// joined or left the lease) and a denial hold no seat of their own.
pub fn license_span_edge(kind: SeatEventKind) -> Option<SpanEdge> {
    match kind {
        SeatEventKind::Granted => Some(SpanEdge::Opens),
        SeatEventKind::Released | SeatEventKind::Expired | SeatEventKind::Revoked => {
            Some(SpanEdge::Closes)
        }
        _ => None,
    }
}
