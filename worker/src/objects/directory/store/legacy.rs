//! The roll-up as the directory kept it before it was sharded (tables `licenses`, first
//! spelled `licences`, `coverage`, `holdings`): read in batches, handed to the shards
//! (`RollupCall::Adopt`), forgotten here, and dropped when empty.

use serde::Deserialize;
use tessera_engine::{Holding, PoolSnapshot};

use super::Store;
use crate::error::ApiError;
use crate::objects::rollup::protocol::Adopted;
use crate::objects::shell::add_column;
use crate::objects::shell::sql::{count, int, rows, run, text};

/// Whether a table of this name exists.
fn table_exists(store: &Store, name: &str) -> Result<bool, ApiError> {
    let n = count(
        &store.sql,
        "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?",
        vec![text(name)],
    )?;
    Ok(n > 0)
}

impl Store {
    /// Whether the directory still keeps a roll-up to move; brings its tables to their
    /// last unsharded shape first (the first spelling renamed, later columns added), so
    /// every older deployment reads the same.
    pub(in crate::objects::directory) fn has_legacy(&self) -> Result<bool, ApiError> {
        if table_exists(self, "licences")? {
            self.sql.exec(
                "ALTER TABLE licences RENAME TO licenses; DROP INDEX IF EXISTS licences_fresh;",
                None,
            )?;
        }
        if !table_exists(self, "licenses")? {
            return Ok(false);
        }
        let columns = [
            ("licenses", "max_sessions", "INTEGER NOT NULL DEFAULT 0"),
            ("licenses", "known_version", "INTEGER NOT NULL DEFAULT 0"),
            ("holdings", "installations", "TEXT NOT NULL DEFAULT '[]'"),
        ];
        for (table, column, definition) in columns {
            add_column(&self.sql, table, column, definition);
        }
        Ok(true)
    }

    /// Up to `limit` licenses of the old roll-up, each with its holdings.
    pub(in crate::objects::directory) fn legacy_batch(
        &self,
        limit: u64,
    ) -> Result<Vec<Adopted>, ApiError> {
        #[derive(Deserialize)]
        struct LicenseRow {
            lid: String,
            company: String,
            seats: u32,
            ends_at: u64,
            revoked: u64,
            seq: u64,
            max_sessions: u32,
            known_version: u64,
        }
        #[derive(Deserialize)]
        struct ProductRow {
            product: String,
        }
        #[derive(Deserialize)]
        struct HoldingRow {
            lease: String,
            product: String,
            user: String,
            hosts: String,
            installations: String,
            since: u64,
            expires_at: u64,
            overage: u64,
        }
        let licenses: Vec<LicenseRow> = rows(
            &self.sql,
            "SELECT lid, company, seats, ends_at, revoked, seq, max_sessions, known_version
             FROM licenses ORDER BY lid LIMIT ?",
            vec![int(limit)],
        )?;
        licenses
            .into_iter()
            .map(|l| {
                let products: Vec<ProductRow> = rows(
                    &self.sql,
                    "SELECT product FROM coverage WHERE lid = ? ORDER BY product",
                    vec![text(&l.lid)],
                )?;
                let holdings: Vec<HoldingRow> = rows(
                    &self.sql,
                    "SELECT lease, product, user, hosts, installations, since, expires_at, overage
                     FROM holdings WHERE lid = ? ORDER BY lease",
                    vec![text(&l.lid)],
                )?;
                let holdings = holdings
                    .into_iter()
                    .map(|h| Holding {
                        lease: h.lease,
                        product: h.product,
                        user: h.user,
                        hosts: serde_json::from_str(&h.hosts).unwrap_or_default(),
                        installations: serde_json::from_str(&h.installations).unwrap_or_default(),
                        since: h.since,
                        expires_at: h.expires_at,
                        overage: h.overage != 0,
                    })
                    .collect();
                Ok(Adopted {
                    seq: l.seq,
                    known_version: l.known_version,
                    snapshot: PoolSnapshot {
                        lid: l.lid,
                        company: l.company,
                        seats: l.seats,
                        products: products.into_iter().map(|p| p.product).collect(),
                        ends_at: l.ends_at,
                        revoked: l.revoked != 0,
                        max_sessions: l.max_sessions,
                        holdings,
                    },
                })
            })
            .collect()
    }

    /// Forget licenses their shards adopted.
    pub(in crate::objects::directory) fn forget_legacy(
        &self,
        lids: &[String],
    ) -> Result<(), ApiError> {
        for lid in lids {
            for table in ["licenses", "coverage", "holdings"] {
                run(
                    &self.sql,
                    &format!("DELETE FROM {table} WHERE lid = ?"),
                    vec![text(lid)],
                )?;
            }
        }
        Ok(())
    }

    /// The old roll-up is empty: drop its tables.
    pub(in crate::objects::directory) fn drop_legacy(&self) -> Result<(), ApiError> {
        self.sql.exec(
            "DROP TABLE IF EXISTS holdings; DROP TABLE IF EXISTS coverage;
             DROP TABLE IF EXISTS licenses;",
            None,
        )?;
        Ok(())
    }
}
