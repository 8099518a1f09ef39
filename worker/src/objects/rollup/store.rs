//! A roll-up shard's SQL: who holds what in its licenses, which deny version each
//! holds, and its copy of the deny state.
//!
//! Tables: `licenses` (one row per license: terms, revoked, the last `seq`, the deny
//! version it holds, when a failed push is tried again), `coverage` (license × product),
//! `holdings` (one row per lease), `deny` (the newest deny state the directory
//! delivered), `meta` (call counts). Every function is synchronous: the shell's
//! check-and-write runs as one. What the vault lists that is the deny state's (blocked,
//! disconnected) is merged in by the reader (`tessera_engine::vault::merge_*`).

use std::collections::BTreeSet;

use serde::Deserialize;
use tessera_engine::api::{
    ActiveUser, DirectoryStatus, HeldLease, LicenseSeats, Page, ProductSeats,
};
use tessera_engine::vault::{free_seats, page_limit, report_is_current};
use tessera_engine::{Holding, PoolSnapshot};
use worker::{SqlStorage, SqlStorageValue};

mod delivery;

use super::protocol::{decode_cursor, encode_cursor};
use crate::error::ApiError;
use crate::objects::license::protocol::held;
use crate::objects::shell::sql::{int, rows, run, text};
use crate::objects::shell::{calls, create_schema, json, parse};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS licenses (
  lid TEXT PRIMARY KEY, company TEXT NOT NULL, seats INTEGER NOT NULL, ends_at INTEGER NOT NULL,
  revoked INTEGER NOT NULL, seq INTEGER NOT NULL, max_sessions INTEGER NOT NULL DEFAULT 0,
  known_version INTEGER NOT NULL DEFAULT 0, push_after INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS coverage (product TEXT NOT NULL, lid TEXT NOT NULL, PRIMARY KEY (product, lid));
CREATE TABLE IF NOT EXISTS holdings (
  lease TEXT PRIMARY KEY, lid TEXT NOT NULL, product TEXT NOT NULL, user TEXT NOT NULL,
  hosts TEXT NOT NULL, installations TEXT NOT NULL DEFAULT '[]', since INTEGER NOT NULL,
  expires_at INTEGER NOT NULL, overage INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS holdings_by_user ON holdings (user);
CREATE INDEX IF NOT EXISTS holdings_by_lid ON holdings (lid);
CREATE INDEX IF NOT EXISTS holdings_by_product ON holdings (product, lid);
CREATE TABLE IF NOT EXISTS deny (id INTEGER PRIMARY KEY CHECK (id = 0), version INTEGER NOT NULL, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
";

#[derive(Deserialize)]
struct LidRow {
    lid: String,
}

#[derive(Deserialize)]
struct HoldingRow {
    lease: String,
    lid: String,
    company: String,
    product: String,
    user: String,
    hosts: String,
    installations: String,
    since: u64,
    expires_at: u64,
    overage: u64,
}

impl HoldingRow {
    fn view(self) -> HeldLease {
        let hosts: Vec<String> = serde_json::from_str(&self.hosts).unwrap_or_default();
        let installations: Vec<String> =
            serde_json::from_str(&self.installations).unwrap_or_default();
        let holding = Holding {
            lease: self.lease,
            product: self.product,
            user: self.user,
            hosts,
            installations,
            since: self.since,
            expires_at: self.expires_at,
            overage: self.overage != 0,
        };
        held(&self.lid, &self.company, holding)
    }
}

/// `%`, `_` and `\` taken literally in a LIKE pattern.
fn like_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('%');
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// The directory's storage.
pub(super) struct Store {
    sql: SqlStorage,
}

impl Store {
    pub(super) fn open(sql: SqlStorage) -> Store {
        create_schema(&sql, SCHEMA, "roll-up shard");
        Store { sql }
    }

    /// Count a call of `kind` (see [`calls`]).
    pub(super) fn count_call(&self, kind: &str, now: u64) -> Result<(), ApiError> {
        calls::count(&self.sql, kind, now)
    }

    /// The calls served by kind, and since when.
    pub(super) fn calls(&self) -> Result<DirectoryStatus, ApiError> {
        calls::served(&self.sql)
    }

    fn lids(&self, query: &str, args: Vec<SqlStorageValue>) -> Result<BTreeSet<String>, ApiError> {
        Ok(rows::<LidRow>(&self.sql, query, args)?
            .into_iter()
            .map(|r| r.lid)
            .collect())
    }

    /// Take a license's report, unless a newer one is already here (then `false`).
    pub(super) fn take(&self, seq: u64, s: &PoolSnapshot) -> Result<bool, ApiError> {
        #[derive(Deserialize)]
        struct SeqRow {
            seq: u64,
        }
        let stored = rows::<SeqRow>(
            &self.sql,
            "SELECT seq FROM licenses WHERE lid = ?",
            vec![text(&s.lid)],
        )?;
        if !report_is_current(stored.first().map(|r| r.seq), seq) {
            return Ok(false);
        }
        // `revoked` only ever goes from 0 to 1, whatever order reports arrive in.
        run(
            &self.sql,
            "INSERT INTO licenses (lid, company, seats, ends_at, revoked, seq, max_sessions)
             VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (lid) DO UPDATE SET company = excluded.company, seats = excluded.seats,
               ends_at = excluded.ends_at, revoked = MAX(revoked, excluded.revoked), seq = excluded.seq,
               max_sessions = excluded.max_sessions",
            vec![
                text(&s.lid),
                text(&s.company),
                int(u64::from(s.seats)),
                int(s.ends_at),
                int(u64::from(s.revoked)),
                int(seq),
                int(u64::from(s.max_sessions)),
            ],
        )?;
        run(
            &self.sql,
            "DELETE FROM coverage WHERE lid = ?",
            vec![text(&s.lid)],
        )?;
        for product in &s.products {
            run(
                &self.sql,
                "INSERT OR IGNORE INTO coverage (product, lid) VALUES (?, ?)",
                vec![text(product), text(&s.lid)],
            )?;
        }
        run(
            &self.sql,
            "DELETE FROM holdings WHERE lid = ?",
            vec![text(&s.lid)],
        )?;
        for h in &s.holdings {
            run(
                &self.sql,
                "INSERT OR REPLACE INTO holdings
                   (lease, lid, product, user, hosts, installations, since, expires_at, overage)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                vec![
                    text(&h.lease),
                    text(&s.lid),
                    text(&h.product),
                    text(&h.user),
                    text(&json(&h.hosts)?),
                    text(&json(&h.installations)?),
                    int(h.since),
                    int(h.expires_at),
                    int(u64::from(h.overage)),
                ],
            )?;
        }
        Ok(true)
    }

    pub(super) fn products(&self, now: u64) -> Result<Vec<ProductSeats>, ApiError> {
        #[derive(Deserialize)]
        struct Row {
            product: String,
            seats: u64,
            licenses: u64,
            allocated: u64,
            overage: u64,
        }
        let found: Vec<Row> = rows(
            &self.sql,
            "WITH products AS (SELECT product FROM coverage UNION SELECT product FROM holdings),
                  live AS (SELECT c.product, l.seats FROM coverage c JOIN licenses l ON l.lid = c.lid
                           WHERE l.revoked = 0 AND l.ends_at > ?),
                  held AS (SELECT product, COUNT(*) AS n, SUM(overage) AS o FROM holdings GROUP BY product)
             SELECT p.product,
                    COALESCE((SELECT SUM(seats) FROM live WHERE live.product = p.product), 0) AS seats,
                    (SELECT COUNT(*) FROM live WHERE live.product = p.product) AS licenses,
                    COALESCE(held.n, 0) AS allocated, COALESCE(held.o, 0) AS overage
             FROM products p LEFT JOIN held ON held.product = p.product
             ORDER BY p.product",
            vec![int(now)],
        )?;
        Ok(found
            .into_iter()
            .map(|r| ProductSeats {
                free: free_seats(r.seats, r.allocated, r.overage),
                product: r.product,
                seats: r.seats,
                allocated: r.allocated,
                overage: r.overage,
                licenses: r.licenses,
                // The deny state's: merged in by the reader.
                connected: true,
            })
            .collect())
    }

    pub(super) fn product_licenses(
        &self,
        product: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<LicenseSeats>, ApiError> {
        #[derive(Deserialize)]
        struct Row {
            lid: String,
            company: String,
            seats: u64,
            ends_at: u64,
            revoked: u64,
            allocated: u64,
            max_sessions: u32,
        }
        let limit = u64::from(page_limit(limit));
        let found: Vec<Row> = rows(
            &self.sql,
            "SELECT l.lid, l.company, l.seats, l.ends_at, l.revoked, l.max_sessions,
                    (SELECT COUNT(*) FROM holdings h WHERE h.lid = l.lid AND h.product = c.product) AS allocated
             FROM coverage c JOIN licenses l ON l.lid = c.lid
             WHERE c.product = ? AND l.lid > ? ORDER BY l.lid LIMIT ?",
            vec![text(product), text(&decode_cursor(cursor)), int(limit + 1)],
        )?;
        let more = found.len() as u64 > limit;
        let items: Vec<LicenseSeats> = found
            .into_iter()
            .take(limit as usize)
            .map(|r| LicenseSeats {
                free: free_seats(r.seats, r.allocated, 0),
                product: product.to_string(),
                lid: r.lid,
                company: r.company,
                seats: r.seats,
                allocated: r.allocated,
                revoked: r.revoked != 0,
                ends_at: r.ends_at,
                max_sessions: r.max_sessions,
            })
            .collect();
        let next_cursor = more
            .then(|| items.last().map(|r| encode_cursor(&r.lid)))
            .flatten();
        Ok(Page { items, next_cursor })
    }

    pub(super) fn users(
        &self,
        search: Option<&str>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<ActiveUser>, ApiError> {
        #[derive(Deserialize)]
        struct Row {
            user: String,
            leases: u64,
            products: String,
        }
        let limit = u64::from(page_limit(limit));
        let found: Vec<Row> = rows(
            &self.sql,
            "SELECT h.user, COUNT(*) AS leases, json_group_array(DISTINCT h.product) AS products
             FROM holdings h WHERE h.user > ? AND h.user LIKE ? ESCAPE '\\'
             GROUP BY h.user ORDER BY h.user LIMIT ?",
            vec![
                text(&decode_cursor(cursor)),
                text(&like_literal(search.unwrap_or(""))),
                int(limit + 1),
            ],
        )?;
        let more = found.len() as u64 > limit;
        let items = found
            .into_iter()
            .take(limit as usize)
            .map(|r| {
                Ok(ActiveUser {
                    products: parse("user's products", &r.products)?,
                    user: r.user,
                    leases: r.leases,
                    // The deny state's: merged in by the reader.
                    blocked: false,
                })
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        let next_cursor = more
            .then(|| items.last().map(|u| encode_cursor(&u.user)))
            .flatten();
        Ok(Page { items, next_cursor })
    }

    pub(super) fn user_leases(&self, user: &str) -> Result<Vec<HeldLease>, ApiError> {
        let found: Vec<HoldingRow> = rows(
            &self.sql,
            "SELECT h.lease, h.lid, COALESCE(l.company, '') AS company, h.product, h.user, h.hosts,
                    h.installations,
                    h.since, h.expires_at, h.overage
             FROM holdings h LEFT JOIN licenses l ON l.lid = h.lid
             WHERE h.user = ? ORDER BY h.since, h.lease",
            vec![text(user)],
        )?;
        Ok(found.into_iter().map(HoldingRow::view).collect())
    }
}
