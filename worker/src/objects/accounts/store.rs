//! The accounts object's SQL: users, API tokens and their last use, the vault token,
//! console sessions and the rotated signing keys.
//!
//! Tables: `users` (one JSON row per user, role and status as columns for counting),
//! `tokens` (one JSON row per token, keyed by id, its secret's hash unique until it is
//! deleted), `token_use` ("last used"), `vault` (at most one row), `sessions` (console
//! sessions, by the hash of their secret), `keys` (rotated signing keys, sealed, with
//! the latest `exp` each signed), `meta`. Every function is synchronous: the shell's
//! check-and-write runs as one.

use serde::Deserialize;
use tessera_engine::api::Page;
use tessera_engine::{KeyUse, RotatedKey, VaultTokenInfo};
use worker::{SqlStorage, SqlStorageValue};

use super::protocol::{StoredToken, StoredVault, User};
use crate::error::ApiError;
use crate::objects::shell::sql::{count, int, rows, run, text};
use crate::objects::shell::{create_schema, json, parse};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS users (
  id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE, role TEXT NOT NULL,
  disabled INTEGER NOT NULL, body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
  id TEXT PRIMARY KEY, hash TEXT UNIQUE, creator_id TEXT NOT NULL, created_at INTEGER NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tokens_by_creator ON tokens (creator_id, created_at, id);
CREATE INDEX IF NOT EXISTS tokens_by_time ON tokens (created_at, id);
CREATE TABLE IF NOT EXISTS token_use (id TEXT PRIMARY KEY, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS vault (one INTEGER PRIMARY KEY CHECK (one = 1), hash TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
  hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, stamp TEXT NOT NULL,
  created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions (user_id);
CREATE TABLE IF NOT EXISTS keys (kid TEXT PRIMARY KEY, entry TEXT NOT NULL, last_exp INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS retired_roots (kid TEXT PRIMARY KEY, at INTEGER NOT NULL);
";

#[derive(Deserialize)]
struct Body {
    body: String,
}

/// One row of a token listing, in `(created_at, id)` order.
#[derive(Deserialize)]
pub(super) struct TokenRow {
    pub(super) body: String,
    pub(super) created_at: u64,
    pub(super) id: String,
}

/// A stored session.
#[derive(Deserialize)]
pub(super) struct SessionRow {
    pub(super) user_id: String,
    pub(super) stamp: String,
    pub(super) expires_at: u64,
}

/// The accounts' storage.
pub(super) struct Store {
    pub(super) sql: SqlStorage,
}

impl Store {
    pub(super) fn open(sql: SqlStorage) -> Store {
        create_schema(&sql, SCHEMA, "accounts");
        Store { sql }
    }

    fn user_where(&self, clause: &str, arg: SqlStorageValue) -> Result<Option<User>, ApiError> {
        rows::<Body>(
            &self.sql,
            &format!("SELECT body FROM users WHERE {clause}"),
            vec![arg],
        )?
        .first()
        .map(|b| parse("user", &b.body))
        .transpose()
    }

    pub(super) fn user(&self, username: &str) -> Result<Option<User>, ApiError> {
        self.user_where("username = ?", text(username))
    }

    pub(super) fn user_by_id(&self, id: &str) -> Result<Option<User>, ApiError> {
        self.user_where("id = ?", text(id))
    }

    pub(super) fn has_users(&self) -> Result<bool, ApiError> {
        Ok(count(&self.sql, "SELECT COUNT(*) AS n FROM users", vec![])? > 0)
    }

    pub(super) fn has_untagged_secrets(&self) -> Result<bool, ApiError> {
        Ok(count(
            &self.sql,
            "SELECT (SELECT COUNT(*) FROM tokens WHERE hash IS NOT NULL
                       AND coalesce(json_extract(body, '$.tagged'), 0) = 0)
                  + (SELECT COUNT(*) FROM vault WHERE coalesce(json_extract(body, '$.tagged'), 0) = 0)
                  AS n",
            vec![],
        )? > 0)
    }

    pub(super) fn active_server_admins(&self) -> Result<usize, ApiError> {
        Ok(count(
            &self.sql,
            "SELECT COUNT(*) AS n FROM users WHERE role = 'server_admin' AND disabled = 0",
            vec![],
        )? as usize)
    }

    pub(super) fn users(&self, cursor: Option<&str>, limit: u32) -> Result<Page<User>, ApiError> {
        let limit = limit.clamp(1, 1000);
        let found = rows::<Body>(
            &self.sql,
            "SELECT body FROM users WHERE username > ? ORDER BY username LIMIT ?",
            vec![text(cursor.unwrap_or("")), int(u64::from(limit) + 1)],
        )?;
        let more = found.len() > limit as usize;
        let items: Vec<User> = found
            .iter()
            .take(limit as usize)
            .map(|b| parse("user", &b.body))
            .collect::<Result<_, _>>()?;
        let next_cursor = more
            .then(|| items.last().map(|u| u.username.clone()))
            .flatten();
        Ok(Page { items, next_cursor })
    }

    pub(super) fn put_user(&self, user: &User) -> Result<(), ApiError> {
        run(
            &self.sql,
            "INSERT INTO users (id, username, role, disabled, body) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET role = excluded.role, disabled = excluded.disabled, body = excluded.body",
            vec![
                text(&user.id),
                text(&user.username),
                text(user.role.as_str()),
                int(u64::from(user.disabled)),
                text(&json(user)?),
            ],
        )
    }

    pub(super) fn delete_user(&self, id: &str) -> Result<(), ApiError> {
        run(&self.sql, "DELETE FROM users WHERE id = ?", vec![text(id)])
    }

    pub(super) fn insert_token(&self, stored: &StoredToken) -> Result<(), ApiError> {
        run(
            &self.sql,
            "INSERT INTO tokens (id, hash, creator_id, created_at, body) VALUES (?, ?, ?, ?, ?)",
            vec![
                text(&stored.token.id),
                text(&stored.hash),
                text(&stored.creator_id),
                int(stored.token.created_at),
                text(&json(stored)?),
            ],
        )
    }

    pub(super) fn token(&self, id: &str) -> Result<Option<StoredToken>, ApiError> {
        self.token_where("id = ?", text(id))
    }

    /// The token whose secret hashes to `hash` (deleted tokens have none).
    pub(super) fn token_by_hash(&self, hash: &str) -> Result<Option<StoredToken>, ApiError> {
        self.token_where("hash = ?", text(hash))
    }

    fn token_where(
        &self,
        clause: &str,
        arg: SqlStorageValue,
    ) -> Result<Option<StoredToken>, ApiError> {
        rows::<Body>(
            &self.sql,
            &format!("SELECT body FROM tokens WHERE {clause}"),
            vec![arg],
        )?
        .first()
        .map(|b| parse("token", &b.body))
        .transpose()
    }

    /// Up to 200 tokens after `(at, id)`, of `creator` if given, oldest first.
    pub(super) fn tokens_after(
        &self,
        creator: Option<&str>,
        at: u64,
        id: &str,
    ) -> Result<Vec<TokenRow>, ApiError> {
        match creator {
            None => rows(
                &self.sql,
                "SELECT body, created_at, id FROM tokens WHERE (created_at, id) > (?, ?)
                 ORDER BY created_at, id LIMIT 200",
                vec![int(at), text(id)],
            ),
            Some(creator) => rows(
                &self.sql,
                "SELECT body, created_at, id FROM tokens WHERE creator_id = ? AND (created_at, id) > (?, ?)
                 ORDER BY created_at, id LIMIT 200",
                vec![text(creator), int(at), text(id)],
            ),
        }
    }

    /// Rewrite a token's record; `forget_secret` also drops its secret's hash, so the
    /// secret resolves to nothing (a deletion).
    pub(super) fn update_token(
        &self,
        stored: &StoredToken,
        forget_secret: bool,
    ) -> Result<(), ApiError> {
        let query = if forget_secret {
            "UPDATE tokens SET body = ?, hash = NULL WHERE id = ?"
        } else {
            "UPDATE tokens SET body = ? WHERE id = ?"
        };
        run(
            &self.sql,
            query,
            vec![text(&json(stored)?), text(&stored.token.id)],
        )
    }

    /// When token `id` was last used, if ever.
    pub(super) fn last_used(&self, id: &str) -> Result<Option<u64>, ApiError> {
        #[derive(Deserialize)]
        struct At {
            at: u64,
        }
        Ok(rows::<At>(
            &self.sql,
            "SELECT at FROM token_use WHERE id = ?",
            vec![text(id)],
        )?
        .first()
        .map(|r| r.at))
    }

    /// Token `id` was used at `at` (never moves back).
    pub(super) fn record_use(&self, id: &str, at: u64) -> Result<(), ApiError> {
        run(
            &self.sql,
            "INSERT INTO token_use (id, at) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET at = MAX(at, excluded.at)",
            vec![text(id), int(at)],
        )
    }

    pub(super) fn create_session(
        &self,
        hash: &str,
        user_id: &str,
        stamp: &str,
        now: u64,
        seconds: u64,
    ) -> Result<(), ApiError> {
        run(
            &self.sql,
            "DELETE FROM sessions WHERE expires_at <= ?",
            vec![int(now)],
        )?;
        run(
            &self.sql,
            "INSERT INTO sessions (hash, user_id, stamp, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
            vec![
                text(hash),
                text(user_id),
                text(stamp),
                int(now),
                int(now + seconds),
            ],
        )
    }

    pub(super) fn session(&self, hash: &str) -> Result<Option<SessionRow>, ApiError> {
        Ok(rows::<SessionRow>(
            &self.sql,
            "SELECT user_id, stamp, expires_at FROM sessions WHERE hash = ?",
            vec![text(hash)],
        )?
        .pop())
    }

    pub(super) fn end_session(&self, hash: &str) -> Result<(), ApiError> {
        run(
            &self.sql,
            "DELETE FROM sessions WHERE hash = ?",
            vec![text(hash)],
        )
    }

    /// End every session of user `id`.
    pub(super) fn end_sessions_of(&self, id: &str) -> Result<(), ApiError> {
        run(
            &self.sql,
            "DELETE FROM sessions WHERE user_id = ?",
            vec![text(id)],
        )
    }

    /// The rotated keys, and the latest `exp` each signed.
    pub(super) fn keys(&self) -> Result<(Vec<RotatedKey>, Vec<KeyUse>), ApiError> {
        #[derive(Deserialize)]
        struct Row {
            kid: String,
            entry: String,
            last_exp: u64,
        }
        let found: Vec<Row> = rows(&self.sql, "SELECT kid, entry, last_exp FROM keys", vec![])?;
        let mut entries = Vec::with_capacity(found.len());
        let mut uses = Vec::with_capacity(found.len());
        for row in found {
            entries.push(parse::<RotatedKey>("signing key", &row.entry)?);
            uses.push(KeyUse {
                kid: row.kid,
                last_exp: row.last_exp,
            });
        }
        Ok((entries, uses))
    }

    /// The retired root keys' `kid`s.
    pub(super) fn retired_roots(&self) -> Result<Vec<String>, ApiError> {
        #[derive(Deserialize)]
        struct Row {
            kid: String,
        }
        let found: Vec<Row> = rows(&self.sql, "SELECT kid FROM retired_roots", vec![])?;
        Ok(found.into_iter().map(|r| r.kid).collect())
    }

    /// Root key `kid` is retired, for good.
    pub(super) fn retire_root(&self, kid: &str, at: u64) -> Result<(), ApiError> {
        run(
            &self.sql,
            "INSERT OR IGNORE INTO retired_roots (kid, at) VALUES (?, ?)",
            vec![text(kid), int(at)],
        )
    }

    /// Store `entry` in place of the entry with its `kid` (if it is still there).
    pub(super) fn reseal_key(&self, entry: &RotatedKey) -> Result<(), ApiError> {
        run(
            &self.sql,
            "UPDATE keys SET entry = ? WHERE kid = ?",
            vec![text(&json(entry)?), text(&entry.kid)],
        )
    }

    pub(super) fn add_key(&self, entry: &RotatedKey) -> Result<(), ApiError> {
        run(
            &self.sql,
            "INSERT INTO keys (kid, entry) VALUES (?, ?)",
            vec![text(&entry.kid), text(&json(entry)?)],
        )
    }

    pub(super) fn key_used(&self, kid: &str, exp: u64) -> Result<(), ApiError> {
        run(
            &self.sql,
            "UPDATE keys SET last_exp = MAX(last_exp, ?) WHERE kid = ?",
            vec![int(exp), text(kid)],
        )
    }

    pub(super) fn retire_key(&self, kid: &str) -> Result<(), ApiError> {
        run(&self.sql, "DELETE FROM keys WHERE kid = ?", vec![text(kid)])
    }

    /// The vault token, if `hash` is its.
    pub(super) fn vault(&self, hash: &str) -> Result<Option<StoredVault>, ApiError> {
        rows::<Body>(
            &self.sql,
            "SELECT body FROM vault WHERE hash = ?",
            vec![text(hash)],
        )?
        .first()
        .map(|b| parse::<StoredVault>("vault token", &b.body))
        .transpose()
    }

    pub(super) fn vault_info(&self) -> Result<VaultTokenInfo, ApiError> {
        let stored = rows::<Body>(&self.sql, "SELECT body FROM vault", vec![])?
            .first()
            .map(|b| parse::<StoredVault>("vault token", &b.body))
            .transpose()?;
        Ok(match stored {
            None => VaultTokenInfo::default(),
            Some(v) => VaultTokenInfo {
                exists: true,
                prefix: Some(v.prefix),
                created_at: Some(v.created_at),
                created_by: Some(v.created_by),
            },
        })
    }

    /// Replace the vault token in one statement: no moment with two, no orphan.
    pub(super) fn set_vault(&self, stored: &StoredVault) -> Result<(), ApiError> {
        run(
            &self.sql,
            "INSERT OR REPLACE INTO vault (one, hash, body) VALUES (1, ?, ?)",
            vec![text(&stored.hash), text(&json(stored)?)],
        )
    }

    pub(super) fn delete_vault(&self) -> Result<(), ApiError> {
        run(&self.sql, "DELETE FROM vault", vec![])
    }
}
