//! `AccountsObject`: the authoritative users, API and Agent tokens, and the vault access
//! token, in one SQLite Durable Object (named `accounts`).
//!
//! Every credential check reads here, and every change is decided and written here in
//! one synchronous step, so:
//!
//! - a disable, a deletion or a regenerated vault token takes effect for the very next
//!   request, everywhere (there is no cache that could still answer with the old state);
//! - two administrators changing one user or token cannot lose either change, and a
//!   concurrent edit can never undo a disable (each change rewrites only what it names);
//! - "the last active server administrator stays" is counted and enforced in the same
//!   step as the change (no eventually consistent list);
//! - the vault token is replaced in one step: no orphaned secret can survive a
//!   regeneration.
//!
//! The rules themselves are the engine's (`may_manage`, `keeps_a_server_admin`,
//! `update_token`); passwords are hashed by the worker before they get here (PBKDF2 is
//! asynchronous Web Crypto), so nothing here awaits between a check and its write.
//!
//! Tables: `users` (one JSON row per user, role and status as columns for counting),
//! `tokens` (one JSON row per token, keyed by id, its secret's hash unique until it is
//! deleted), `token_use` ("last used"), `vault` (at most one row), `sessions` (console
//! sessions, by the hash of their secret), `keys` (rotated signing keys, sealed, with
//! the latest `exp` each signed), `meta`. Accounts and keys kept in KV by earlier
//! versions are moved here, once, on first start.

use serde::{Deserialize, Serialize};
use tessera_engine::api::Page;
use tessera_engine::{
    ApiToken, Role, TokenStatus, UpdateToken, UpdateUser, VaultTokenInfo, keeps_a_server_admin,
    may_manage, update_token,
};
use worker::{
    DurableObject, Env, Request, Response, SqlStorage, SqlStorageValue, State, durable_object,
};

use super::sql::{int, rows, run, text};
use crate::error::ApiError;
use crate::tokens::{StoredToken, StoredVault};
use crate::users::User;

/// The binding (see `wrangler.toml`).
pub(crate) const BINDING: &str = "ACCOUNTS";
const NAME: &str = "accounts";

/// Who is asking about tokens: tokens are visible to their creator, and to holders of
/// `tokens:admin` who may manage the creator.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Viewer {
    pub(crate) user_id: Option<String>,
    pub(crate) role: Option<Role>,
    pub(crate) tokens_admin: bool,
}

/// What the accounts object can be asked.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub(crate) enum AccountsCall {
    User {
        username: String,
    },
    Users {
        cursor: Option<String>,
        limit: u32,
    },
    /// Create the first server administrator, only if there is no user at all.
    Bootstrap {
        user: User,
    },
    HasUsers,
    /// Changes name the acting user by id: the rules use the actor's role as it is
    /// when the change is written, not as it was when the request began.
    CreateUser {
        actor_id: String,
        user: User,
    },
    UpdateUser {
        actor_id: String,
        username: String,
        change: UpdateUser,
    },
    DeleteUser {
        actor_id: String,
        username: String,
    },
    /// A Bearer secret's hash: its token and creator, or the vault token.
    Resolve {
        hash: String,
    },
    Tokens {
        viewer: Viewer,
        all: bool,
        cursor: Option<String>,
        limit: u32,
    },
    Token {
        viewer: Viewer,
        id: String,
    },
    CreateToken {
        stored: StoredToken,
    },
    UpdateToken {
        viewer: Viewer,
        id: String,
        change: UpdateToken,
    },
    DeleteToken {
        viewer: Viewer,
        id: String,
    },
    RecordUse {
        id: String,
        at: u64,
    },
    /// Start a console session for the user (by the hash of its secret).
    CreateSession {
        hash: String,
        user_id: String,
        now: u64,
        seconds: u64,
    },
    /// The user a session belongs to, while it stands.
    Session {
        hash: String,
        now: u64,
    },
    /// Sign out.
    EndSession {
        hash: String,
    },
    /// The rotated signing keys, and the latest `exp` each signed.
    Keys,
    AddKey {
        entry: tessera_engine::RotatedKey,
    },
    /// Key `kid` signed a licence token valid until `exp`.
    KeyUsed {
        kid: String,
        exp: u64,
    },
    /// Keys no token needs any more.
    RetireKeys {
        kids: Vec<String>,
    },
    VaultInfo,
    SetVault {
        stored: StoredVault,
    },
    DeleteVault,
}

/// What a Bearer secret names.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Resolved {
    Api {
        stored: Box<StoredToken>,
        creator: Option<User>,
    },
    Vault,
    Unknown,
}

/// A change refused by a rule: crosses back to the worker as a value.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Refusal {
    pub(crate) kind: RefusalKind,
    pub(crate) message: String,
    pub(crate) field: Option<String>,
}

/// The kinds of [`Refusal`], each with its status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum RefusalKind {
    NotFound,
    Forbidden,
    Conflict,
    InvalidField,
}

impl From<tessera_engine::Error> for Refusal {
    fn from(e: tessera_engine::Error) -> Refusal {
        use tessera_engine::Error as E;
        let (kind, field) = match &e {
            E::NotFound(_) => (RefusalKind::NotFound, None),
            E::Forbidden(_) => (RefusalKind::Forbidden, None),
            E::Conflict(_) => (RefusalKind::Conflict, None),
            E::Invalid { field, .. } => (RefusalKind::InvalidField, Some((*field).to_string())),
            _ => (RefusalKind::Conflict, None),
        };
        let message = match e {
            E::Invalid { message, .. } => message,
            other => other.to_string(),
        };
        Refusal {
            kind,
            message,
            field,
        }
    }
}

fn refused(kind: RefusalKind, message: &str) -> Refusal {
    Refusal {
        kind,
        message: message.to_string(),
        field: None,
    }
}

/// The accounts.
#[durable_object(fetch)]
pub struct AccountsObject {
    sql: SqlStorage,
}

impl core::fmt::Debug for AccountsObject {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AccountsObject").finish_non_exhaustive()
    }
}

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
";

impl DurableObject for AccountsObject {
    fn new(state: State, env: Env) -> Self {
        let sql = state.storage().sql();
        if let Err(e) = sql.exec(SCHEMA, None) {
            worker::console_error!("accounts schema: {e}");
        }
        // Move accounts an earlier version kept in KV, before any request is served.
        let (import_sql, import_env) = (sql.clone(), env.clone());
        let _import = state.block_concurrency_while(async move {
            if let Err(e) = import_from_kv(&import_sql, &import_env).await {
                worker::console_error!("accounts import from KV: {e:?}");
            }
            Ok(())
        });
        AccountsObject { sql }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        super::serve(req, |call: AccountsCall| async move { self.handle(call) }).await
    }
}

#[derive(Deserialize)]
struct Body {
    body: String,
}

#[derive(Deserialize)]
struct Count {
    n: u64,
}

fn parse<T: serde::de::DeserializeOwned>(what: &str, json: &str) -> Result<T, ApiError> {
    serde_json::from_str(json).map_err(|e| ApiError::Internal(format!("corrupt {what}: {e}")))
}

fn json<T: Serialize>(value: &T) -> Result<String, ApiError> {
    serde_json::to_string(value).map_err(|e| ApiError::Internal(e.to_string()))
}

fn to_value<T: Serialize>(value: &T) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(value).map_err(|e| ApiError::Internal(e.to_string()))
}

impl AccountsObject {
    fn handle(&self, call: AccountsCall) -> Result<serde_json::Value, ApiError> {
        match call {
            AccountsCall::User { username } => to_value(&self.user(&username)?),
            AccountsCall::Users { cursor, limit } => {
                to_value(&self.users(cursor.as_deref(), limit)?)
            }
            AccountsCall::HasUsers => {
                to_value(&(self.count("SELECT COUNT(*) AS n FROM users")? > 0))
            }
            AccountsCall::Bootstrap { user } => {
                let empty = self.count("SELECT COUNT(*) AS n FROM users")? == 0;
                if empty {
                    self.put_user(&user)?;
                }
                to_value(&empty)
            }
            AccountsCall::CreateUser { actor_id, user } => {
                to_value(&match self.actor(&actor_id)? {
                    Ok(actor) => self.create_user(actor, user)?,
                    Err(r) => Err(r),
                })
            }
            AccountsCall::UpdateUser {
                actor_id,
                username,
                change,
            } => to_value(&match self.actor(&actor_id)? {
                Ok(actor) => self.update_user(actor, &username, change)?,
                Err(r) => Err(r),
            }),
            AccountsCall::DeleteUser { actor_id, username } => {
                to_value(&match self.actor(&actor_id)? {
                    Ok(actor) => self.delete_user(actor, &username)?,
                    Err(r) => Err(r),
                })
            }
            AccountsCall::Resolve { hash } => to_value(&self.resolve(&hash)?),
            AccountsCall::Tokens {
                viewer,
                all,
                cursor,
                limit,
            } => to_value(&self.tokens(&viewer, all, cursor.as_deref(), limit)?),
            AccountsCall::Token { viewer, id } => to_value(
                &self
                    .visible(&viewer, &id)?
                    .map(|t| self.view(t))
                    .transpose()?,
            ),
            AccountsCall::CreateToken { stored } => {
                run(
                    &self.sql,
                    "INSERT INTO tokens (id, hash, creator_id, created_at, body) VALUES (?, ?, ?, ?, ?)",
                    vec![
                        text(&stored.token.id),
                        text(&stored.hash),
                        text(&stored.creator_id),
                        int(stored.token.created_at),
                        text(&json(&stored)?),
                    ],
                )?;
                to_value(&())
            }
            AccountsCall::UpdateToken { viewer, id, change } => {
                to_value(&self.update_token(&viewer, &id, change)?)
            }
            AccountsCall::DeleteToken { viewer, id } => to_value(&self.delete_token(&viewer, &id)?),
            AccountsCall::RecordUse { id, at } => {
                run(
                    &self.sql,
                    "INSERT INTO token_use (id, at) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET at = MAX(at, excluded.at)",
                    vec![text(&id), int(at)],
                )?;
                to_value(&())
            }
            AccountsCall::CreateSession {
                hash,
                user_id,
                now,
                seconds,
            } => {
                let Some(user) = self
                    .user_where("id = ?", text(&user_id))?
                    .filter(|u| !u.disabled)
                else {
                    return to_value(&false);
                };
                run(
                    &self.sql,
                    "DELETE FROM sessions WHERE expires_at <= ?",
                    vec![int(now)],
                )?;
                run(
                    &self.sql,
                    "INSERT INTO sessions (hash, user_id, stamp, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                    vec![
                        text(&hash),
                        text(&user.id),
                        text(&stamp(&user)),
                        int(now),
                        int(now + seconds),
                    ],
                )?;
                to_value(&true)
            }
            AccountsCall::Session { hash, now } => to_value(&self.session(&hash, now)?),
            AccountsCall::EndSession { hash } => {
                run(
                    &self.sql,
                    "DELETE FROM sessions WHERE hash = ?",
                    vec![text(&hash)],
                )?;
                to_value(&())
            }
            AccountsCall::Keys => {
                #[derive(Deserialize)]
                struct Row {
                    kid: String,
                    entry: String,
                    last_exp: u64,
                }
                let found: Vec<Row> =
                    rows(&self.sql, "SELECT kid, entry, last_exp FROM keys", vec![])?;
                let mut entries = Vec::with_capacity(found.len());
                let mut uses = Vec::with_capacity(found.len());
                for row in found {
                    entries.push(parse::<tessera_engine::RotatedKey>(
                        "signing key",
                        &row.entry,
                    )?);
                    uses.push(tessera_engine::KeyUse {
                        kid: row.kid,
                        last_exp: row.last_exp,
                    });
                }
                to_value(&(entries, uses))
            }
            AccountsCall::AddKey { entry } => {
                run(
                    &self.sql,
                    "INSERT INTO keys (kid, entry) VALUES (?, ?)",
                    vec![text(&entry.kid), text(&json(&entry)?)],
                )?;
                to_value(&())
            }
            AccountsCall::KeyUsed { kid, exp } => {
                run(
                    &self.sql,
                    "UPDATE keys SET last_exp = MAX(last_exp, ?) WHERE kid = ?",
                    vec![int(exp), text(&kid)],
                )?;
                to_value(&())
            }
            AccountsCall::RetireKeys { kids } => {
                for kid in kids {
                    run(
                        &self.sql,
                        "DELETE FROM keys WHERE kid = ?",
                        vec![text(&kid)],
                    )?;
                }
                to_value(&())
            }
            AccountsCall::VaultInfo => to_value(&self.vault_info()?),
            AccountsCall::SetVault { stored } => {
                // One statement replaces the old secret: no moment with two, no orphan.
                run(
                    &self.sql,
                    "INSERT OR REPLACE INTO vault (one, hash, body) VALUES (1, ?, ?)",
                    vec![text(&stored.hash), text(&json(&stored)?)],
                )?;
                to_value(&self.vault_info()?)
            }
            AccountsCall::DeleteVault => {
                run(&self.sql, "DELETE FROM vault", vec![])?;
                to_value(&self.vault_info()?)
            }
        }
    }

    fn count(&self, query: &str) -> Result<u64, ApiError> {
        Ok(rows::<Count>(&self.sql, query, vec![])?
            .first()
            .map_or(0, |c| c.n))
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

    fn user(&self, username: &str) -> Result<Option<User>, ApiError> {
        self.user_where("username = ?", text(username))
    }

    fn users(&self, cursor: Option<&str>, limit: u32) -> Result<Page<User>, ApiError> {
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
        let next_cursor = if more {
            items.last().map(|u| u.username.clone())
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    fn put_user(&self, user: &User) -> Result<(), ApiError> {
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

    /// The acting user's role now; refused if they were disabled or deleted since their
    /// request began.
    fn actor(&self, id: &str) -> Result<Result<Role, Refusal>, ApiError> {
        Ok(match self.user_where("id = ?", text(id))? {
            Some(u) if !u.disabled => Ok(u.role),
            _ => Err(refused(
                RefusalKind::Forbidden,
                "your account is disabled or gone",
            )),
        })
    }

    fn active_server_admins(&self) -> Result<usize, ApiError> {
        Ok(self
            .count("SELECT COUNT(*) AS n FROM users WHERE role = 'server_admin' AND disabled = 0")?
            as usize)
    }

    fn create_user(&self, actor: Role, user: User) -> Result<Result<User, Refusal>, ApiError> {
        if let Err(e) = may_manage(actor, user.role, None) {
            return Ok(Err(e.into()));
        }
        if self.user(&user.username)?.is_some() {
            return Ok(Err(Refusal {
                kind: RefusalKind::InvalidField,
                message: "is taken".into(),
                field: Some("username".into()),
            }));
        }
        self.put_user(&user)?;
        Ok(Ok(user))
    }

    /// Apply `change` to the user as it is now: the rules see the current state, and the
    /// write follows with nothing between.
    fn update_user(
        &self,
        actor: Role,
        username: &str,
        change: UpdateUser,
    ) -> Result<Result<User, Refusal>, ApiError> {
        let Some(mut user) = self.user(username)? else {
            return Ok(Err(refused(RefusalKind::NotFound, "no such user")));
        };
        if let Err(e) = may_manage(actor, user.role, change.role) {
            return Ok(Err(e.into()));
        }
        let was = user.active_server_admin();
        if let Some(role) = change.role {
            user.role = role;
        }
        if let Some(disabled) = change.disabled {
            user.disabled = disabled;
        }
        let ends_sessions = change.password.is_some() || change.disabled == Some(true);
        if let Some(password) = change.password {
            // Hashed by the worker before it came here.
            user.password = password;
        }
        if was
            && !user.active_server_admin()
            && let Err(e) = keeps_a_server_admin(self.active_server_admins()?, was, false)
        {
            return Ok(Err(e.into()));
        }
        self.put_user(&user)?;
        if ends_sessions {
            run(
                &self.sql,
                "DELETE FROM sessions WHERE user_id = ?",
                vec![text(&user.id)],
            )?;
        }
        Ok(Ok(user))
    }

    /// The session's user, if the session stands: not expired, the user still there and
    /// enabled, their password unchanged since it began. A session that does not stand
    /// is removed.
    fn session(&self, hash: &str, now: u64) -> Result<Option<User>, ApiError> {
        #[derive(Deserialize)]
        struct Row {
            user_id: String,
            stamp: String,
            expires_at: u64,
        }
        let Some(row) = rows::<Row>(
            &self.sql,
            "SELECT user_id, stamp, expires_at FROM sessions WHERE hash = ?",
            vec![text(hash)],
        )?
        .pop() else {
            return Ok(None);
        };
        let user = self
            .user_where("id = ?", text(&row.user_id))?
            .filter(|u| !u.disabled && row.expires_at > now && stamp(u) == row.stamp);
        if user.is_none() {
            run(
                &self.sql,
                "DELETE FROM sessions WHERE hash = ?",
                vec![text(hash)],
            )?;
        }
        Ok(user)
    }

    fn delete_user(&self, actor: Role, username: &str) -> Result<Result<(), Refusal>, ApiError> {
        let Some(user) = self.user(username)? else {
            return Ok(Err(refused(RefusalKind::NotFound, "no such user")));
        };
        if let Err(e) = may_manage(actor, user.role, None) {
            return Ok(Err(e.into()));
        }
        if user.active_server_admin()
            && let Err(e) = keeps_a_server_admin(self.active_server_admins()?, true, false)
        {
            return Ok(Err(e.into()));
        }
        run(
            &self.sql,
            "DELETE FROM users WHERE id = ?",
            vec![text(&user.id)],
        )?;
        Ok(Ok(()))
    }

    fn token(&self, id: &str) -> Result<Option<StoredToken>, ApiError> {
        rows::<Body>(
            &self.sql,
            "SELECT body FROM tokens WHERE id = ?",
            vec![text(id)],
        )?
        .first()
        .map(|b| parse("token", &b.body))
        .transpose()
    }

    fn resolve(&self, hash: &str) -> Result<Resolved, ApiError> {
        if rows::<Count>(
            &self.sql,
            "SELECT 1 AS n FROM vault WHERE hash = ?",
            vec![text(hash)],
        )?
        .len()
            == 1
        {
            return Ok(Resolved::Vault);
        }
        let Some(stored) = rows::<Body>(
            &self.sql,
            "SELECT body FROM tokens WHERE hash = ?",
            vec![text(hash)],
        )?
        .first()
        .map(|b| parse::<StoredToken>("token", &b.body))
        .transpose()?
        else {
            return Ok(Resolved::Unknown);
        };
        let creator = self.user_where("id = ?", text(&stored.creator_id))?;
        Ok(Resolved::Api {
            stored: Box::new(stored),
            creator,
        })
    }

    /// Whether `viewer` may see and manage `stored`: their own, or, with `tokens:admin`,
    /// one whose creator they may manage (an administrator cannot touch a server
    /// administrator's tokens).
    fn may_see(&self, viewer: &Viewer, stored: &StoredToken) -> Result<bool, ApiError> {
        if viewer.user_id.as_deref() == Some(stored.creator_id.as_str()) {
            return Ok(true);
        }
        let (Some(role), true) = (viewer.role, viewer.tokens_admin) else {
            return Ok(false);
        };
        let creator = self.user_where("id = ?", text(&stored.creator_id))?;
        Ok(creator.is_none_or(|u| may_manage(role, u.role, None).is_ok()))
    }

    fn visible(&self, viewer: &Viewer, id: &str) -> Result<Option<StoredToken>, ApiError> {
        match self.token(id)? {
            Some(stored) if self.may_see(viewer, &stored)? => Ok(Some(stored)),
            _ => Ok(None),
        }
    }

    /// The token as the API shows it, with its "last used".
    fn view(&self, stored: StoredToken) -> Result<ApiToken, ApiError> {
        let mut token = stored.token;
        token.last_used_at = rows::<Count>(
            &self.sql,
            "SELECT at AS n FROM token_use WHERE id = ?",
            vec![text(&token.id)],
        )?
        .first()
        .map(|c| c.n);
        Ok(token)
    }

    fn tokens(
        &self,
        viewer: &Viewer,
        all: bool,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<ApiToken>, ApiError> {
        #[derive(Deserialize)]
        struct Row {
            body: String,
            created_at: u64,
            id: String,
        }
        let limit = limit.clamp(1, 1000) as usize;
        let (after_at, after_id) = cursor
            .and_then(|c| c.split_once('.'))
            .and_then(|(at, id)| Some((at.parse::<u64>().ok()?, id.to_string())))
            .unwrap_or((0, String::new()));
        let mut items = Vec::new();
        let mut next_cursor = None;
        // Visibility filters rows after reading: read in batches until the page is full.
        let (mut at, mut id) = (after_at, after_id);
        'pages: loop {
            let batch: Vec<Row> = if all {
                rows(
                    &self.sql,
                    "SELECT body, created_at, id FROM tokens WHERE (created_at, id) > (?, ?)
                     ORDER BY created_at, id LIMIT 200",
                    vec![int(at), text(&id)],
                )?
            } else {
                rows(
                    &self.sql,
                    "SELECT body, created_at, id FROM tokens WHERE creator_id = ? AND (created_at, id) > (?, ?)
                     ORDER BY created_at, id LIMIT 200",
                    vec![text(viewer.user_id.as_deref().unwrap_or("")), int(at), text(&id)],
                )?
            };
            let exhausted = batch.len() < 200;
            for row in batch {
                (at, id) = (row.created_at, row.id.clone());
                let stored: StoredToken = parse("token", &row.body)?;
                if (all && self.may_see(viewer, &stored)?) || (!all && viewer.user_id.is_some()) {
                    if items.len() == limit {
                        next_cursor = Some(format!(
                            "{}.{}",
                            items_last_at(&items),
                            items_last_id(&items)
                        ));
                        break 'pages;
                    }
                    items.push(self.view(stored)?);
                }
            }
            if exhausted {
                break;
            }
        }
        Ok(Page { items, next_cursor })
    }

    fn update_token(
        &self,
        viewer: &Viewer,
        id: &str,
        change: UpdateToken,
    ) -> Result<Result<ApiToken, Refusal>, ApiError> {
        let Some(mut stored) = self.visible(viewer, id)? else {
            return Ok(Err(refused(RefusalKind::NotFound, "no such token")));
        };
        if let Err(e) = update_token(&mut stored.token, change, viewer.tokens_admin) {
            return Ok(Err(e.into()));
        }
        run(
            &self.sql,
            "UPDATE tokens SET body = ? WHERE id = ?",
            vec![text(&json(&stored)?), text(id)],
        )?;
        Ok(Ok(self.view(stored)?))
    }

    /// Mark a token deleted and forget its secret's hash, so the secret resolves to
    /// nothing. Deleting a deleted token changes nothing.
    fn delete_token(
        &self,
        viewer: &Viewer,
        id: &str,
    ) -> Result<Result<ApiToken, Refusal>, ApiError> {
        let Some(mut stored) = self.visible(viewer, id)? else {
            return Ok(Err(refused(RefusalKind::NotFound, "no such token")));
        };
        if stored.token.status != TokenStatus::Deleted {
            stored.token.status = TokenStatus::Deleted;
            run(
                &self.sql,
                "UPDATE tokens SET body = ?, hash = NULL WHERE id = ?",
                vec![text(&json(&stored)?), text(id)],
            )?;
        }
        Ok(Ok(self.view(stored)?))
    }

    fn vault_info(&self) -> Result<VaultTokenInfo, ApiError> {
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
}

/// What a session remembers of its user's password: a digest of the stored record, so a
/// password change (a new record) ends it.
fn stamp(user: &User) -> String {
    crate::tokens::hash(&user.password)
}

fn items_last_at(items: &[ApiToken]) -> u64 {
    items.last().map_or(0, |t| t.created_at)
}

fn items_last_id(items: &[ApiToken]) -> &str {
    items.last().map_or("", |t| t.id.as_str())
}

/// Move the accounts an earlier version kept in KV (`user:*`, `token:*`,
/// `token-used:*`, `vault-token`) here, once, and remove them from KV.
async fn import_from_kv(sql: &SqlStorage, env: &Env) -> Result<(), ApiError> {
    if !rows::<Body>(
        sql,
        "SELECT value AS body FROM meta WHERE key = 'imported'",
        vec![],
    )?
    .is_empty()
    {
        return Ok(());
    }
    let kv = env.kv(crate::kv::KV_BINDING)?;
    let mut moved = Vec::new();
    for prefix in [
        "user:",
        "token:",
        "token-used:",
        "vault-token",
        "signing-key:",
    ] {
        let keys = kv.list().prefix(prefix.to_string()).execute().await?.keys;
        for key in keys {
            let Some(value) = kv.get(&key.name).text().await? else {
                continue;
            };
            match prefix {
                "user:" => {
                    let user: User = parse("user", &value)?;
                    run(
                        sql,
                        "INSERT OR IGNORE INTO users (id, username, role, disabled, body) VALUES (?, ?, ?, ?, ?)",
                        vec![
                            text(&user.id),
                            text(&user.username),
                            text(user.role.as_str()),
                            int(u64::from(user.disabled)),
                            text(&value),
                        ],
                    )?;
                }
                "token:" => {
                    let stored: StoredToken = parse("token", &value)?;
                    let hash =
                        (stored.token.status != TokenStatus::Deleted).then(|| text(&stored.hash));
                    run(
                        sql,
                        "INSERT OR IGNORE INTO tokens (id, hash, creator_id, created_at, body) VALUES (?, ?, ?, ?, ?)",
                        vec![
                            text(&stored.token.id),
                            hash.into(),
                            text(&stored.creator_id),
                            int(stored.token.created_at),
                            text(&value),
                        ],
                    )?;
                }
                "signing-key:" => {
                    let entry: tessera_engine::RotatedKey = parse("signing key", &value)?;
                    run(
                        sql,
                        "INSERT OR IGNORE INTO keys (kid, entry) VALUES (?, ?)",
                        vec![text(&entry.kid), text(&value)],
                    )?;
                }
                "token-used:" => {
                    let id = key.name.trim_start_matches("token-used:");
                    let at: u64 = value.parse().unwrap_or(0);
                    run(
                        sql,
                        "INSERT OR IGNORE INTO token_use (id, at) VALUES (?, ?)",
                        vec![text(id), int(at)],
                    )?;
                }
                _ => {
                    let stored: StoredVault = parse("vault token", &value)?;
                    run(
                        sql,
                        "INSERT OR IGNORE INTO vault (one, hash, body) VALUES (1, ?, ?)",
                        vec![text(&stored.hash), text(&value)],
                    )?;
                }
            }
            moved.push(key.name);
        }
    }
    run(
        sql,
        "INSERT INTO meta (key, value) VALUES ('imported', '1')",
        vec![],
    )?;
    for key in moved {
        kv.delete(&key).await?;
    }
    // Indexes from secret hashes to tokens were KV's only.
    for key in kv
        .list()
        .prefix("token-hash:".to_string())
        .execute()
        .await?
        .keys
    {
        kv.delete(&key.name).await?;
    }
    Ok(())
}

/// Ask the accounts object.
pub(crate) async fn ask<T: for<'de> Deserialize<'de>>(
    env: &Env,
    call: AccountsCall,
) -> Result<T, ApiError> {
    let stub = env
        .durable_object(BINDING)?
        .id_from_name(NAME)?
        .get_stub()?;
    super::call(stub, &call).await
}

/// Ask for a change a rule may refuse: the refusal becomes the API's error.
pub(crate) async fn change<T: for<'de> Deserialize<'de>>(
    env: &Env,
    call: AccountsCall,
) -> Result<T, ApiError> {
    ask::<Result<T, Refusal>>(env, call)
        .await?
        .map_err(ApiError::Refused)
}
