//! A license object's SQL: its tables, loading its state, writing exactly what the
//! engine changed, and reading its event log (the outbox and the vault's pages).
//!
//! Tables: `meta` (`lid`, `terms`, `revoked`, `deny`, `seq`, `shipped` as JSON text),
//! `leases` (one JSON row per lease) and `events` (the seat event log, newest last).
//! Every function here is synchronous: called with no `.await` between them, the object's
//! check-and-write commits as one.

use serde::Deserialize;
use tessera_engine::api::{Page, SeatEventView};
use tessera_engine::{
    Changes, DenyState, Lease, Pool, Revocation, SeatEvent, SeatEventKind, SeatTerms,
};
use worker::SqlStorage;

use crate::error::ApiError;
use crate::objects::shell::sql::{count, int, rows, run, text};
use crate::objects::shell::{create_schema, json, parse};

/// Seat events kept per license (older ones are dropped by the alarm once shipped).
const EVENTS_KEPT: u64 = 50_000;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS leases (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, kind TEXT NOT NULL,
  lease TEXT, product TEXT NOT NULL, user TEXT NOT NULL, host TEXT NOT NULL, reason TEXT
);
CREATE INDEX IF NOT EXISTS events_by_kind ON events (kind, seq);
";

/// One stored event, with its `seq`.
#[derive(Deserialize)]
pub(super) struct EventRow {
    pub(super) seq: u64,
    at: u64,
    kind: String,
    lease: Option<String>,
    product: String,
    user: String,
    host: String,
    reason: Option<String>,
}

impl EventRow {
    /// The event as the engine models it (a kind this version does not know reads as
    /// a denial, the one kind that holds no seat).
    pub(super) fn event(self) -> SeatEvent {
        SeatEvent {
            at: self.at,
            kind: SeatEventKind::parse(&self.kind).unwrap_or(SeatEventKind::Denied),
            lease: self.lease,
            product: self.product,
            user: self.user,
            host: self.host,
            reason: self.reason,
        }
    }
}

#[cfg(test)]
impl EventRow {
    /// A row as the log would hold it, for the shell's tests.
    pub(super) fn for_test(seq: u64, kind: &str, lease: Option<&str>) -> EventRow {
        EventRow {
            seq,
            at: 1_800_000_000 + seq,
            kind: kind.to_string(),
            lease: lease.map(String::from),
            product: "ide".into(),
            user: "ann".into(),
            host: "ann-laptop".into(),
            reason: None,
        }
    }
}

/// What was stored of a license: everything [`Pool::restore`] and the schedule need.
pub(super) struct Loaded {
    pub(super) terms: Option<SeatTerms>,
    pub(super) revoked: Option<Revocation>,
    pub(super) deny: DenyState,
    pub(super) leases: Vec<Lease>,
    pub(super) seq: u64,
    pub(super) shipped: u64,
    pub(super) event_seq: u64,
}

/// A license object's storage.
pub(super) struct Store {
    sql: SqlStorage,
}

impl Store {
    pub(super) fn open(sql: SqlStorage) -> Store {
        create_schema(&sql, SCHEMA, "license object");
        Store { sql }
    }

    fn set_meta(&self, key: &str, value: &str) -> Result<(), ApiError> {
        run(
            &self.sql,
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
            vec![text(key), text(value)],
        )
    }

    /// The license id this object was first asked as, if any.
    pub(super) fn lid(&self) -> Result<Option<String>, ApiError> {
        #[derive(Deserialize)]
        struct Value {
            value: String,
        }
        Ok(rows::<Value>(
            &self.sql,
            "SELECT value FROM meta WHERE key = 'lid'",
            vec![],
        )?
        .pop()
        .map(|r| r.value))
    }

    /// Load license `lid`'s state; the first load names the object. An object asked
    /// as another license than it holds is refused (it would mix two licenses' seats).
    pub(super) fn load(&self, lid: &str) -> Result<Loaded, ApiError> {
        #[derive(Deserialize)]
        struct MetaRow {
            key: String,
            value: String,
        }
        #[derive(Deserialize)]
        struct BodyRow {
            body: String,
        }
        let mut loaded = Loaded {
            terms: None,
            revoked: None,
            deny: DenyState::default(),
            leases: Vec::new(),
            seq: 0,
            shipped: 0,
            event_seq: 0,
        };
        let mut stored_lid = None;
        for row in rows::<MetaRow>(&self.sql, "SELECT key, value FROM meta", vec![])? {
            let value = row.value.as_str();
            match row.key.as_str() {
                "lid" => stored_lid = Some(row.value),
                "terms" => loaded.terms = Some(parse("license terms", value)?),
                "revoked" => loaded.revoked = parse("license revocation", value)?,
                "deny" => loaded.deny = parse("license deny state", value)?,
                "seq" => loaded.seq = parse("license seq", value)?,
                "shipped" => loaded.shipped = parse("license shipped", value)?,
                _ => {}
            }
        }
        match stored_lid {
            Some(stored) if stored != lid => {
                return Err(ApiError::Internal(format!(
                    "license object {stored} asked as {lid}"
                )));
            }
            Some(_) => {}
            None => run(
                &self.sql,
                "INSERT INTO meta (key, value) VALUES ('lid', ?)",
                vec![text(lid)],
            )?,
        }
        for row in rows::<BodyRow>(&self.sql, "SELECT body FROM leases", vec![])? {
            loaded.leases.push(parse("lease", &row.body)?);
        }
        loaded.event_seq = count(
            &self.sql,
            "SELECT COALESCE(MAX(seq), 0) AS n FROM events",
            vec![],
        )?;
        Ok(loaded)
    }

    pub(super) fn set_terms(&self, terms: &SeatTerms) -> Result<(), ApiError> {
        self.set_meta("terms", &json(terms)?)
    }

    /// Write what one engine operation changed: leases saved and removed, events
    /// appended from `event_seq + 1`, the revocation and the deny state when they
    /// changed, and the holdings' `seq` when it moved.
    pub(super) fn persist(
        &self,
        pool: &Pool,
        ch: &Changes,
        event_seq: u64,
        seq: Option<u64>,
    ) -> Result<(), ApiError> {
        for id in &ch.saved {
            if let Some(lease) = pool.lease(id) {
                run(
                    &self.sql,
                    "INSERT OR REPLACE INTO leases (id, body) VALUES (?, ?)",
                    vec![text(id), text(&json(lease)?)],
                )?;
            }
        }
        for id in &ch.removed {
            run(&self.sql, "DELETE FROM leases WHERE id = ?", vec![text(id)])?;
        }
        for (e, seq) in ch.events.iter().zip(event_seq + 1..) {
            run(
                &self.sql,
                "INSERT INTO events (seq, at, kind, lease, product, user, host, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                vec![
                    int(seq),
                    int(e.at),
                    text(e.kind.as_str()),
                    e.lease.as_deref().map(text).into(),
                    text(&e.product),
                    text(&e.user),
                    text(&e.host),
                    e.reason.as_deref().map(text).into(),
                ],
            )?;
        }
        if ch.revoked {
            self.set_meta("revoked", &json(&pool.revocation())?)?;
        }
        if ch.deny {
            self.set_meta("deny", &json(pool.deny())?)?;
        }
        if let Some(seq) = seq {
            self.set_meta("seq", &seq.to_string())?;
        }
        Ok(())
    }

    /// Up to `limit` events after `shipped`, oldest first: the next hand-over.
    pub(super) fn unshipped(&self, shipped: u64, limit: u64) -> Result<Vec<EventRow>, ApiError> {
        rows(
            &self.sql,
            "SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
            vec![int(shipped), int(limit)],
        )
    }

    /// The event store took every event up to `last`.
    pub(super) fn mark_shipped(&self, last: u64) -> Result<(), ApiError> {
        self.set_meta("shipped", &last.to_string())
    }

    /// Drop shipped events beyond the newest [`EVENTS_KEPT`]: nothing unshipped goes.
    pub(super) fn prune(&self, shipped: u64) -> Result<(), ApiError> {
        run(
            &self.sql,
            "DELETE FROM events WHERE seq <= ? AND seq <= (SELECT MAX(seq) FROM events) - ?",
            vec![int(shipped), int(EVENTS_KEPT)],
        )
    }

    /// A page of the event log, newest first, before `before` (a `seq`).
    pub(super) fn events(
        &self,
        kind: Option<SeatEventKind>,
        before: Option<u64>,
        limit: u32,
    ) -> Result<Page<SeatEventView>, ApiError> {
        let limit = u64::from(limit.clamp(1, 1000));
        let before = before.unwrap_or(i64::MAX as u64);
        let found: Vec<EventRow> = match kind {
            Some(kind) => rows(
                &self.sql,
                "SELECT * FROM events WHERE kind = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
                vec![text(kind.as_str()), int(before), int(limit + 1)],
            )?,
            None => rows(
                &self.sql,
                "SELECT * FROM events WHERE seq < ? ORDER BY seq DESC LIMIT ?",
                vec![int(before), int(limit + 1)],
            )?,
        };
        let more = found.len() as u64 > limit;
        let items: Vec<SeatEventView> = found
            .into_iter()
            .take(limit as usize)
            .map(|r| SeatEventView {
                seq: r.seq,
                event: r.event(),
            })
            .collect();
        let next_cursor = if more {
            items.last().map(|e| e.seq.to_string())
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }
}
