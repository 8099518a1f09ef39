//! The directory's deny state and its delivery, in SQL: blocks, disconnected products
//! and "revoke all" marks with their version; which licenses a change reaches and which
//! version each holds (the job's backlog); the version published to KV; and the count
//! of calls served. The roll-up's own statements are `store.rs`'s.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use tessera_engine::DenyState;
use tessera_engine::api::{BlockView, DirectoryStatus, DisconnectedView};
use tessera_engine::vault::revoke_marks_expire_before;

use super::Store;
use crate::error::ApiError;
use crate::objects::shell::sql::{count, int, rows, run, text};

impl Store {
    /// License `lid` holds version `version` of the deny state (a report or a push).
    pub(in crate::objects::directory) fn known_version(
        &self,
        lid: &str,
        version: u64,
    ) -> Result<(), ApiError> {
        run(
            &self.sql,
            "UPDATE licenses SET known_version = ? WHERE lid = ?",
            vec![int(version), text(lid)],
        )
    }

    /// Up to `limit` licenses holding seats whose deny state is older than `version`
    /// and that are not waiting after a failed push at `now`: the job pushes to them.
    pub(in crate::objects::directory) fn behind(
        &self,
        version: u64,
        now: u64,
        limit: usize,
    ) -> Result<BTreeSet<String>, ApiError> {
        self.lids(
            "SELECT lid FROM licenses l WHERE known_version < ? AND push_after <= ?
               AND EXISTS (SELECT 1 FROM holdings h WHERE h.lid = l.lid) LIMIT ?",
            vec![int(version), int(now), int(limit as u64)],
        )
    }

    /// A push to `lid` failed: the job tries it again from `after`.
    pub(in crate::objects::directory) fn push_failed(
        &self,
        lid: &str,
        after: u64,
    ) -> Result<(), ApiError> {
        run(
            &self.sql,
            "UPDATE licenses SET push_after = ? WHERE lid = ?",
            vec![int(after), text(lid)],
        )
    }

    /// How many licenses holding seats have a deny state older than `version`.
    pub(in crate::objects::directory) fn behind_count(
        &self,
        version: u64,
    ) -> Result<u64, ApiError> {
        count(
            &self.sql,
            "SELECT COUNT(*) AS n FROM licenses l WHERE known_version < ?
               AND EXISTS (SELECT 1 FROM holdings h WHERE h.lid = l.lid)",
            vec![int(version)],
        )
    }

    /// The version of the deny state published to KV, and the directory's.
    pub(in crate::objects::directory) fn published(&self) -> Result<(u64, u64), ApiError> {
        let read = |key: &str| {
            count(
                &self.sql,
                "SELECT value AS n FROM meta WHERE key = ?",
                vec![text(key)],
            )
        };
        Ok((read("published_version")?, read("deny_version")?))
    }

    /// Count a call of `kind` (kept in SQL, so the count survives the object's eviction).
    pub(in crate::objects::directory) fn count_call(
        &self,
        kind: &str,
        now: u64,
    ) -> Result<(), ApiError> {
        run(
            &self.sql,
            "INSERT INTO meta (key, value) VALUES ('calls_since', ?) ON CONFLICT (key) DO NOTHING",
            vec![int(now)],
        )?;
        run(
            &self.sql,
            "INSERT INTO meta (key, value) VALUES (?, 1)
             ON CONFLICT (key) DO UPDATE SET value = value + 1",
            vec![text(&format!("calls:{kind}"))],
        )
    }

    /// The calls served by kind, and since when: a status without the deny figures.
    pub(in crate::objects::directory) fn calls(&self) -> Result<DirectoryStatus, ApiError> {
        #[derive(Deserialize)]
        struct Row {
            key: String,
            value: u64,
        }
        let mut status = DirectoryStatus::default();
        for row in rows::<Row>(
            &self.sql,
            "SELECT key, value FROM meta WHERE key LIKE 'calls%'",
            vec![],
        )? {
            match row.key.strip_prefix("calls:") {
                Some(kind) => {
                    status.calls.insert(kind.to_string(), row.value);
                }
                None if row.key == "calls_since" => status.since = row.value,
                None => {}
            }
        }
        Ok(status)
    }

    /// Version `version` of the deny state is published.
    pub(in crate::objects::directory) fn set_published(
        &self,
        version: u64,
    ) -> Result<(), ApiError> {
        run(
            &self.sql,
            "INSERT INTO meta (key, value) VALUES ('published_version', ?)
             ON CONFLICT (key) DO UPDATE SET value = MAX(value, excluded.value)",
            vec![int(version)],
        )
    }

    /// Licenses holding a lease of `user`.
    pub(in crate::objects::directory) fn holding_user(
        &self,
        user: &str,
    ) -> Result<BTreeSet<String>, ApiError> {
        self.lids(
            "SELECT DISTINCT lid FROM holdings WHERE user = ?",
            vec![text(user)],
        )
    }

    /// Licenses holding a lease of `product`.
    pub(in crate::objects::directory) fn holding_product(
        &self,
        product: &str,
    ) -> Result<BTreeSet<String>, ApiError> {
        self.lids(
            "SELECT DISTINCT lid FROM holdings WHERE product = ?",
            vec![text(product)],
        )
    }

    /// How many users are blocked, and whether `user` is one of them.
    pub(in crate::objects::directory) fn blocked(
        &self,
        user: &str,
    ) -> Result<(u64, bool), ApiError> {
        let total = count(&self.sql, "SELECT COUNT(*) AS n FROM blocks", vec![])?;
        let this = count(
            &self.sql,
            "SELECT COUNT(*) AS n FROM blocks WHERE user = ?",
            vec![text(user)],
        )?;
        Ok((total, this > 0))
    }

    pub(in crate::objects::directory) fn block(
        &self,
        user: &str,
        now: u64,
        by: &str,
    ) -> Result<(), ApiError> {
        run(
            &self.sql,
            "INSERT OR IGNORE INTO blocks (user, at, by) VALUES (?, ?, ?)",
            vec![text(user), int(now), text(by)],
        )
    }

    pub(in crate::objects::directory) fn unblock(&self, user: &str) -> Result<(), ApiError> {
        run(
            &self.sql,
            "DELETE FROM blocks WHERE user = ?",
            vec![text(user)],
        )
    }

    /// "Revoke all" of `user`'s leases that began at or before `now`.
    pub(in crate::objects::directory) fn mark_revoked(
        &self,
        user: &str,
        now: u64,
    ) -> Result<(), ApiError> {
        run(
            &self.sql,
            "INSERT OR REPLACE INTO revoked_before (user, at) VALUES (?, ?)",
            vec![text(user), int(now)],
        )
    }

    pub(in crate::objects::directory) fn disconnect(
        &self,
        product: &str,
        now: u64,
        by: &str,
    ) -> Result<(), ApiError> {
        run(
            &self.sql,
            "INSERT OR IGNORE INTO disconnected (product, at, by) VALUES (?, ?, ?)",
            vec![text(product), int(now), text(by)],
        )
    }

    pub(in crate::objects::directory) fn connect(&self, product: &str) -> Result<(), ApiError> {
        run(
            &self.sql,
            "DELETE FROM disconnected WHERE product = ?",
            vec![text(product)],
        )
    }

    /// After a change of the deny state: drop the "revoke all" marks that no longer
    /// matter at `now`, bump the version, and read the state that stands.
    pub(in crate::objects::directory) fn next_version(
        &self,
        now: u64,
    ) -> Result<DenyState, ApiError> {
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

    pub(in crate::objects::directory) fn deny_state(&self) -> Result<DenyState, ApiError> {
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

    pub(in crate::objects::directory) fn blocks(&self) -> Result<Vec<BlockView>, ApiError> {
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

    pub(in crate::objects::directory) fn disconnected(
        &self,
    ) -> Result<Vec<DisconnectedView>, ApiError> {
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
