//! Users, kept by the [`AccountsObject`](crate::objects::accounts::AccountsObject), and the
//! bootstrap server administrator.
//!
//! This module checks what the worker can check alone (a username's shape, a password's
//! length) and hashes passwords (PBKDF2 in Web Crypto, asynchronous); the accounts
//! object applies the engine's rules (no escalation to server administrator, the last
//! active server administrator stays) and writes, in one step.
//!
//! On the first authenticated request of an isolate, if no user exists at all, the
//! worker creates a server administrator named `ADMIN_USER` (default `admin`) with the
//! password in the `ADMIN_PASSWORD` secret. Later changes to the secret do not touch an
//! existing user.

use std::cell::Cell;

use tessera_engine::api::Page;
use tessera_engine::{CreateUser, PBKDF2_ITERATIONS, PasswordHash, Role, UpdateUser};
use worker::Env;

use crate::error::ApiError;
use crate::objects::accounts::protocol::{self as accounts, AccountsCall, User};
use crate::platform;

/// Shortest password accepted for a new user.
const MIN_PASSWORD: usize = 12;

thread_local! {
    static BOOTSTRAPPED: Cell<bool> = const { Cell::new(false) };
}

/// Whether `name` is an acceptable username: 1 to 64 of `a-z 0-9 . _ -`.
pub(crate) fn valid_username(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

/// The user named `username`, as stored now.
pub(crate) async fn get(env: &Env, username: &str) -> Result<Option<User>, ApiError> {
    if !valid_username(username) {
        return Ok(None);
    }
    accounts::ask(
        env,
        AccountsCall::User {
            username: username.to_string(),
        },
    )
    .await
}

/// A page of users, by name.
pub(crate) async fn list(
    env: &Env,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<User>, ApiError> {
    let call = AccountsCall::Users {
        cursor: cursor.map(String::from),
        limit,
    };
    accounts::ask(env, call).await
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
            field: "password".into(),
            message: format!("must be at least {MIN_PASSWORD} characters"),
        });
    }
    Ok(())
}

/// Who is changing users: their id (the accounts object rereads their role when it
/// writes) and their role now (for the checks made before a password is hashed).
#[derive(Debug, Clone)]
pub(crate) struct Actor {
    pub(crate) id: String,
    pub(crate) role: Role,
}

/// Create a user, as `actor`; an existing name is a field error.
pub(crate) async fn create(env: &Env, actor: &Actor, req: CreateUser) -> Result<User, ApiError> {
    tessera_engine::may_manage(actor.role, req.role, None)?;
    if !valid_username(&req.username) {
        return Err(ApiError::InvalidField {
            field: "username".into(),
            message: "must be 1 to 64 of a-z 0-9 . _ -".into(),
        });
    }
    check_password(&req.password)?;
    let user = User {
        id: platform::random_id()?,
        username: req.username,
        role: req.role,
        password: hash(&req.password).await?,
        created_at: platform::now(),
        disabled: false,
    };
    let call = AccountsCall::CreateUser {
        actor_id: actor.id.clone(),
        user,
    };
    accounts::ask(env, call).await
}

/// Change a user's role, status or password, as `actor`. A new password is hashed here;
/// the rest is decided against the user as stored when the change is written.
pub(crate) async fn update(
    env: &Env,
    actor: &Actor,
    username: &str,
    mut change: UpdateUser,
) -> Result<User, ApiError> {
    if !valid_username(username) {
        return Err(ApiError::NotFound("user".into()));
    }
    if let Some(password) = change.password.take() {
        check_password(&password)?;
        change.password = Some(hash(&password).await?);
    }
    let call = AccountsCall::UpdateUser {
        actor_id: actor.id.clone(),
        username: username.to_string(),
        change,
    };
    accounts::ask(env, call).await
}

/// Delete a user, as `actor`. Their tokens stop working (they name the old user's id).
pub(crate) async fn delete(env: &Env, actor: &Actor, username: &str) -> Result<(), ApiError> {
    if !valid_username(username) {
        return Err(ApiError::NotFound("user".into()));
    }
    let call = AccountsCall::DeleteUser {
        actor_id: actor.id.clone(),
        username: username.to_string(),
    };
    accounts::ask(env, call).await
}

/// Create the first server administrator if there are no users yet (the accounts object
/// creates it only while there is none, so two isolates racing here make one).
pub(crate) async fn bootstrap(env: &Env) -> Result<(), ApiError> {
    if BOOTSTRAPPED.get() {
        return Ok(());
    }
    if !accounts::ask::<bool>(env, AccountsCall::HasUsers).await? {
        let username = env
            .var("ADMIN_USER")
            .map(|v| v.to_string())
            .unwrap_or_else(|_| "admin".to_string());
        if !valid_username(&username) {
            return Err(ApiError::Internal(
                "ADMIN_USER is not a valid username".into(),
            ));
        }
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
        let name = user.username.clone();
        if accounts::ask::<bool>(env, AccountsCall::Bootstrap { user }).await? {
            worker::console_log!("created the first server administrator, {name:?}");
        }
    }
    BOOTSTRAPPED.set(true);
    Ok(())
}
