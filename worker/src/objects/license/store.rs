//! A license object's SQL: its tables, loading its state, writing exactly what the
//! engine changed, and reading its event log (the outbox and the vault's pages).
//!
//! Tables: `meta` (`lid`, `terms`, `revoked`, `deny`, `seq`, `membership`, `reported`,
//! `shipped`, `activations`,
//! `denials` as JSON text), `leases` (one JSON row per lease), `machines` (one JSON row
//! per activated installation), `proofs` (the DPoP proofs' `jti`s, until they could no
//! longer be accepted) and `events` (the seat event log, newest last).
//! Every function here is synchronous: called with no `.await` between them, the object's
//! check-and-write commits as one.

use std::cell::Cell;

use serde::Deserialize;
use tessera_engine::api::{MachineView, Page, SeatEventView};
use tessera_engine::{Changes, Machine, Pool, PoolState, ProofError, SeatEvent, SeatEventKind};
use worker::SqlStorage;

use super::protocol::machine_view;
use crate::error::ApiError;
use crate::objects::shell::sql::{count, int, rows, run, text};
use crate::objects::shell::{add_column, create_schema, json, parse};
use crate::proof::Seen;

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
CREATE INDEX IF NOT EXISTS events_by_lease ON events (lease, seq);
CREATE TABLE IF NOT EXISTS machines (installation TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS proofs (jti TEXT PRIMARY KEY, until INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS proofs_until ON proofs (until);
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
    #[serde(default)]
    installation: String,
    #[serde(default = "one")]
    count: u32,
}

fn one() -> u32 {
    1
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
            installation: self.installation,
            reason: self.reason,
            count: self.count,
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
            installation: "key-a".into(),
            count: 1,
        }
    }
}

/// What was stored of a license: everything [`Pool::restore`] and the schedule need.
pub(super) struct Loaded {
    pub(super) pool: PoolState,
    pub(super) seq: u64,
    /// The `seq` of the last change of who holds what (not a later expiry alone).
    pub(super) membership: u64,
    /// The last `seq` the roll-up acknowledged, and when (epoch ms).
    pub(super) reported: (u64, u64),
    pub(super) shipped: u64,
    pub(super) event_seq: u64,
}

/// A license object's storage.
pub(super) struct Store {
    sql: SqlStorage,
    /// When proofs past their time are next swept out (Unix seconds).
    next_proof_sweep: Cell<u64>,
}

impl Store {
    pub(super) fn open(sql: SqlStorage) -> Store {
        create_schema(&sql, SCHEMA, "license object");
        // Columns the event log gained after its first version.
        add_column(&sql, "events", "installation", "TEXT NOT NULL DEFAULT ''");
        add_column(&sql, "events", "count", "INTEGER NOT NULL DEFAULT 1");
        Store {
            sql,
            next_proof_sweep: Cell::new(0),
        }
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
            pool: PoolState::default(),
            seq: 0,
            membership: 0,
            reported: (0, 0),
            shipped: 0,
            event_seq: 0,
        };
        let mut stored_lid = None;
        for row in rows::<MetaRow>(&self.sql, "SELECT key, value FROM meta", vec![])? {
            let value = row.value.as_str();
            match row.key.as_str() {
                "lid" => stored_lid = Some(row.value),
                "terms" => loaded.pool.terms = Some(parse("license terms", value)?),
                "revoked" => loaded.pool.revoked = parse("license revocation", value)?,
                "deny" => loaded.pool.deny = parse("license deny state", value)?,
                "activations" => loaded.pool.activations = parse("license activations", value)?,
                "denials" => loaded.pool.denial_log = parse("license denial log", value)?,
                "seq" => loaded.seq = parse("license seq", value)?,
                "shipped" => loaded.shipped = parse("license shipped", value)?,
                "reported" => loaded.reported = parse("license reported", value)?,
                "membership" => loaded.membership = parse("license membership", value)?,
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
            loaded.pool.leases.push(parse("lease", &row.body)?);
        }
        for row in rows::<BodyRow>(&self.sql, "SELECT body FROM machines", vec![])? {
            loaded.pool.machines.push(parse("machine", &row.body)?);
        }
        loaded.event_seq = count(
            &self.sql,
            "SELECT COALESCE(MAX(seq), 0) AS n FROM events",
            vec![],
        )?;
        Ok(loaded)
    }

    pub(super) fn set_terms(&self, terms: &tessera_engine::SeatTerms) -> Result<(), ApiError> {
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
        for id in &ch.machines_saved {
            if let Some(machine) = pool.machine(id) {
                run(
                    &self.sql,
                    "INSERT OR REPLACE INTO machines (installation, body) VALUES (?, ?)",
                    vec![text(id), text(&json(machine)?)],
                )?;
            }
        }
        for id in &ch.machines_removed {
            run(
                &self.sql,
                "DELETE FROM machines WHERE installation = ?",
                vec![text(id)],
            )?;
        }
        if ch.activations {
            self.set_meta("activations", &json(&pool.activations())?)?;
        }
        if ch.denials {
            self.set_meta("denials", &json(pool.denial_log())?)?;
        }
        for (e, seq) in ch.events.iter().zip(event_seq + 1..) {
            run(
                &self.sql,
                "INSERT INTO events (seq, at, kind, lease, product, user, host, reason, installation, count)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                vec![
                    int(seq),
                    int(e.at),
                    text(e.kind.as_str()),
                    e.lease.as_deref().map(text).into(),
                    text(&e.product),
                    text(&e.user),
                    text(&e.host),
                    e.reason.as_deref().map(text).into(),
                    text(&e.installation),
                    int(u64::from(e.count)),
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
            // Who holds what changed (not an expiry alone): a reload reports it soon.
            if ch.membership_changed() {
                self.set_meta("membership", &seq.to_string())?;
            }
        }
        Ok(())
    }

    /// Remember DPoP proof `seen` until it could no longer be accepted; a proof seen
    /// before is a replay, refused with nothing changed. Proofs past their time go — and
    /// one past its time by this object's clock is refused too, as the worker that
    /// accepted it may run a second ahead: a forgotten `jti` is never taken.
    pub(super) fn remember_proof(&self, seen: &Seen, now: u64) -> Result<(), ApiError> {
        if seen.until < now {
            return Err(ApiError::InvalidProof(ProofError::Stale));
        }
        // One statement: the insert answers a row only if the jti is new.
        let fresh = count(
            &self.sql,
            "INSERT INTO proofs (jti, until) VALUES (?, ?) \
             ON CONFLICT (jti) DO NOTHING RETURNING 1 AS n",
            vec![text(&seen.jti), int(seen.until)],
        )?;
        if fresh == 0 {
            return Err(ApiError::InvalidProof(ProofError::Replayed));
        }
        // Those past their time go, at most once a minute (the sweep is not on the
        // replay check's path: an old row only refuses a proof already refused as stale).
        if now >= self.next_proof_sweep.get() {
            self.next_proof_sweep.set(now + 60);
            run(
                &self.sql,
                "DELETE FROM proofs WHERE until < ?",
                vec![int(now)],
            )?;
        }
        Ok(())
    }

    /// Why `installation`'s session of lease `lease` ended, as its last event says.
    pub(super) fn end_reason(
        &self,
        lease: &str,
        installation: &str,
    ) -> Result<Option<String>, ApiError> {
        #[derive(Deserialize)]
        struct Reason {
            reason: Option<String>,
        }
        Ok(rows::<Reason>(
            &self.sql,
            "SELECT reason FROM events WHERE lease = ? AND installation = ?
               AND kind IN ('revoked', 'refreshed', 'expired', 'released')
             ORDER BY seq DESC LIMIT 1",
            vec![text(lease), text(installation)],
        )?
        .pop()
        .and_then(|r| r.reason))
    }

    /// A page of machines, oldest activation first, after machine `after`.
    pub(super) fn machines(
        &self,
        pool: &Pool,
        after: Option<&str>,
        limit: u32,
    ) -> Page<MachineView> {
        let limit = limit.clamp(1, 1000) as usize;
        let all: Vec<&Machine> = pool.machines();
        let start = after
            .and_then(|id| all.iter().position(|m| m.id == id).map(|i| i + 1))
            .unwrap_or(0);
        let lid = &pool.terms().lid;
        let items: Vec<MachineView> = all
            .iter()
            .skip(start)
            .take(limit)
            .map(|m| machine_view(lid, m))
            .collect();
        let next_cursor = (start + limit < all.len())
            .then(|| items.last().map(|m| m.id.clone()))
            .flatten();
        Page { items, next_cursor }
    }

    /// Up to `limit` events after `shipped`, oldest first: the next hand-over.
    pub(super) fn unshipped(&self, shipped: u64, limit: u64) -> Result<Vec<EventRow>, ApiError> {
        rows(
            &self.sql,
            "SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
            vec![int(shipped), int(limit)],
        )
    }

    /// The roll-up acknowledged the holdings as of `seq` at `at` (epoch ms).
    pub(super) fn mark_reported(&self, reported: (u64, u64)) -> Result<(), ApiError> {
        self.set_meta("reported", &json(&reported)?)
    }

    /// Bench builds only: one small write (see `LicenseCall::BenchWrite`).
    #[cfg(feature = "bench")]
    pub(super) fn bench_write(&self, now: u64) -> Result<(), ApiError> {
        self.set_meta("bench_write", &now.to_string())
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
