//! Users in KV (`user:<username>`), and the bootstrap server administrator.
//!
//! On the first authenticated request of an isolate, if no user exists at all, the
//! worker creates a server administrator named `ADMIN_USER` (default `admin`) with the
//! password in the `ADMIN_PASSWORD` secret. Later changes to the secret do not touch an
//! existing user.

use std::cell::Cell;

use serde::{Deserialize, Serialize};
use tessera_engine::api::{CreateUser, UserView};
use tessera_engine::{PBKDF2_ITERATIONS, PasswordHash, Role, Store};
use worker::Env;

use crate::error::ApiError;
use crate::kv::Kv;
use crate::platform;

/// A stored user. `password` is a `PasswordHash` record, never a password.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct User {
    pub(crate) username: String,
    pub(crate) role: Role,
    pub(crate) password: String,
    pub(crate) created_at: u64,
}

impl User {
    pub(crate) fn view(&self) -> UserView {
        UserView {
            username: self.username.clone(),
            role: self.role,
            created_at: self.created_at,
        }
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

/// Create a user; refuses an existing name (409-free: it is a field error).
pub(crate) async fn create(kv: &Kv, req: CreateUser) -> Result<User, ApiError> {
    if !valid_username(&req.username) {
        return Err(ApiError::InvalidField {
            field: "username",
            message: "must be 1 to 64 of a-z 0-9 . _ -".into(),
        });
    }
    if req.password.chars().count() < MIN_PASSWORD {
        return Err(ApiError::InvalidField {
            field: "password",
            message: format!("must be at least {MIN_PASSWORD} characters"),
        });
    }
    if get(kv, &req.username).await?.is_some() {
        return Err(ApiError::InvalidField {
            field: "username",
            message: "is taken".into(),
        });
    }
    let user = User {
        username: req.username,
        role: req.role,
        password: hash(&req.password).await?,
        created_at: platform::now(),
    };
    put(kv, &user).await?;
    Ok(user)
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
        let password = env
            .secret("ADMIN_PASSWORD")
            .map(|s| s.to_string())
            .map_err(|_| {
                ApiError::Internal(
                    "no users yet and no ADMIN_PASSWORD secret to create the first one".into(),
                )
            })?;
        if !valid_username(&username) {
            return Err(ApiError::Internal(
                "ADMIN_USER is not a valid username".into(),
            ));
        }
        let user = User {
            username,
            role: Role::ServerAdmin,
            password: hash(&password).await?,
            created_at: platform::now(),
        };
        put(kv, &user).await?;
        worker::console_log!(
            "created the first server administrator, {:?}",
            user.username
        );
    }
    BOOTSTRAPPED.set(true);
    Ok(())
}
