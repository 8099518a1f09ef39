//! A shard's part of the deny state's delivery, in SQL: its copy of the state, which
//! version each of its licenses holds (the job's backlog), and which licenses a change
//! reaches. The roll-up's own statements are `store.rs`'s.

use std::collections::BTreeSet;

use serde::Deserialize;
use tessera_engine::DenyState;

use super::Store;
use crate::error::ApiError;
use crate::objects::shell::parse;
use crate::objects::shell::sql::{count, int, rows, run, text};

impl Store {
    /// The newest deny state the directory delivered (version 0 before any).
    pub(in crate::objects::rollup) fn deny_state(&self) -> Result<DenyState, ApiError> {
        #[derive(Deserialize)]
        struct Row {
            state: String,
        }
        match rows::<Row>(&self.sql, "SELECT state FROM deny WHERE id = 0", vec![])?.first() {
            Some(row) => parse("deny state", &row.state),
            None => Ok(DenyState::default()),
        }
    }

    /// The version of the deny state held (0 before any), without reading the state.
    pub(in crate::objects::rollup) fn deny_version(&self) -> Result<u64, ApiError> {
        count(
            &self.sql,
            "SELECT version AS n FROM deny WHERE id = 0",
            vec![],
        )
    }

    /// Keep `deny` unless a newer version is here; answer the one that stands.
    pub(in crate::objects::rollup) fn keep_deny(
        &self,
        deny: DenyState,
    ) -> Result<DenyState, ApiError> {
        if self.deny_version()? >= deny.version {
            return self.deny_state();
        }
        run(
            &self.sql,
            "INSERT OR REPLACE INTO deny (id, version, state) VALUES (0, ?, ?)",
            vec![
                int(deny.version),
                text(&crate::objects::shell::json(&deny)?),
            ],
        )?;
        Ok(deny)
    }

    /// License `lid` holds version `version` of the deny state (a report or a push).
    pub(in crate::objects::rollup) fn known_version(
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
    pub(in crate::objects::rollup) fn behind(
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
    pub(in crate::objects::rollup) fn push_failed(
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
    pub(in crate::objects::rollup) fn behind_count(&self, version: u64) -> Result<u64, ApiError> {
        count(
            &self.sql,
            "SELECT COUNT(*) AS n FROM licenses l WHERE known_version < ?
               AND EXISTS (SELECT 1 FROM holdings h WHERE h.lid = l.lid)",
            vec![int(version)],
        )
    }

    /// Licenses holding a lease of `user`.
    pub(in crate::objects::rollup) fn holding_user(
        &self,
        user: &str,
    ) -> Result<BTreeSet<String>, ApiError> {
        self.lids(
            "SELECT DISTINCT lid FROM holdings WHERE user = ?",
            vec![text(user)],
        )
    }

    /// Licenses holding a lease of `product`.
    pub(in crate::objects::rollup) fn holding_product(
        &self,
        product: &str,
    ) -> Result<BTreeSet<String>, ApiError> {
        self.lids(
            "SELECT DISTINCT lid FROM holdings WHERE product = ?",
            vec![text(product)],
        )
    }
}
