//! The event store: seat events, the seats they imply ("spans"), and the audit log, in
//! one D1 database (binding `EVENTS`, see `wrangler.toml`).
//!
//! Why D1: reports scan and group events over weeks; that is SQL's job, and one
//! database read by every report beats fanning out to every license object. The
//! license objects stay the authority on live seats and keep their own event log as an
//! *outbox*: each event has an id (`t:<lid>:<seq>`), and an object hands its events
//! over in order, marking them shipped only after D1 has them. Writing is
//! `INSERT OR IGNORE` by id, so a batch sent twice (a retry after a lost answer, a
//! restart mid-hand-over) stores each event once, and nothing is marked shipped that D1
//! did not take.
//!
//! Tables (created on first use by each isolate, [`Store::open`]):
//! - `events`: every event — Tessera's own (`server` null) and agents' (`server` set).
//! - `spans`: one row per seat held, `started` to `ended` (null while held), keyed by
//!   the lease id (Tessera) or the checkout's key (agents). `end_event` names the event
//!   that ended it, unique, so a retried checkin ends nothing twice. Reports read spans:
//!   the seats held during a range, whatever the history's length.
//! - `audit`: one row per change made through the API.
//! - `meta`: one-time migrations done (the audit actions' spelling).
//!
//! A batch is written with three statements in one D1 batch (one transaction), each
//! taking the whole batch as one JSON array parameter (`json_each`), so a batch of
//! a thousand events is three statements, not three thousand.

use std::cell::Cell;

use serde::Serialize;
use tessera_engine::api::{AuditEntry, DenialCount, DenialRow};
use tessera_engine::{Close, OpenSpan, Span};
use wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, Env};

use crate::error::ApiError;

/// The binding of the event database.
pub(crate) const BINDING: &str = "EVENTS";

const SCHEMA: [&str; 11] = [
    "CREATE TABLE IF NOT EXISTS events (
      id TEXT PRIMARY KEY, at INTEGER NOT NULL, kind TEXT NOT NULL,
      product TEXT NOT NULL, user TEXT NOT NULL, host TEXT NOT NULL,
      lid TEXT, company TEXT, lease TEXT, reason TEXT, server TEXT,
      count INTEGER NOT NULL DEFAULT 1)",
    "CREATE INDEX IF NOT EXISTS events_kind_at ON events (kind, at)",
    "CREATE INDEX IF NOT EXISTS events_at ON events (at)",
    "CREATE TABLE IF NOT EXISTS spans (
      key TEXT PRIMARY KEY, product TEXT NOT NULL, user TEXT NOT NULL, host TEXT NOT NULL,
      server TEXT, started INTEGER NOT NULL, ended INTEGER, end_event TEXT UNIQUE)",
    "CREATE INDEX IF NOT EXISTS spans_ended ON spans (ended)",
    "CREATE INDEX IF NOT EXISTS spans_open ON spans (server, product, user, host) WHERE ended IS NULL",
    "CREATE TABLE IF NOT EXISTS audit (
      seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL,
      token_id TEXT, via TEXT NOT NULL, action TEXT NOT NULL, object TEXT, address TEXT)",
    "CREATE INDEX IF NOT EXISTS audit_at ON audit (at)",
    // Audit actions were first spelled `licence.issue` / `licence.revoke`: renamed once
    // to the one spelling (`license.*`), then marked done so no later isolate scans.
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "UPDATE audit SET action = 'license.' || substr(action, 9)
      WHERE NOT EXISTS (SELECT 1 FROM meta WHERE key = 'spelling') AND action LIKE 'licence.%'",
    "INSERT OR IGNORE INTO meta (key, value) VALUES ('spelling', 'license')",
];

thread_local! {
    /// Whether this isolate has made sure the tables exist.
    static READY: Cell<bool> = const { Cell::new(false) };
}

/// One event as stored.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct StoredEvent {
    pub(crate) id: String,
    pub(crate) at: u64,
    pub(crate) kind: String,
    pub(crate) product: String,
    pub(crate) user: String,
    pub(crate) host: String,
    pub(crate) lid: Option<String>,
    pub(crate) company: Option<String>,
    pub(crate) lease: Option<String>,
    pub(crate) reason: Option<String>,
    pub(crate) server: Option<String>,
    /// Requests it stands for (denials alike are gathered).
    pub(crate) count: u32,
}

/// What one hand-over writes: events, the spans they open and the spans they close.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    pub(crate) events: Vec<StoredEvent>,
    pub(crate) opened: Vec<OpenSpan>,
    pub(crate) closed: Vec<Close>,
}

#[derive(Serialize)]
struct CloseRow<'a> {
    key: &'a str,
    at: u64,
    by: &'a str,
}

/// Filters of the denials report.
#[derive(Debug, Default)]
pub(crate) struct DenialFilter<'a> {
    pub(crate) from: u64,
    pub(crate) to: u64,
    pub(crate) product: Option<&'a str>,
    pub(crate) user: Option<&'a str>,
    pub(crate) reason: Option<&'a str>,
}

/// Filters of the audit log.
#[derive(Debug, Default)]
pub(crate) struct AuditFilter<'a> {
    pub(crate) from: u64,
    pub(crate) to: u64,
    pub(crate) actor: Option<&'a str>,
    pub(crate) action: Option<&'a str>,
}

fn d1_error(what: &str) -> impl Fn(worker::Error) -> ApiError + '_ {
    move |e| ApiError::Internal(format!("event store, {what}: {e}"))
}

fn json_arg<T: Serialize>(value: &T) -> Result<JsValue, ApiError> {
    serde_json::to_string(value)
        .map(|s| JsValue::from_str(&s))
        .map_err(|e| ApiError::Internal(e.to_string()))
}

fn opt(value: Option<&str>) -> JsValue {
    value.map_or(JsValue::NULL, JsValue::from_str)
}

fn num(n: u64) -> JsValue {
    JsValue::from_f64(n as f64)
}

/// How long the event store keeps events and the seats they ended, in days, unless the
/// `EVENT_RETENTION_DAYS` var says otherwise: reports reach back at most this far.
pub(crate) const DEFAULT_RETENTION_DAYS: u64 = 400;
/// Rows past their retention deleted with each hand-over (so pruning a large backlog
/// is spread over many small statements).
const PRUNE_BATCH: u64 = 1000;
/// The most seats held (spans) one usage report reads: a range holding more is refused
/// with a 400 that asks for a narrower range or a filter. The `REPORT_MAX_SPANS` var
/// lowers it (tests); it is never raised past this.
pub(crate) const MAX_REPORT_SPANS: u64 = 60_000;
/// Spans read per query. Each query answers one JSON text, and D1 refuses a value over
/// 2,000,000 bytes; a span is at most ~1 KB of JSON (a 200-byte product and a 256-byte
/// user, escaped), so a page stays under 1.5 MB. With [`MAX_REPORT_SPANS`] a report
/// makes at most 40 queries: within the free plan's 50 per invocation.
const SPANS_PER_QUERY: u64 = 1_500;
/// The most (product, reason) pairs the denials report counts over its range: a range
/// with more is refused with a 400 (filter by product). Their counts are one JSON text.
pub(crate) const MAX_DENIAL_GROUPS: u64 = 1_000;

/// The event store of this deployment.
pub(crate) struct Store {
    db: D1Database,
    retention_days: u64,
}

impl Store {
    /// Open the store, creating its tables on this isolate's first use.
    pub(crate) async fn open(env: &Env) -> Result<Store, ApiError> {
        let db = env.d1(BINDING).map_err(d1_error("binding"))?;
        let retention_days = env
            .var("EVENT_RETENTION_DAYS")
            .ok()
            .and_then(|v| v.to_string().parse().ok())
            .filter(|d| *d > 0)
            .unwrap_or(DEFAULT_RETENTION_DAYS);
        let store = Store { db, retention_days };
        if !READY.get() {
            let statements = SCHEMA.iter().map(|s| store.db.prepare(*s)).collect();
            store
                .db
                .batch(statements)
                .await
                .map_err(d1_error("schema"))?;
            // `count` came after the first version: added to an older table once.
            let columns: Vec<String> = store
                .json_rows(
                    "schema",
                    "SELECT json_group_array(name) FROM pragma_table_info('events')",
                    &[],
                )
                .await?;
            if !columns.iter().any(|c| c == "count") {
                store
                    .db
                    .prepare("ALTER TABLE events ADD COLUMN count INTEGER NOT NULL DEFAULT 1")
                    .run()
                    .await
                    .map_err(d1_error("schema"))?;
            }
            READY.set(true);
        }
        Ok(store)
    }

    fn bind(&self, query: &str, args: &[JsValue]) -> Result<D1PreparedStatement, ApiError> {
        self.db.prepare(query).bind(args).map_err(d1_error("bind"))
    }

    /// Run a query whose one row's one column is a JSON text (`json_group_array(...)`),
    /// and parse it: one string crosses into wasm, not one JS object per row.
    async fn json_rows<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        query: &str,
        args: &[JsValue],
    ) -> Result<T, ApiError> {
        let rows = self
            .bind(query, args)?
            .raw_js_value()
            .await
            .map_err(d1_error(what))?;
        let text = rows
            .first()
            .map(|row| {
                js_sys::Reflect::get_u32(row, 0)
                    .ok()
                    .and_then(|v| v.as_string())
            })
            .unwrap_or_default()
            .unwrap_or_else(|| "[]".into());
        serde_json::from_str(&text)
            .map_err(|e| ApiError::Internal(format!("event store, {what}: {e}")))
    }

    /// Write a batch in one transaction. Answers how many of its events were new (the
    /// rest were stored before: a retry).
    pub(crate) async fn append(&self, batch: &Batch) -> Result<u64, ApiError> {
        if batch.events.is_empty() {
            return Ok(0);
        }
        let closed: Vec<CloseRow<'_>> = batch
            .closed
            .iter()
            .map(|c| CloseRow {
                key: &c.key,
                at: c.at,
                by: &c.by,
            })
            .collect();
        let mut statements = vec![self.bind(
            "INSERT OR IGNORE INTO events (id, at, kind, product, user, host, lid, company, lease, reason, server, count)
             SELECT json_extract(value, '$.id'), json_extract(value, '$.at'), json_extract(value, '$.kind'),
                    json_extract(value, '$.product'), json_extract(value, '$.user'), json_extract(value, '$.host'),
                    json_extract(value, '$.lid'), json_extract(value, '$.company'), json_extract(value, '$.lease'),
                    json_extract(value, '$.reason'), json_extract(value, '$.server'),
                    coalesce(json_extract(value, '$.count'), 1)
             FROM json_each(?1)",
            &[json_arg(&batch.events)?],
        )?];
        if !batch.opened.is_empty() {
            statements.push(self.bind(
                "INSERT OR IGNORE INTO spans (key, product, user, host, server, started)
                 SELECT json_extract(value, '$.key'), json_extract(value, '$.product'), json_extract(value, '$.user'),
                        json_extract(value, '$.host'), nullif(json_extract(value, '$.server'), ''),
                        json_extract(value, '$.start')
                 FROM json_each(?1)",
                &[json_arg(&batch.opened)?],
            )?);
        }
        if !closed.is_empty() {
            statements.push(self.bind(
                "UPDATE spans SET ended = j.at, end_event = j.by
                 FROM (SELECT json_extract(value, '$.key') AS key, json_extract(value, '$.at') AS at,
                              json_extract(value, '$.by') AS by FROM json_each(?1)) AS j
                 WHERE spans.key = j.key AND spans.ended IS NULL
                   AND NOT EXISTS (SELECT 1 FROM spans AS s WHERE s.end_event = j.by)",
                &[json_arg(&closed)?],
            )?);
        }
        // Retention: a bounded share of what is past it goes with each hand-over.
        let cutoff = crate::platform::now().saturating_sub(self.retention_days * 86_400);
        statements.push(self.bind(
            "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE at < ?1 LIMIT ?2)",
            &[num(cutoff), num(PRUNE_BATCH)],
        )?);
        statements.push(self.bind(
            "DELETE FROM spans WHERE key IN (SELECT key FROM spans WHERE ended < ?1 LIMIT ?2)",
            &[num(cutoff), num(PRUNE_BATCH)],
        )?);
        let results = self
            .db
            .batch(statements)
            .await
            .map_err(d1_error("append"))?;
        let inserted = results
            .first()
            .and_then(|r| r.meta().ok().flatten())
            .and_then(|m| m.changes)
            .unwrap_or(0);
        Ok(inserted as u64)
    }

    /// Which of `ids` are stored already.
    pub(crate) async fn known(&self, ids: &[String]) -> Result<Vec<String>, ApiError> {
        self.json_rows(
            "known",
            "SELECT json_group_array(id) FROM events WHERE id IN (SELECT value FROM json_each(?1))",
            &[json_arg(&ids)?],
        )
        .await
    }

    /// The open spans of agents' servers that a batch's checkins may end.
    pub(crate) async fn open_spans(
        &self,
        keys: &[(String, String, String, String)],
    ) -> Result<Vec<OpenSpan>, ApiError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        self.json_rows(
                "open spans",
                "SELECT json_group_array(json_object('key', s.key, 'server', s.server,
                        'product', s.product, 'user', s.user, 'host', s.host, 'start', s.started))
                 FROM json_each(?1) AS j JOIN spans AS s
                   ON s.server = json_extract(j.value, '$[0]') AND s.product = json_extract(j.value, '$[1]')
                  AND s.user = json_extract(j.value, '$[2]') AND s.host = json_extract(j.value, '$[3]')
                 WHERE s.ended IS NULL",
                &[json_arg(&keys)?],
            )
            .await
    }

    /// The seats held at some time in `[from, to)`, optionally of one product or user,
    /// read [`SPANS_PER_QUERY`] at a time (each page one JSON text, one value to cross
    /// into wasm, not one per row); more than `max` is a 400.
    pub(crate) async fn spans(
        &self,
        from: u64,
        to: u64,
        product: Option<&str>,
        user: Option<&str>,
        max: u64,
    ) -> Result<Vec<Span>, ApiError> {
        let mut spans = Vec::new();
        let mut after = 0u64;
        loop {
            let rows: Vec<(u64, String, String, u64, Option<u64>)> = self
                .json_rows(
                    "spans",
                    "SELECT json_group_array(json_array(rowid, product, user, started, ended)) FROM (
                       SELECT rowid, product, user, started, ended FROM spans
                       WHERE (ended > ?1 OR ended IS NULL) AND started < ?2
                         AND (?3 IS NULL OR product = ?3) AND (?4 IS NULL OR user = ?4)
                         AND rowid > ?5
                       ORDER BY rowid LIMIT ?6)",
                    &[
                        num(from),
                        num(to),
                        opt(product),
                        opt(user),
                        num(after),
                        num(SPANS_PER_QUERY),
                    ],
                )
                .await?;
            let full = rows.len() as u64 == SPANS_PER_QUERY;
            for (rowid, product, user, start, end) in rows {
                after = rowid;
                spans.push(Span {
                    product,
                    user,
                    start,
                    end,
                });
            }
            if spans.len() as u64 > max {
                return Err(ApiError::InvalidField {
                    field: "from".into(),
                    message: format!(
                        "the range holds more than {max} seats held: narrow it, or filter by product or user"
                    ),
                });
            }
            if !full {
                return Ok(spans);
            }
        }
    }

    /// Denials in `[from, to)`, newest first, after `cursor` (`<at>:<id>`), at most
    /// `limit`; and the counts per product and reason over the whole range.
    pub(crate) async fn denials(
        &self,
        f: &DenialFilter<'_>,
        cursor: Option<(u64, &str)>,
        limit: u32,
    ) -> Result<(Vec<DenialRow>, Vec<DenialCount>), ApiError> {
        const WHERE: &str = "kind = 'denied' AND at >= ?1 AND at < ?2
            AND (?3 IS NULL OR product = ?3) AND (?4 IS NULL OR user = ?4)
            AND (?5 IS NULL OR coalesce(reason, '') = ?5)";
        let args = [
            num(f.from),
            num(f.to),
            opt(f.product),
            opt(f.user),
            opt(f.reason),
        ];
        let (c_at, c_id) = cursor.unwrap_or((u64::MAX / 2, ""));
        let mut page_args = args.to_vec();
        page_args.extend([num(c_at), JsValue::from_str(c_id), num(u64::from(limit))]);
        let page = format!(
            "SELECT json_group_array(json_object('id', id, 'at', at, 'product', product,
                    'user', user, 'host', host, 'lid', lid, 'company', company,
                    'reason', reason, 'server', server, 'count', count)) FROM (
               SELECT id, at, product, user, host, lid, company, coalesce(reason, '') AS reason, server,
                      count
               FROM events WHERE {WHERE} AND (at < ?6 OR (at = ?6 AND ?7 <> '' AND id < ?7))
               ORDER BY at DESC, id DESC LIMIT ?8)"
        );
        let counts = format!(
            "SELECT json_group_array(json_object('product', product, 'reason', reason, 'count', n)) FROM (
               SELECT product, coalesce(reason, '') AS reason, sum(count) AS n
               FROM events WHERE {WHERE} GROUP BY product, coalesce(reason, '')
               ORDER BY product, reason LIMIT {})",
            MAX_DENIAL_GROUPS + 1
        );
        let (rows, counts): (Vec<DenialRow>, Vec<DenialCount>) = futures_util::future::try_join(
            self.json_rows("denials", &page, &page_args),
            self.json_rows("denial counts", &counts, &args),
        )
        .await?;
        if counts.len() as u64 > MAX_DENIAL_GROUPS {
            return Err(ApiError::InvalidField {
                field: "from".into(),
                message: format!(
                    "the range holds denials of more than {MAX_DENIAL_GROUPS} (product, reason) \
                     pairs: narrow it, or filter by product"
                ),
            });
        }
        Ok((rows, counts))
    }

    /// Record one change made through the API.
    pub(crate) async fn audit(&self, entry: &AuditEntry) -> Result<(), ApiError> {
        self.bind(
            "INSERT INTO audit (at, actor, token_id, via, action, object, address) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            &[
                num(entry.at),
                JsValue::from_str(&entry.actor),
                opt(entry.token_id.as_deref()),
                JsValue::from_str(&entry.via),
                JsValue::from_str(&entry.action),
                opt(entry.object.as_deref()),
                opt(entry.address.as_deref()),
            ],
        )?
        .run()
        .await
        .map_err(d1_error("audit"))?;
        Ok(())
    }

    /// Audit entries in `[from, to)`, newest first, before `cursor` (an entry's `seq`).
    pub(crate) async fn audit_log(
        &self,
        f: &AuditFilter<'_>,
        cursor: Option<u64>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>, ApiError> {
        self.json_rows(
            "audit log",
            "SELECT json_group_array(json_object('seq', seq, 'at', at, 'actor', actor,
                    'token_id', token_id, 'via', via, 'action', action, 'object', object,
                    'address', address)) FROM (
               SELECT * FROM audit
               WHERE at >= ?1 AND at < ?2 AND (?3 IS NULL OR actor = ?3) AND (?4 IS NULL OR action = ?4)
                 AND seq < ?5
               ORDER BY seq DESC LIMIT ?6)",
            &[
                num(f.from),
                num(f.to),
                opt(f.actor),
                opt(f.action),
                num(cursor.unwrap_or(i64::MAX as u64)),
                num(u64::from(limit)),
            ],
        )
        .await
    }
}
