//! Users in KV (`user:<username>`), and the bootstrap server administrator.
//!
//! The rules for changing users (no escalation to server administrator, the last
//! active server administrator stays) are the engine's; this module loads what they
//! need. KV does not serialise concurrent changes: two administrators demoting the last
//! two server administrators at the same instant could both pass the check.
//!
//! On the first authenticated request of an isolate, if no user exists at all, the
//! worker creates a server administrator named `ADMIN_USER` (default `admin`) with the
//! password in the `ADMIN_PASSWORD` secret. Later changes to the secret do not touch an
//! existing user.

use std::cell::Cell;

use serde::{Deserialize, Serialize};
use tessera_engine::{
    CreateUser, PBKDF2_ITERATIONS, PasswordHash, Role, Store, UpdateUser, UserView,
    keeps_a_server_admin, may_manage,
};
use worker::Env;

use crate::error::ApiError;
use crate::kv::Kv;
use crate::platform;

/// A stored user. `password` is a `PasswordHash` record, never a password.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct User {
    /// Random and never reused: tokens remember it, so a user deleted and re-created
    /// under the same name does not inherit the old one's tokens.
    pub(crate) id: String,
    pub(crate) username: String,
    pub(crate) role: Role,
    pub(crate) password: String,
    pub(crate) created_at: u64,
    #[serde(default)]
    pub(crate) disabled: bool,
}

impl User {
    pub(crate) fn view(&self) -> UserView {
        UserView {
            username: self.username.clone(),
            role: self.role,
            disabled: self.disabled,
            created_at: self.created_at,
        }
    }

    fn active_server_admin(&self) -> bool {
        self.role == Role::ServerAdmin && !self.disabled
    }
}

/// Shortest password accepted for a new user.
const MIN_PASSWORD: usize = 12;

thread_local! {
    static BOOTSTRAPPED: Cell<bool> = const { Cell::new(false) };
}

fn key(username: &str) -> String {
    format!("user:{username}")
}

/// Whether `name` is an acceptable username: 1 to 64 of `a-z 0-9 . _ -`.
pub(crate) fn valid_username(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

pub(crate) async fn get(kv: &Kv, username: &str) -> Result<Option<User>, ApiError> {
    if !valid_username(username) {
        return Ok(None);
    }
    match kv.get(&key(username)).await? {
        None => Ok(None),
        Some(json) => serde_json::from_str(&json)
            .map(Some)
            .map_err(|e| ApiError::Internal(format!("corrupt user record: {e}"))),
    }
}

pub(crate) async fn list(kv: &Kv) -> Result<Vec<User>, ApiError> {
    let mut out = Vec::new();
    for k in kv.list("user:").await? {
        if let Some(json) = kv.get(&k).await? {
            let user: User = serde_json::from_str(&json)
                .map_err(|e| ApiError::Internal(format!("corrupt user record: {e}")))?;
            out.push(user);
        }
    }
    Ok(out)
}

async fn hash(password: &str) -> Result<String, ApiError> {
    let salt = platform::random::<16>()?;
    let hash = platform::pbkdf2(password, &salt, PBKDF2_ITERATIONS).await?;
    Ok(PasswordHash {
        iterations: PBKDF2_ITERATIONS,
        salt,
        hash,
    }
    .encode())
}

fn check_password(password: &str) -> Result<(), ApiError> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(ApiError::InvalidField {
            field: "password",
            message: format!("must be at least {MIN_PASSWORD} characters"),
        });
    }
    Ok(())
}

/// Create a user, as `actor`; an existing name is a field error.
pub(crate) async fn create(kv: &Kv, actor: Role, req: CreateUser) -> Result<User, ApiError> {
    may_manage(actor, req.role, None)?;
    if !valid_username(&req.username) {
        return Err(ApiError::InvalidField {
            field: "username",
            message: "must be 1 to 64 of a-z 0-9 . _ -".into(),
        });
    }
    check_password(&req.password)?;
    if get(kv, &req.username).await?.is_some() {
        return Err(ApiError::InvalidField {
            field: "username",
            message: "is taken".into(),
        });
    }
    let user = User {
        id: platform::random_id()?,
        username: req.username,
        role: req.role,
        password: hash(&req.password).await?,
        created_at: platform::now(),
        disabled: false,
    };
    put(kv, &user).await?;
    Ok(user)
}

async fn active_server_admins(kv: &Kv) -> Result<usize, ApiError> {
    Ok(list(kv)
        .await?
        .iter()
        .filter(|u| u.active_server_admin())
        .count())
}

/// Change a user's role, status or password, as `actor`.
pub(crate) async fn update(
    kv: &Kv,
    actor: Role,
    username: &str,
    change: UpdateUser,
) -> Result<User, ApiError> {
    let mut user = get(kv, username).await?.ok_or(ApiError::NotFound("user"))?;
    may_manage(actor, user.role, change.role)?;
    let was = user.active_server_admin();
    if let Some(role) = change.role {
        user.role = role;
    }
    if let Some(disabled) = change.disabled {
        user.disabled = disabled;
    }
    if was && !user.active_server_admin() {
        keeps_a_server_admin(active_server_admins(kv).await?, was, false)?;
    }
    if let Some(password) = change.password {
        check_password(&password)?;
        user.password = hash(&password).await?;
    }
    put(kv, &user).await?;
    Ok(user)
}

/// Delete a user, as `actor`. Their tokens stop working (they name the old user's id).
pub(crate) async fn delete(kv: &Kv, actor: Role, username: &str) -> Result<(), ApiError> {
    let user = get(kv, username).await?.ok_or(ApiError::NotFound("user"))?;
    may_manage(actor, user.role, None)?;
    if user.active_server_admin() {
        keeps_a_server_admin(active_server_admins(kv).await?, true, false)?;
    }
    Ok(kv.delete(&key(username)).await?)
}

async fn put(kv: &Kv, user: &User) -> Result<(), ApiError> {
    let json = serde_json::to_string(user).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(kv.put(&key(&user.username), &json).await?)
}

/// Create the first server administrator if there are no users yet.
pub(crate) async fn bootstrap(env: &Env, kv: &Kv) -> Result<(), ApiError> {
    if BOOTSTRAPPED.get() {
        return Ok(());
    }
    if kv.list("user:").await?.is_empty() {
        let username = env
            .var("ADMIN_USER")
            .map(|v| v.to_string())
            .unwrap_or_else(|_| "admin".to_string());
        if !valid_username(&username) {
            return Err(ApiError::Internal(
                "ADMIN_USER is not a valid username".into(),
            ));
        }
        // KV's list is eventually consistent: another location may have created the
        // first administrator a moment ago. Never overwrite one.
        if get(kv, &username).await?.is_none() {
            let password = env
                .secret("ADMIN_PASSWORD")
                .map(|s| s.to_string())
                .map_err(|_| {
                    ApiError::Internal(
                        "no users yet and no ADMIN_PASSWORD secret to create the first one".into(),
                    )
                })?;
            let user = User {
                id: platform::random_id()?,
                username,
                role: Role::ServerAdmin,
                password: hash(&password).await?,
                created_at: platform::now(),
                disabled: false,
            };
            put(kv, &user).await?;
            worker::console_log!(
                "created the first server administrator, {:?}",
                user.username
            );
        }
    }
    BOOTSTRAPPED.set(true);
    Ok(())
}
