//! `AccountsObject`: the authoritative users, API and Agent tokens, the vault access
//! token, console sessions and rotated signing keys, in one SQLite Durable Object
//! (named `accounts`).
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
//! The rules are the engine's (`may_manage`, `keeps_a_server_admin`, `update_token`,
//! `may_see_token`, `session_stands`); passwords are hashed by the worker before they
//! get here (PBKDF2 is asynchronous Web Crypto), so nothing here awaits between a check
//! and its write. A refusal is answered as the API error it stands for.
//!
//! - `protocol.rs`: the calls, the records they carry, and how to ask.
//! - `store.rs`: the tables and every statement.
//! - `migrate.rs`: moving accounts an earlier version kept in KV, once.

mod migrate;
pub(crate) mod protocol;
mod store;

use tessera_engine::api::Page;
use tessera_engine::{
    ApiToken, Role, TokenStatus, TokenViewer, UpdateToken, UpdateUser, keeps_a_server_admin,
    may_manage, may_see_token, session_stands, update_token,
};
use worker::{DurableObject, Env, Request, Response, State, durable_object};

use self::protocol::{AccountsCall, Resolved, StoredToken, User, Viewer};
use self::store::Store;
use crate::error::ApiError;
use crate::objects::shell::{answer, opaque_debug, parse, serve};
use crate::platform;

/// The accounts.
#[durable_object(fetch)]
pub struct AccountsObject {
    store: Store,
}

opaque_debug!(AccountsObject);

impl DurableObject for AccountsObject {
    fn new(state: State, env: Env) -> Self {
        let store = Store::open(state.storage().sql());
        // Move accounts an earlier version kept in KV, before any request is served.
        let (sql, kv_env) = (store.sql.clone(), env.clone());
        let _import = state.block_concurrency_while(async move {
            if let Err(e) = migrate::import_from_kv(&sql, &kv_env).await {
                worker::console_error!("accounts import from KV: {e:?}");
            }
            Ok(())
        });
        AccountsObject { store }
    }

    async fn fetch(&self, req: Request) -> worker::Result<Response> {
        serve(req, |call: AccountsCall| async move { self.handle(call) }).await
    }
}

/// What a session remembers of its user's password: a digest of the stored record, so a
/// password change (a new record) ends it.
fn stamp(user: &User) -> String {
    platform::sha256_hex(&user.password)
}

fn token_viewer(viewer: &Viewer) -> TokenViewer<'_> {
    TokenViewer {
        user_id: viewer.user_id.as_deref(),
        role: viewer.role,
        tokens_admin: viewer.tokens_admin,
    }
}

impl AccountsObject {
    fn handle(&self, call: AccountsCall) -> Result<serde_json::Value, ApiError> {
        let store = &self.store;
        match call {
            AccountsCall::User { username } => answer(&store.user(&username)?),
            AccountsCall::Users { cursor, limit } => {
                answer(&store.users(cursor.as_deref(), limit)?)
            }
            AccountsCall::HasUsers => answer(&store.has_users()?),
            AccountsCall::HasUntaggedSecrets => answer(&store.has_untagged_secrets()?),
            AccountsCall::Bootstrap { user } => {
                let empty = !store.has_users()?;
                if empty {
                    store.put_user(&user)?;
                }
                answer(&empty)
            }
            AccountsCall::CreateUser { actor_id, user } => {
                answer(&self.create_user(self.actor(&actor_id)?, user)?)
            }
            AccountsCall::UpdateUser {
                actor_id,
                username,
                change,
            } => answer(&self.update_user(self.actor(&actor_id)?, &username, change)?),
            AccountsCall::DeleteUser { actor_id, username } => {
                answer(&self.delete_user(self.actor(&actor_id)?, &username)?)
            }
            AccountsCall::Resolve { hash } => answer(&self.resolve(&hash)?),
            AccountsCall::Tokens {
                viewer,
                all,
                cursor,
                limit,
            } => answer(&self.tokens(&viewer, all, cursor.as_deref(), limit)?),
            AccountsCall::Token { viewer, id } => answer(
                &self
                    .visible(&viewer, &id)?
                    .map(|t| self.view(t))
                    .transpose()?,
            ),
            AccountsCall::CreateToken { stored } => answer(&store.insert_token(&stored)?),
            AccountsCall::UpdateToken { viewer, id, change } => {
                answer(&self.update_token(&viewer, &id, change)?)
            }
            AccountsCall::DeleteToken { viewer, id } => answer(&self.delete_token(&viewer, &id)?),
            AccountsCall::RecordUse { id, at } => answer(&store.record_use(&id, at)?),
            AccountsCall::CreateSession {
                hash,
                user_id,
                now,
                seconds,
            } => {
                let Some(user) = store.user_by_id(&user_id)?.filter(|u| !u.disabled) else {
                    return answer(&false);
                };
                store.create_session(&hash, &user.id, &stamp(&user), now, seconds)?;
                answer(&true)
            }
            AccountsCall::Session { hash, now } => answer(&self.session(&hash, now)?),
            AccountsCall::EndSession { hash } => answer(&store.end_session(&hash)?),
            AccountsCall::Keys => {
                let (entries, uses) = store.keys()?;
                answer(&(entries, uses, store.retired_roots()?))
            }
            AccountsCall::AddKey { entry } => answer(&store.add_key(&entry)?),
            AccountsCall::ResealKeys { entries } => {
                for entry in &entries {
                    store.reseal_key(entry)?;
                }
                answer(&())
            }
            AccountsCall::RetireRoot { kid } => {
                answer(&store.retire_root(&kid, crate::platform::now())?)
            }
            AccountsCall::KeyUsed { kid, exp } => answer(&store.key_used(&kid, exp)?),
            AccountsCall::RetireKeys { kids } => {
                for kid in kids {
                    store.retire_key(&kid)?;
                }
                answer(&())
            }
            AccountsCall::VaultInfo => answer(&store.vault_info()?),
            AccountsCall::SetVault { stored } => {
                store.set_vault(&stored)?;
                answer(&store.vault_info()?)
            }
            AccountsCall::DeleteVault => {
                store.delete_vault()?;
                answer(&store.vault_info()?)
            }
        }
    }

    /// The acting user's role now; refused if they were disabled or deleted since their
    /// request began.
    fn actor(&self, id: &str) -> Result<Role, ApiError> {
        match self.store.user_by_id(id)? {
            Some(u) if !u.disabled => Ok(u.role),
            _ => Err(ApiError::Forbidden(
                "your account is disabled or gone".into(),
            )),
        }
    }

    fn create_user(&self, actor: Role, user: User) -> Result<User, ApiError> {
        may_manage(actor, user.role, None)?;
        if self.store.user(&user.username)?.is_some() {
            return Err(ApiError::InvalidField {
                field: "username".into(),
                message: "is taken".into(),
            });
        }
        self.store.put_user(&user)?;
        Ok(user)
    }

    /// Apply `change` to the user as it is now: the rules see the current state, and the
    /// write follows with nothing between.
    fn update_user(
        &self,
        actor: Role,
        username: &str,
        change: UpdateUser,
    ) -> Result<User, ApiError> {
        let mut user = self
            .store
            .user(username)?
            .ok_or(ApiError::NotFound("user".into()))?;
        may_manage(actor, user.role, change.role)?;
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
        if was && !user.active_server_admin() {
            keeps_a_server_admin(self.store.active_server_admins()?, was, false)?;
        }
        self.store.put_user(&user)?;
        if ends_sessions {
            self.store.end_sessions_of(&user.id)?;
        }
        Ok(user)
    }

    fn delete_user(&self, actor: Role, username: &str) -> Result<(), ApiError> {
        let user = self
            .store
            .user(username)?
            .ok_or(ApiError::NotFound("user".into()))?;
        may_manage(actor, user.role, None)?;
        if user.active_server_admin() {
            keeps_a_server_admin(self.store.active_server_admins()?, true, false)?;
        }
        self.store.delete_user(&user.id)
    }

    /// The session's user, if the session stands (the engine's rule). A session that
    /// does not stand is removed.
    fn session(&self, hash: &str, now: u64) -> Result<Option<User>, ApiError> {
        let Some(row) = self.store.session(hash)? else {
            return Ok(None);
        };
        let user = self
            .store
            .user_by_id(&row.user_id)?
            .filter(|u| session_stands(row.expires_at, now, !u.disabled, stamp(u) == row.stamp));
        if user.is_none() {
            self.store.end_session(hash)?;
        }
        Ok(user)
    }

    fn resolve(&self, hash: &str) -> Result<Resolved, ApiError> {
        if let Some(vault) = self.store.vault(hash)? {
            let creator = match &vault.creator_id {
                Some(id) => self.store.user_by_id(id)?,
                None => self.store.user(&vault.created_by)?,
            };
            return Ok(Resolved::Vault { creator });
        }
        let Some(stored) = self.store.token_by_hash(hash)? else {
            return Ok(Resolved::Unknown);
        };
        let creator = self.store.user_by_id(&stored.creator_id)?;
        Ok(Resolved::Api {
            stored: Box::new(stored),
            creator,
        })
    }

    fn may_see(&self, viewer: &Viewer, stored: &StoredToken) -> Result<bool, ApiError> {
        let viewer = token_viewer(viewer);
        if viewer.user_id == Some(stored.creator_id.as_str()) {
            return Ok(true);
        }
        let creator = self.store.user_by_id(&stored.creator_id)?.map(|u| u.role);
        Ok(may_see_token(viewer, &stored.creator_id, creator))
    }

    fn visible(&self, viewer: &Viewer, id: &str) -> Result<Option<StoredToken>, ApiError> {
        match self.store.token(id)? {
            Some(stored) if self.may_see(viewer, &stored)? => Ok(Some(stored)),
            _ => Ok(None),
        }
    }

    /// The token as the API shows it, with its "last used".
    fn view(&self, stored: StoredToken) -> Result<ApiToken, ApiError> {
        let mut token = stored.token;
        token.last_used_at = self.store.last_used(&token.id)?;
        Ok(token)
    }

    fn tokens(
        &self,
        viewer: &Viewer,
        all: bool,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<ApiToken>, ApiError> {
        let limit = limit.clamp(1, 1000) as usize;
        let (mut at, mut id) = cursor
            .and_then(|c| c.split_once('.'))
            .and_then(|(at, id)| Some((at.parse::<u64>().ok()?, id.to_string())))
            .unwrap_or((0, String::new()));
        let creator = if all {
            None
        } else {
            Some(viewer.user_id.as_deref().unwrap_or(""))
        };
        let mut items: Vec<ApiToken> = Vec::new();
        // Visibility filters rows after reading: read in batches until the page is full.
        loop {
            let batch = self.store.tokens_after(creator, at, &id)?;
            let exhausted = batch.len() < 200;
            for row in batch {
                (at, id) = (row.created_at, row.id.clone());
                let stored: StoredToken = parse("token", &row.body)?;
                let shown = if all {
                    self.may_see(viewer, &stored)?
                } else {
                    viewer.user_id.is_some()
                };
                if !shown {
                    continue;
                }
                if items.len() == limit {
                    let last = items
                        .last()
                        .map_or((0, ""), |t| (t.created_at, t.id.as_str()));
                    let next_cursor = Some(format!("{}.{}", last.0, last.1));
                    return Ok(Page { items, next_cursor });
                }
                items.push(self.view(stored)?);
            }
            if exhausted {
                return Ok(Page {
                    items,
                    next_cursor: None,
                });
            }
        }
    }

    fn update_token(
        &self,
        viewer: &Viewer,
        id: &str,
        change: UpdateToken,
    ) -> Result<ApiToken, ApiError> {
        let mut stored = self
            .visible(viewer, id)?
            .ok_or(ApiError::NotFound("token".into()))?;
        update_token(&mut stored.token, change, viewer.tokens_admin)?;
        self.store.update_token(&stored, false)?;
        self.view(stored)
    }

    /// Mark a token deleted and forget its secret's hash, so the secret resolves to
    /// nothing. Deleting a deleted token changes nothing.
    fn delete_token(&self, viewer: &Viewer, id: &str) -> Result<ApiToken, ApiError> {
        let mut stored = self
            .visible(viewer, id)?
            .ok_or(ApiError::NotFound("token".into()))?;
        if stored.token.status != TokenStatus::Deleted {
            stored.token.status = TokenStatus::Deleted;
            self.store.update_token(&stored, true)?;
        }
        self.view(stored)
    }
}
