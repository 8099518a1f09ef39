//! `LicenceObject`: one licence's live state, in one SQLite-backed Durable Object per
//! `lid` — its seat terms, its revocation, its leases and its seat events.
//!
//! The object is a thin shell around [`tessera_engine::Pool`]: it loads the pool once
//! (then keeps it in memory), asks the engine, writes exactly the engine's
//! [`Changes`] with synchronous SQL (no `.await` between deciding and writing, so one
//! request's check-and-write commits as one), and sets its alarm. Two requests can never
//! both take the last seat: the decision and the write happen in one synchronous run.
//!
//! Tables: `meta` (`lid`, `terms`, `revoked`, `deny`, `seq`, `shipped` as JSON text),
//! `leases` (one JSON row per lease) and `events` (the seat event log, newest last).
//!
//! The event log is also an outbox: the alarm hands events over to the event store
//! (D1, [`events`](crate::events)) in order, in batches, about a second after they
//! happen, and only then marks them shipped (`shipped`, the last `seq` D1 took). Each
//! event's id there is `t:<lid>:<seq>`, written with `INSERT OR IGNORE`, so a hand-over
//! repeated after a lost answer or a restart stores nothing twice; a failed one is
//! retried with backoff and nothing unshipped is ever pruned.
//!
//! The alarm does two things: it expires sessions when their time comes (the seat frees
//! itself with no request to the licence), and it reports who holds what to the
//! [`VaultDirectory`](super::directory::VaultDirectory) after a change, retrying with
//! backoff until the directory has it (later expiries alone wait for the next ask for
//! the deny state, which reports too: see `Live::lazy_report_at`). Each report carries
//! `seq`, which grows with every change of holdings, so a late report never overwrites
//! a newer one. Every
//! request also expires what is due first (alarms are at least once, and local workerd
//! drops some).
//!
//! Before a checkout or heartbeat, the object makes sure its copy of the vault's deny
//! state (blocks, disconnected products) is at most
//! [`DENY_REFRESH_SECONDS`](super::directory::DENY_REFRESH_SECONDS) old, asking the
//! directory when it is not; the directory in turn pushes every change to the objects
//! that asked recently, so a block or disconnection applies at once where seats are in
//! use and before any other licence lends a seat.

use std::cell::RefCell;
use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use tessera_engine::api::{HeldLease, LicencePool, LicenceSeats, Page, SeatEventView};
use tessera_engine::{
    Changes, DenyCode, DenyState, Lease, Pool, PoolSnapshot, Revocation, SeatDenial, SeatEvent,
    SeatEventKind, SeatRequest, SeatTerms, Session,
};
use worker::{DurableObject, Env, Request, Response, SqlStorage, State, durable_object};

use super::directory::{self, DENY_REFRESH_SECONDS};
use super::sql::{int, rows, run, text};
use crate::error::ApiError;
use crate::platform;

/// The binding of the licence objects (see `wrangler.toml`).
pub(crate) const BINDING: &str = "LICENCES";

/// How soon after a change of who holds what the directory hears of it, in milliseconds.
const REPORT_DELAY_MS: u64 = 250;
/// The longest wait between two reports that failed, in seconds.
const MAX_REPORT_BACKOFF: u64 = 60;
/// How long past its freshness the last deny state serves while the directory cannot
/// be reached, and how often the directory is asked again meanwhile.
const DENY_GRACE_SECONDS: u64 = 300;
const DENY_RETRY_SECONDS: u64 = 5;
/// Seat events kept per licence (older ones are dropped by the alarm once shipped).
const EVENTS_KEPT: u64 = 50_000;
/// How soon after an event the alarm hands it to the event store, in milliseconds.
const SHIP_DELAY_MS: u64 = 1000;
/// Events per hand-over, and hand-overs per alarm.
const SHIP_BATCH: u64 = 500;
const SHIP_BATCHES_PER_ALARM: usize = 8;

/// A request to a licence object: which licence, and what to do.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Envelope {
    pub(crate) lid: String,
    pub(crate) call: LicenceCall,
}

/// What a licence object can be asked.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum LicenceCall {
    /// Set the seat terms (when the licence is issued).
    Open { terms: SeatTerms },
    /// Whether (and when, by whom) the licence was revoked.
    Revocation,
    /// Revoke the licence; answers the revocation that stands.
    Revoke { by: String },
    /// Take or refresh a seat. `terms` open a licence issued before seats existed;
    /// `refused` records a request whose licence token was refused.
    Checkout {
        terms: SeatTerms,
        product: String,
        user: String,
        host: String,
        lease_id: String,
        refused: Option<DenyCode>,
    },
    /// Extend a session.
    Heartbeat {
        lease: String,
        product: String,
        user: String,
        host: String,
    },
    /// Give a session back.
    Release {
        lease: String,
        product: String,
        user: String,
        host: String,
    },
    /// End one lease of `user` (an administrator's revocation).
    RevokeLease { lease: String, user: String },
    /// Apply the vault's deny state (from the directory).
    Apply { deny: DenyState },
    /// The live state, for the vault.
    State,
    /// The seat event log, newest first.
    Events {
        kind: Option<SeatEventKind>,
        before: Option<u64>,
        limit: u32,
    },
}

/// The answer to a checkout.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub(crate) enum CheckoutAnswer {
    Granted {
        lease: Lease,
        session: Session,
        created: bool,
        heartbeat_seconds: u32,
    },
    Denied {
        code: String,
    },
}

/// A lease and one host's session of it, after a heartbeat.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Beat {
    pub(crate) lease: Lease,
    pub(crate) session: Session,
    pub(crate) heartbeat_seconds: u32,
}

/// What applying a deny state did, and the holdings after it.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Applied {
    pub(crate) ended: u64,
    pub(crate) seq: u64,
    pub(crate) snapshot: PoolSnapshot,
}

/// The loaded state of the object.
struct Live {
    pool: Pool,
    /// Whether the terms are the licence's (false: stand-ins until it is opened).
    known: bool,
    /// Grows with every change of holdings; reports carry it.
    seq: u64,
    /// The last `seq` the directory acknowledged.
    reported: u64,
    /// The `seq` of the last change of who holds what (not expiries alone).
    membership: u64,
    /// When the directory last acknowledged a report (epoch ms).
    reported_at: u64,
    /// Failed reports in a row (for backoff).
    failures: u32,
    /// The deny state is fresh until then (Unix seconds).
    deny_fresh_until: u64,
    /// While the directory cannot be reached: do not ask again before then.
    deny_retry_at: u64,
    /// The alarm this object last set (epoch ms), if any is pending.
    alarm_at: Option<u64>,
    /// The `seq` of the last event logged.
    event_seq: u64,
    /// The `seq` of the last event the event store took.
    shipped: u64,
    /// Failed hand-overs in a row, and not to try again before then (epoch ms).
    ship_failures: u32,
    ship_retry_at: u64,
}

impl Live {
    /// When later expiries alone (heartbeats) are reported, if nothing reported them
    /// first (epoch ms): a lease's length after the last report. They move no seat, and
    /// the directory shows them only as each lease's `expires_at`. A licence in use
    /// reports anyway each time it asks for the deny state (every
    /// [`DENY_REFRESH_SECONDS`] under load, at every heartbeat when they are minutes
    /// apart), so the directory's copy is at worst as of the previous heartbeat, and a
    /// heartbeat costs the one directory no second call.
    fn lazy_report_at(&self) -> u64 {
        self.reported_at + u64::from(self.pool.terms().lease_seconds) * 1000
    }
}

/// One licence's live state.
#[durable_object(alarm)]
pub struct LicenceObject {
    state: State,
    env: Env,
    sql: SqlStorage,
    live: RefCell<Option<Live>>,
    /// The licence id, once known (to load the state again after a failed write).
    lid: RefCell<String>,
}

impl core::fmt::Debug for LicenceObject {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LicenceObject").finish_non_exhaustive()
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS leases (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, kind TEXT NOT NULL,
  lease TEXT, product TEXT NOT NULL, user TEXT NOT NULL, host TEXT NOT NULL, reason TEXT
);
CREATE INDEX IF NOT EXISTS events_by_kind ON events (kind, seq);
";

impl DurableObject for LicenceObject {
    fn new(state: State, env: Env) -> Self {
        let sql = state.storage().sql();
        if let Err(e) = sql.exec(SCHEMA, None) {
            worker::console_error!("licence object schema: {e}");
        }
        LicenceObject {
            state,
            env,
            sql,
            live: RefCell::new(None),
            lid: RefCell::new(String::new()),
        }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        super::serve(req, |envelope: Envelope| self.handle(envelope)).await
    }

    async fn alarm(&self) -> worker::Result<Response> {
        if let Err(e) = self.wake().await {
            worker::console_error!("licence alarm: {e:?}");
        }
        Response::ok("")
    }
}

#[derive(Deserialize)]
struct MetaRow {
    key: String,
    value: String,
}

#[derive(Deserialize)]
struct CountRow {
    n: u64,
}

#[derive(Deserialize)]
struct BodyRow {
    body: String,
}

#[derive(Deserialize)]
struct EventRow {
    seq: u64,
    at: u64,
    kind: String,
    lease: Option<String>,
    product: String,
    user: String,
    host: String,
    reason: Option<String>,
}

fn corrupt(what: &str, e: impl core::fmt::Display) -> ApiError {
    ApiError::Internal(format!("corrupt licence {what}: {e}"))
}

fn json<T: Serialize>(value: &T) -> Result<String, ApiError> {
    serde_json::to_string(value).map_err(|e| ApiError::Internal(e.to_string()))
}

impl LicenceObject {
    async fn handle(&self, envelope: Envelope) -> Result<serde_json::Value, ApiError> {
        let now = platform::now();
        self.load(&envelope.lid)?;
        match envelope.call {
            LicenceCall::Open { terms } => {
                self.set_terms(terms)?;
                // The vault counts a licence's seats from the moment it is issued.
                self.report().await?;
                to_value(&())
            }
            LicenceCall::Revocation => to_value(&self.with(|l| l.pool.revocation().cloned())?),
            LicenceCall::Revoke { by } => {
                self.change(|pool, ch| pool.revoke(&by, now, ch))?;
                self.report().await?;
                to_value(&self.with(|l| l.pool.revocation().cloned())?)
            }
            LicenceCall::Checkout {
                terms,
                product,
                user,
                host,
                lease_id,
                refused,
            } => {
                if !self.with(|l| l.known)? {
                    self.set_terms(terms)?;
                }
                let request = SeatRequest {
                    product: &product,
                    user: &user,
                    host: &host,
                };
                if let Some(code) = refused {
                    let denial = SeatDenial::Licence(code);
                    self.change(|pool, ch| pool.refuse(request, denial, now, ch))?;
                    return to_value(&CheckoutAnswer::Denied {
                        code: code.as_str().into(),
                    });
                }
                self.fresh_deny(now).await?;
                let out = self.change(|pool, ch| pool.checkout(request, &lease_id, now, ch))?;
                let heartbeat_seconds = self.with(|l| l.pool.terms().heartbeat_seconds())?;
                to_value(&match out {
                    Ok(c) => CheckoutAnswer::Granted {
                        lease: c.lease,
                        session: c.session,
                        created: c.created,
                        heartbeat_seconds,
                    },
                    Err(denial) => CheckoutAnswer::Denied {
                        code: denial.as_str().into(),
                    },
                })
            }
            LicenceCall::Heartbeat {
                lease,
                product,
                user,
                host,
            } => {
                self.fresh_deny(now).await?;
                let request = SeatRequest {
                    product: &product,
                    user: &user,
                    host: &host,
                };
                let beat = self.change(|pool, ch| pool.heartbeat(&lease, request, now, ch))?;
                let heartbeat_seconds = self.with(|l| l.pool.terms().heartbeat_seconds())?;
                to_value(&beat.map(|c| Beat {
                    lease: c.lease,
                    session: c.session,
                    heartbeat_seconds,
                }))
            }
            LicenceCall::Release {
                lease,
                product,
                user,
                host,
            } => {
                let request = SeatRequest {
                    product: &product,
                    user: &user,
                    host: &host,
                };
                self.change(|pool, ch| pool.release(&lease, request, now, ch))?;
                to_value(&())
            }
            LicenceCall::RevokeLease { lease, user } => {
                let ended = self.change(|pool, ch| pool.revoke_lease(&lease, &user, now, ch))?;
                if ended.is_some() {
                    self.report().await?;
                }
                to_value(&ended.is_some())
            }
            LicenceCall::Apply { deny } => {
                let mut ended = 0;
                self.change(|pool, ch| {
                    pool.apply_deny(deny, now, ch);
                    ended = ch
                        .events
                        .iter()
                        .filter(|e| e.kind == SeatEventKind::Revoked)
                        .count();
                })?;
                // The directory that pushed this knows this licence is in use: treat the
                // state as fresh, as after a pull.
                self.with_mut(|l| l.deny_fresh_until = now + DENY_REFRESH_SECONDS)?;
                let (seq, snapshot) = self.with(|l| (l.seq, l.pool.snapshot()))?;
                to_value(&Applied {
                    ended: ended as u64,
                    seq,
                    snapshot,
                })
            }
            LicenceCall::State => {
                self.change(|pool, ch| pool.sweep(now, ch))?;
                to_value(&self.with(|l| pool_view(&l.pool))?)
            }
            LicenceCall::Events {
                kind,
                before,
                limit,
            } => to_value(&self.events(kind, before, limit)?),
        }
    }

    /// Read the loaded state, loading it again first if a failed write dropped it
    /// (perhaps while this request awaited something).
    fn with<T>(&self, f: impl FnOnce(&Live) -> T) -> Result<T, ApiError> {
        self.reload()?;
        let live = self.live.borrow();
        live.as_ref()
            .map(f)
            .ok_or_else(|| ApiError::Internal("licence state not loaded".into()))
    }

    /// Change the loaded state (see [`with`](Self::with)).
    fn with_mut<T>(&self, f: impl FnOnce(&mut Live) -> T) -> Result<T, ApiError> {
        self.reload()?;
        let mut live = self.live.borrow_mut();
        live.as_mut()
            .map(f)
            .ok_or_else(|| ApiError::Internal("licence state not loaded".into()))
    }

    fn reload(&self) -> Result<(), ApiError> {
        if self.live.borrow().is_some() {
            return Ok(());
        }
        let lid = self.lid.borrow().clone();
        self.load(&lid)
    }

    /// Load the pool from SQL, once per object lifetime (or after a failed write).
    fn load(&self, lid: &str) -> Result<(), ApiError> {
        if self.live.borrow().is_some() {
            return Ok(());
        }
        let mut terms = None;
        let mut revoked = None;
        let mut deny = DenyState::default();
        let mut seq = 0;
        let mut shipped = 0;
        let mut stored_lid = None;
        for row in rows::<MetaRow>(&self.sql, "SELECT key, value FROM meta", vec![])? {
            match row.key.as_str() {
                "lid" => stored_lid = Some(row.value),
                "terms" => {
                    terms = Some(
                        serde_json::from_str::<SeatTerms>(&row.value)
                            .map_err(|e| corrupt("terms", e))?,
                    )
                }
                "revoked" => {
                    revoked = serde_json::from_str::<Option<Revocation>>(&row.value)
                        .map_err(|e| corrupt("revocation", e))?
                }
                "deny" => {
                    deny = serde_json::from_str(&row.value).map_err(|e| corrupt("deny state", e))?
                }
                "seq" => seq = row.value.parse().map_err(|e| corrupt("seq", e))?,
                "shipped" => shipped = row.value.parse().map_err(|e| corrupt("shipped", e))?,
                _ => {}
            }
        }
        match stored_lid {
            Some(stored) if stored != lid => {
                return Err(ApiError::Internal(format!(
                    "licence object {stored} asked as {lid}"
                )));
            }
            Some(_) => {}
            None => run(
                &self.sql,
                "INSERT INTO meta (key, value) VALUES ('lid', ?)",
                vec![text(lid)],
            )?,
        }
        let mut leases = Vec::new();
        for row in rows::<BodyRow>(&self.sql, "SELECT body FROM leases", vec![])? {
            leases.push(serde_json::from_str::<Lease>(&row.body).map_err(|e| corrupt("lease", e))?);
        }
        let event_seq = rows::<CountRow>(
            &self.sql,
            "SELECT COALESCE(MAX(seq), 0) AS n FROM events",
            vec![],
        )?
        .pop()
        .map_or(0, |r| r.n);
        let known = terms.is_some();
        let terms = terms.unwrap_or_else(|| SeatTerms::unknown(lid));
        *self.lid.borrow_mut() = lid.to_string();
        *self.live.borrow_mut() = Some(Live {
            pool: Pool::restore(terms, revoked, leases, deny),
            known,
            seq,
            reported: 0,
            membership: seq,
            reported_at: 0,
            failures: 0,
            deny_fresh_until: 0,
            deny_retry_at: 0,
            alarm_at: None,
            event_seq,
            shipped,
            ship_failures: 0,
            ship_retry_at: 0,
        });
        // Events logged before a restart and not yet handed over: the alarm takes them.
        if event_seq > shipped {
            self.schedule()?;
        }
        Ok(())
    }

    fn set_terms(&self, terms: SeatTerms) -> Result<(), ApiError> {
        run(
            &self.sql,
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('terms', ?)",
            vec![text(&json(&terms)?)],
        )?;
        self.with_mut(|l| {
            l.pool.set_terms(terms);
            l.known = true;
        })?;
        Ok(())
    }

    /// Run one engine operation and write what it changed, synchronously: no other
    /// request runs between the decision and the write. A failed write drops the
    /// in-memory pool: it is loaded again from what was stored before its next use.
    fn change<T>(&self, op: impl FnOnce(&mut Pool, &mut Changes) -> T) -> Result<T, ApiError> {
        let mut ch = Changes::default();
        let out = self.with_mut(|l| op(&mut l.pool, &mut ch))?;
        if ch.is_empty() {
            return Ok(out);
        }
        if let Err(e) = self.persist(&ch) {
            *self.live.borrow_mut() = None;
            return Err(e);
        }
        self.schedule()?;
        Ok(out)
    }

    fn persist(&self, ch: &Changes) -> Result<(), ApiError> {
        let guard = self.live.borrow();
        let Some(live) = guard.as_ref() else {
            return Ok(());
        };
        for id in &ch.saved {
            if let Some(lease) = live.pool.lease(id) {
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
        let mut event_seq = live.event_seq;
        for e in &ch.events {
            event_seq += 1;
            run(
                &self.sql,
                "INSERT INTO events (seq, at, kind, lease, product, user, host, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                vec![
                    int(event_seq),
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
            let revoked = json(&live.pool.revocation())?;
            run(
                &self.sql,
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('revoked', ?)",
                vec![text(&revoked)],
            )?;
        }
        if ch.deny {
            let deny = json(live.pool.deny())?;
            run(
                &self.sql,
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('deny', ?)",
                vec![text(&deny)],
            )?;
        }
        drop(guard);
        self.with_mut(|l| l.event_seq = event_seq)?;
        if ch.holdings_changed() {
            let membership = ch.membership_changed();
            let seq = self.with_mut(|l| {
                l.seq += 1;
                if membership {
                    l.membership = l.seq;
                }
                l.seq
            })?;
            run(
                &self.sql,
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('seq', ?)",
                vec![text(&seq.to_string())],
            )?;
        }
        Ok(())
    }

    /// When the alarm should next run: the earliest session expiry, or soon after an
    /// unreported change of who holds what (later for expiries alone).
    fn wake_at(&self, now_ms: u64, report_delay_ms: u64) -> Result<Option<u64>, ApiError> {
        self.with(|l| {
            let expiry = l.pool.next_expiry().map(|t| t.saturating_mul(1000));
            let report = if l.membership > l.reported {
                Some(now_ms + report_delay_ms)
            } else if l.seq > l.reported {
                Some(l.lazy_report_at().max(now_ms + report_delay_ms))
            } else {
                None
            };
            let ship =
                (l.event_seq > l.shipped).then(|| (now_ms + SHIP_DELAY_MS).max(l.ship_retry_at));
            [expiry, report, ship].into_iter().flatten().min()
        })
    }

    /// Make sure the alarm runs by [`wake_at`](Self::wake_at). Setting it is a storage
    /// operation; it is only done when the wanted time is earlier than the one set.
    fn schedule(&self) -> Result<(), ApiError> {
        let now_ms = worker::Date::now().as_millis();
        let Some(want) = self.wake_at(now_ms, REPORT_DELAY_MS)? else {
            return Ok(());
        };
        let set = self.with(|l| l.alarm_at)?;
        if set.is_some_and(|at| at <= want) {
            return Ok(());
        }
        self.with_mut(|l| l.alarm_at = Some(want))?;
        let storage = self.state.storage();
        // The alarm is set in the background: the answer does not wait for it, and a
        // request that fails to set it still has its seat (the next request, or the
        // directory's pull, will set it again).
        self.state.wait_until(async move {
            let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(want as f64));
            if let Err(e) = storage.set_alarm(worker::ScheduledTime::new(date)).await {
                worker::console_error!("licence alarm not set: {e}");
            }
        });
        Ok(())
    }

    /// The alarm: expire what is due, report to the directory, prune the log, and set
    /// the next alarm (never sooner than a second: local workerd drops an alarm set for
    /// "now" inside an alarm).
    async fn wake(&self) -> Result<(), ApiError> {
        let now = platform::now();
        let lid = self.stored_lid()?;
        self.load(&lid)?;
        self.with_mut(|l| l.alarm_at = None)?;
        self.change(|pool, ch| pool.sweep(now, ch))?;
        let now_ms = worker::Date::now().as_millis();
        let due = self.with(|l| {
            l.membership > l.reported || (l.seq > l.reported && now_ms >= l.lazy_report_at())
        })?;
        if due {
            self.report().await?;
        }
        if self.with(|l| l.event_seq > l.shipped && now_ms >= l.ship_retry_at)? {
            self.ship().await?;
        }
        // Only shipped events go, and the newest stay for the licence's own log.
        let shipped = self.with(|l| l.shipped)?;
        run(
            &self.sql,
            "DELETE FROM events WHERE seq <= ? AND seq <= (SELECT MAX(seq) FROM events) - ?",
            vec![int(shipped), int(EVENTS_KEPT)],
        )?;
        let backoff = backoff_ms(self.with(|l| l.failures)?);
        let now_ms = worker::Date::now().as_millis();
        if let Some(want) = self.wake_at(now_ms, backoff)? {
            let want = want.max(now_ms + 1000);
            self.with_mut(|l| l.alarm_at = Some(want))?;
            let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(want as f64));
            self.state
                .storage()
                .set_alarm(worker::ScheduledTime::new(date))
                .await?;
        }
        Ok(())
    }

    fn stored_lid(&self) -> Result<String, ApiError> {
        rows::<MetaRow>(
            &self.sql,
            "SELECT key, value FROM meta WHERE key = 'lid'",
            vec![],
        )?
        .pop()
        .map(|r| r.value)
        .ok_or_else(|| ApiError::Internal("an alarm for a licence object with no lid".into()))
    }

    /// Hand unshipped events over to the event store, oldest first, a batch at a time;
    /// each batch is marked shipped only once the store has it. On failure, the alarm
    /// tries again with backoff (1 s doubling to 60 s).
    async fn ship(&self) -> Result<(), ApiError> {
        let (lid, company) = self.with(|l| {
            let terms = l.pool.terms();
            (terms.lid.clone(), terms.company.clone())
        })?;
        for _ in 0..SHIP_BATCHES_PER_ALARM {
            let shipped = self.with(|l| l.shipped)?;
            let found: Vec<EventRow> = rows(
                &self.sql,
                "SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                vec![int(shipped), int(SHIP_BATCH)],
            )?;
            let Some(last) = found.last().map(|r| r.seq) else {
                return Ok(());
            };
            let batch = outbox_batch(&lid, &company, found);
            let written = match crate::events::Store::open(&self.env).await {
                Ok(store) => store.append(&batch).await,
                Err(e) => Err(e),
            };
            if let Err(e) = written {
                worker::console_warn!("seat events not handed over (will retry): {e:?}");
                return self.with_mut(|l| {
                    l.ship_failures = l.ship_failures.saturating_add(1);
                    l.ship_retry_at = worker::Date::now().as_millis() + backoff_ms(l.ship_failures);
                });
            }
            run(
                &self.sql,
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('shipped', ?)",
                vec![text(&last.to_string())],
            )?;
            self.with_mut(|l| {
                l.shipped = l.shipped.max(last);
                l.ship_failures = 0;
                l.ship_retry_at = 0;
            })?;
        }
        Ok(())
    }

    /// Report who holds what to the directory; on failure, the alarm retries.
    async fn report(&self) -> Result<(), ApiError> {
        let (seq, snapshot) = self.with(|l| (l.seq, l.pool.snapshot()))?;
        match directory::report(&self.env, seq, snapshot).await {
            Ok(()) => self.with_mut(|l| {
                l.reported = l.reported.max(seq);
                l.reported_at = worker::Date::now().as_millis();
                l.failures = 0;
            }),
            Err(e) => {
                worker::console_warn!("licence report to the directory failed: {e:?}");
                self.with_mut(|l| l.failures = l.failures.saturating_add(1))
            }
        }
    }

    /// Make sure the deny state is fresh: ask the directory when it is older than the
    /// refresh interval. The ask carries this licence's holdings, so it is a report too.
    ///
    /// If the directory cannot be reached, the last state serves for up to
    /// [`DENY_GRACE_SECONDS`] past its freshness (asking again every few seconds), so an
    /// outage of the one directory does not stop every app's heartbeat at once; after
    /// that, seats are refused until it answers.
    async fn fresh_deny(&self, now: u64) -> Result<(), ApiError> {
        let (fresh_until, retry_at) = self.with(|l| (l.deny_fresh_until, l.deny_retry_at))?;
        let fallback = match deny_freshness(now, fresh_until, retry_at) {
            Freshness::Use => return Ok(()),
            Freshness::Ask { fallback } => fallback,
        };
        let (seq, snapshot) = self.with(|l| (l.seq, l.pool.snapshot()))?;
        let answer = match directory::pull(&self.env, seq, snapshot).await {
            Ok(answer) => answer,
            Err(e) if fallback => {
                worker::console_warn!("deny state not refreshed, using the last one: {e:?}");
                self.with_mut(|l| l.deny_retry_at = now + DENY_RETRY_SECONDS)?;
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        self.change(|pool, ch| {
            pool.apply_deny(answer.deny, now, ch);
        })?;
        self.with_mut(|l| {
            l.deny_fresh_until = now + answer.fresh_for;
            l.reported = l.reported.max(seq);
            l.reported_at = worker::Date::now().as_millis();
        })?;
        Ok(())
    }

    fn events(
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
                event: SeatEvent {
                    at: r.at,
                    kind: SeatEventKind::parse(&r.kind).unwrap_or(SeatEventKind::Denied),
                    lease: r.lease,
                    product: r.product,
                    user: r.user,
                    host: r.host,
                    reason: r.reason,
                },
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

/// Whether to use the deny state held, or ask the directory (and whether the held one
/// may still serve if the directory does not answer).
#[derive(Debug, PartialEq, Eq)]
enum Freshness {
    Use,
    Ask { fallback: bool },
}

/// The deny state's freshness rule: fresh until `fresh_until`; past it, ask — but within
/// the grace, at most every [`DENY_RETRY_SECONDS`], and keep serving the held state if
/// the ask fails. Never-fetched (`fresh_until` 0) state has no grace.
fn deny_freshness(now: u64, fresh_until: u64, retry_at: u64) -> Freshness {
    let in_grace = fresh_until > 0 && now < fresh_until + DENY_GRACE_SECONDS;
    if now < fresh_until || (in_grace && now < retry_at) {
        Freshness::Use
    } else {
        Freshness::Ask { fallback: in_grace }
    }
}

fn to_value<T: Serialize>(value: &T) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(value).map_err(|e| ApiError::Internal(e.to_string()))
}

/// The vault's view of a pool.
pub(crate) fn pool_view(pool: &Pool) -> LicencePool {
    let terms = pool.terms();
    let snapshot = pool.snapshot();
    let leases = snapshot
        .holdings
        .into_iter()
        .map(|h| held(&terms.lid, &terms.company, h))
        .collect();
    LicencePool {
        lid: terms.lid.clone(),
        company: terms.company.clone(),
        revoked: pool.revocation().is_some(),
        seats: terms.seats,
        lease_seconds: terms.lease_seconds,
        ends_at: terms.ends_at(),
        products: terms
            .products
            .iter()
            .map(|p| {
                let allocated = u64::from(pool.allocated(p));
                LicenceSeats {
                    lid: terms.lid.clone(),
                    product: p.clone(),
                    company: terms.company.clone(),
                    seats: u64::from(terms.seats),
                    allocated,
                    free: u64::from(terms.seats).saturating_sub(allocated),
                    revoked: pool.revocation().is_some(),
                    ends_at: terms.ends_at(),
                }
            })
            .collect(),
        leases,
    }
}

/// A holding as the vault lists it.
pub(crate) fn held(lid: &str, company: &str, h: tessera_engine::Holding) -> HeldLease {
    HeldLease {
        host: h.hosts.last().cloned().unwrap_or_default(),
        lease: h.lease,
        lid: lid.to_string(),
        company: company.to_string(),
        product: h.product,
        user: h.user,
        hosts: h.hosts,
        since: h.since,
        expires_at: h.expires_at,
        overage: h.overage,
    }
}

/// The worker's handle on the licence objects.
pub(crate) struct Licences<'a> {
    env: &'a Env,
}

impl<'a> Licences<'a> {
    pub(crate) fn new(env: &'a Env) -> Licences<'a> {
        Licences { env }
    }

    /// Ask licence `lid`'s object.
    pub(crate) async fn ask<T: for<'de> Deserialize<'de>>(
        &self,
        lid: &str,
        call: LicenceCall,
    ) -> Result<T, ApiError> {
        let stub = self
            .env
            .durable_object(BINDING)?
            .id_from_name(lid)?
            .get_stub()?;
        super::call(
            stub,
            &Envelope {
                lid: lid.to_string(),
                call,
            },
        )
        .await
    }
}

/// How long an isolate trusts a "not revoked" answer, in seconds: the longest a
/// revocation made through another isolate can go unseen by `POST
/// /api/licenses/validate` here. The isolate that revokes sees it at once, a revoked
/// answer is kept for good (a revocation is final), and the seat routes always ask the
/// licence's object, so a revoked licence never takes or keeps a seat.
pub(crate) const REVOCATION_FRESH_SECONDS: u64 = 5;

/// Licences per isolate whose revocation state is remembered (then all are forgotten).
const REVOCATIONS_KEPT: usize = 10_000;

thread_local! {
    /// Licence id → (when asked, its revocation), per isolate.
    static REVOCATIONS: RefCell<HashMap<String, (u64, Option<Revocation>)>> =
        RefCell::new(HashMap::new());
}

/// Remember what licence `lid`'s object said at `now`. A revocation once seen stays: a
/// "not revoked" answer to a question asked before it (still in flight while this
/// isolate revoked) must not undo it.
fn remember_revocation(lid: &str, now: u64, revocation: Option<Revocation>) {
    REVOCATIONS.with_borrow_mut(|kept| {
        if revocation.is_none() && kept.get(lid).is_some_and(|(_, r)| r.is_some()) {
            return;
        }
        if kept.len() >= REVOCATIONS_KEPT {
            kept.clear();
        }
        kept.insert(lid.to_string(), (now, revocation));
    });
}

impl Licences<'_> {
    /// Licence `lid`'s revocation, as its object last said within
    /// [`REVOCATION_FRESH_SECONDS`] (a revocation itself, whenever it was seen): the
    /// hot path's check, one object call per licence every few seconds at most.
    pub(crate) async fn recent_revocation(
        &self,
        lid: &str,
    ) -> Result<Option<Revocation>, ApiError> {
        let now = platform::now();
        let known = REVOCATIONS.with_borrow(|kept| {
            kept.get(lid)
                .filter(|(at, r)| r.is_some() || now.saturating_sub(*at) < REVOCATION_FRESH_SECONDS)
                .map(|(_, r)| r.clone())
        });
        if let Some(revocation) = known {
            return Ok(revocation);
        }
        let revocation: Option<Revocation> = self.ask(lid, LicenceCall::Revocation).await?;
        remember_revocation(lid, now, revocation.clone());
        Ok(revocation)
    }
}

fn store_error(e: ApiError) -> tessera_engine::Error {
    tessera_engine::Error::Store(format!("licence object: {e:?}"))
}

impl tessera_engine::LiveState for Licences<'_> {
    async fn open(&self, terms: &SeatTerms) -> Result<(), tessera_engine::Error> {
        self.ask::<()>(
            &terms.lid,
            LicenceCall::Open {
                terms: terms.clone(),
            },
        )
        .await
        .map_err(store_error)
    }

    async fn revocation(&self, lid: &str) -> Result<Option<Revocation>, tessera_engine::Error> {
        self.ask(lid, LicenceCall::Revocation)
            .await
            .map_err(store_error)
    }

    async fn revoke(
        &self,
        lid: &str,
        by: &str,
        _now: u64,
    ) -> Result<Revocation, tessera_engine::Error> {
        let revocation = self
            .ask::<Option<Revocation>>(lid, LicenceCall::Revoke { by: by.to_string() })
            .await
            .map_err(store_error)?
            .ok_or_else(|| tessera_engine::Error::Store("revocation not recorded".into()))?;
        remember_revocation(lid, platform::now(), Some(revocation.clone()));
        Ok(revocation)
    }
}

/// How long to wait after `failures` failed attempts in a row, in milliseconds: one
/// second, doubling, at most [`MAX_REPORT_BACKOFF`] seconds.
fn backoff_ms(failures: u32) -> u64 {
    (1u64 << failures.min(6)).min(MAX_REPORT_BACKOFF) * 1000
}

/// The event store's rows for a licence's events: the events with their ids, the
/// seats they began (a grant) and the seats they ended (a release, expiry or
/// revocation of a lease).
fn outbox_batch(lid: &str, company: &str, found: Vec<EventRow>) -> crate::events::Batch {
    let mut batch = crate::events::Batch::default();
    for r in found {
        let id = format!("t:{lid}:{}", r.seq);
        if let Some(lease) = &r.lease {
            match SeatEventKind::parse(&r.kind) {
                Some(SeatEventKind::Granted) => batch.opened.push(tessera_engine::OpenSpan {
                    key: lease.clone(),
                    server: String::new(),
                    product: r.product.clone(),
                    user: r.user.clone(),
                    host: r.host.clone(),
                    start: r.at,
                }),
                Some(SeatEventKind::Released | SeatEventKind::Expired | SeatEventKind::Revoked) => {
                    batch.closed.push(tessera_engine::Close {
                        key: lease.clone(),
                        at: r.at,
                        by: id.clone(),
                    })
                }
                _ => {}
            }
        }
        batch.events.push(crate::events::StoredEvent {
            id,
            at: r.at,
            kind: r.kind,
            product: r.product,
            user: r.user,
            host: r.host,
            lid: Some(lid.to_string()),
            company: Some(company.to_string()),
            lease: r.lease,
            reason: r.reason,
            server: None,
        });
    }
    batch
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_late_not_revoked_answer_never_undoes_a_revocation() {
        let revoked = Revocation {
            at: 100,
            by: "admin".into(),
        };
        remember_revocation("L-race", 100, Some(revoked.clone()));
        // The answer to a question asked before the revocation arrives afterwards.
        remember_revocation("L-race", 101, None);
        let kept = REVOCATIONS.with_borrow(|k| k.get("L-race").cloned());
        assert_eq!(kept, Some((100, Some(revoked))));
        // A licence never revoked is remembered as such.
        remember_revocation("L-open", 100, None);
        assert_eq!(
            REVOCATIONS.with_borrow(|k| k.get("L-open").cloned()),
            Some((100, None))
        );
    }

    use super::*;

    #[test]
    fn the_deny_state_is_asked_for_when_stale_and_serves_a_grace_when_the_directory_is_down() {
        let t = 1_000_000;
        assert_eq!(
            deny_freshness(t, 0, 0),
            Freshness::Ask { fallback: false },
            "never fetched"
        );
        assert_eq!(deny_freshness(t - 1, t, 0), Freshness::Use, "fresh");
        assert_eq!(
            deny_freshness(t, t, 0),
            Freshness::Ask { fallback: true },
            "stale: ask"
        );
        // The directory did not answer at `t`: serve the held state, ask again in a while.
        let retry = t + DENY_RETRY_SECONDS;
        assert_eq!(deny_freshness(t + 1, t, retry), Freshness::Use);
        assert_eq!(
            deny_freshness(retry, t, retry),
            Freshness::Ask { fallback: true }
        );
        // Past the grace, a failed ask fails the request: seats are refused.
        let end = t + DENY_GRACE_SECONDS;
        assert_eq!(
            deny_freshness(end, t, end + 100),
            Freshness::Ask { fallback: false }
        );
    }
}
