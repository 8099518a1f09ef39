//! The directory's SQL: the deny state it is the authority on (blocks, disconnected
//! products and "revoke all" marks, with their version), the version published to KV,
//! the version each roll-up shard was told, and the count of calls served.
//!
//! Tables: `blocks`, `disconnected`, `revoked_before`, `meta` (the deny version, the
//! published version, call counts), `shards` (the version each shard holds). The
//! roll-up the directory kept before it was sharded is `store/legacy.rs`'s, read once to
//! move it. Every function is synchronous: the shell's check-and-write runs as one.

use std::collections::BTreeMap;

use serde::Deserialize;
use tessera_engine::DenyState;
use tessera_engine::api::{BlockView, DirectoryStatus, DisconnectedView};
use tessera_engine::vault::{ROLLUP_SHARDS, revoke_marks_expire_before};
use worker::SqlStorage;

mod legacy;

use crate::error::ApiError;
use crate::objects::shell::sql::{count, int, rows, run, text};
use crate::objects::shell::{calls, create_schema};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS blocks (user TEXT PRIMARY KEY, at INTEGER NOT NULL, by TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS disconnected (product TEXT PRIMARY KEY, at INTEGER NOT NULL, by TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS revoked_before (user TEXT PRIMARY KEY, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS shards (shard INTEGER PRIMARY KEY, version INTEGER NOT NULL);
";

#[derive(Deserialize)]
struct ByRow {
    name: String,
    at: u64,
    by: String,
}

/// The directory's storage.
pub(super) struct Store {
    sql: SqlStorage,
}

impl Store {
    pub(super) fn open(sql: SqlStorage) -> Store {
        create_schema(&sql, SCHEMA, "directory");
        Store { sql }
    }

    fn named(&self, query: &str) -> Result<Vec<ByRow>, ApiError> {
        rows(&self.sql, query, vec![])
    }

    /// Count a call of `kind` (see [`calls`]).
    pub(super) fn count_call(&self, kind: &str, now: u64) -> Result<(), ApiError> {
        calls::count(&self.sql, kind, now)
    }

    /// The calls served by kind, and since when.
    pub(super) fn calls(&self) -> Result<DirectoryStatus, ApiError> {
        calls::served(&self.sql)
    }

    /// Shard `shard` holds version `version` of the deny state.
    pub(super) fn shard_told(&self, shard: u32, version: u64) -> Result<(), ApiError> {
        run(
            &self.sql,
            "INSERT INTO shards (shard, version) VALUES (?, ?)
             ON CONFLICT (shard) DO UPDATE SET version = MAX(version, excluded.version)",
            vec![int(u64::from(shard)), int(version)],
        )
    }

    /// The shards not yet told version `version`.
    pub(super) fn shards_behind(&self, version: u64) -> Result<Vec<u32>, ApiError> {
        #[derive(Deserialize)]
        struct Row {
            shard: u32,
            version: u64,
        }
        let told: BTreeMap<u32, u64> =
            rows::<Row>(&self.sql, "SELECT shard, version FROM shards", vec![])?
                .into_iter()
                .map(|r| (r.shard, r.version))
                .collect();
        Ok((0..ROLLUP_SHARDS)
            .filter(|shard| told.get(shard).copied().unwrap_or(0) < version)
            .collect())
    }

    /// The version of the deny state published to KV, and the directory's.
    pub(super) fn published(&self) -> Result<(u64, u64), ApiError> {
        let read = |key: &str| {
            count(
                &self.sql,
                "SELECT value AS n FROM meta WHERE key = ?",
                vec![text(key)],
            )
        };
        Ok((read("published_version")?, read("deny_version")?))
    }

    /// Version `version` of the deny state is published.
    pub(super) fn set_published(&self, version: u64) -> Result<(), ApiError> {
        run(
            &self.sql,
            "INSERT INTO meta (key, value) VALUES ('published_version', ?)
             ON CONFLICT (key) DO UPDATE SET value = MAX(value, excluded.value)",
            vec![int(version)],
        )
    }

    /// How many users are blocked, and whether `user` is one of them.
    pub(super) fn blocked(&self, user: &str) -> Result<(u64, bool), ApiError> {
        let total = count(&self.sql, "SELECT COUNT(*) AS n FROM blocks", vec![])?;
        let this = count(
            &self.sql,
            "SELECT COUNT(*) AS n FROM blocks WHERE user = ?",
            vec![text(user)],
        )?;
        Ok((total, this > 0))
    }

    pub(super) fn block(&self, user: &str, now: u64, by: &str) -> Result<(), ApiError> {
        run(
            &self.sql,
            "INSERT OR IGNORE INTO blocks (user, at, by) VALUES (?, ?, ?)",
            vec![text(user), int(now), text(by)],
        )
    }

    pub(super) fn unblock(&self, user: &str) -> Result<(), ApiError> {
        run(
            &self.sql,
            "DELETE FROM blocks WHERE user = ?",
            vec![text(user)],
        )
    }

    /// "Revoke all" of `user`'s leases that began at or before `now`.
    pub(super) fn mark_revoked(&self, user: &str, now: u64) -> Result<(), ApiError> {
        run(
            &self.sql,
            "INSERT OR REPLACE INTO revoked_before (user, at) VALUES (?, ?)",
            vec![text(user), int(now)],
        )
    }

    pub(super) fn disconnect(&self, product: &str, now: u64, by: &str) -> Result<(), ApiError> {
        run(
            &self.sql,
            "INSERT OR IGNORE INTO disconnected (product, at, by) VALUES (?, ?, ?)",
            vec![text(product), int(now), text(by)],
        )
    }

    pub(super) fn connect(&self, product: &str) -> Result<(), ApiError> {
        run(
            &self.sql,
            "DELETE FROM disconnected WHERE product = ?",
            vec![text(product)],
        )
    }

    /// After a change of the deny state: drop the "revoke all" marks that no longer
    /// matter at `now`, bump the version, and read the state that stands.
    pub(super) fn next_version(&self, now: u64) -> Result<DenyState, ApiError> {
        run(
            &self.sql,
            "DELETE FROM revoked_before WHERE at < ?",
            vec![int(revoke_marks_expire_before(now))],
        )?;
        run(
            &self.sql,
            "INSERT INTO meta (key, value) VALUES ('deny_version', 1)
             ON CONFLICT (key) DO UPDATE SET value = value + 1",
            vec![],
        )?;
        self.deny_state()
    }

    pub(super) fn deny_state(&self) -> Result<DenyState, ApiError> {
        let version = count(
            &self.sql,
            "SELECT value AS n FROM meta WHERE key = 'deny_version'",
            vec![],
        )?;
        let blocked = self.named("SELECT user AS name, at, by FROM blocks")?;
        let disconnected = self.named("SELECT product AS name, at, by FROM disconnected")?;
        let revoked = self.named("SELECT user AS name, at, '' AS by FROM revoked_before")?;
        Ok(DenyState {
            version,
            blocked: blocked.into_iter().map(|r| r.name).collect(),
            disconnected: disconnected.into_iter().map(|r| r.name).collect(),
            revoked_before: revoked
                .into_iter()
                .map(|r| (r.name, r.at))
                .collect::<BTreeMap<_, _>>(),
        })
    }

    pub(super) fn blocks(&self) -> Result<Vec<BlockView>, ApiError> {
        Ok(self
            .named("SELECT user AS name, at, by FROM blocks ORDER BY user")?
            .into_iter()
            .map(|r| BlockView {
                user: r.name,
                at: r.at,
                by: r.by,
            })
            .collect())
    }

    pub(super) fn disconnected(&self) -> Result<Vec<DisconnectedView>, ApiError> {
        Ok(self
            .named("SELECT product AS name, at, by FROM disconnected ORDER BY product")?
            .into_iter()
            .map(|r| DisconnectedView {
                product: r.name,
                at: r.at,
                by: r.by,
            })
            .collect())
    }
}
