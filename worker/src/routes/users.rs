//! Users: `GET/POST /api/users`, `GET/PATCH/DELETE /api/users/:username`.
//!
//! `PATCH` sets any of `role`, `disabled`, `password`. Only a server administrator
//! manages server administrators; the last active one cannot be disabled, demoted or
//! deleted (409).

use tessera_engine::{CreateUser, Permission, UpdateUser, UserView};
use worker::{Env, Request, Response};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::kv::Kv;
use crate::{auth, body, users};

fn actor_role(caller: &Caller) -> Result<tessera_engine::Role, ApiError> {
    caller
        .role
        .ok_or(ApiError::Forbidden("only users manage users"))
}

pub(crate) async fn list(req: &Request, env: &Env) -> Result<Response, ApiError> {
    auth::require(req, env, Permission::UsersRead).await?;
    let kv = Kv::from_env(env)?;
    let mut views: Vec<UserView> = users::list(&kv)
        .await?
        .iter()
        .map(users::User::view)
        .collect();
    views.sort_by(|a, b| a.username.cmp(&b.username));
    super::json(200, &views)
}

pub(crate) async fn get(req: &Request, env: &Env, username: &str) -> Result<Response, ApiError> {
    auth::require(req, env, Permission::UsersRead).await?;
    let kv = Kv::from_env(env)?;
    let user = users::get(&kv, username)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    super::json(200, &user.view())
}

pub(crate) async fn create(req: &mut Request, env: &Env) -> Result<Response, ApiError> {
    let caller = auth::require(req, env, Permission::UsersWrite).await?;
    let request: CreateUser = body::json(req).await?;
    let kv = Kv::from_env(env)?;
    let user = users::create(&kv, actor_role(&caller)?, request).await?;
    super::json(201, &user.view())
}

pub(crate) async fn update(
    req: &mut Request,
    env: &Env,
    username: &str,
) -> Result<Response, ApiError> {
    let caller = auth::require(req, env, Permission::UsersWrite).await?;
    let change: UpdateUser = body::json(req).await?;
    let kv = Kv::from_env(env)?;
    let user = users::update(&kv, actor_role(&caller)?, username, change).await?;
    super::json(200, &user.view())
}

pub(crate) async fn delete(req: &Request, env: &Env, username: &str) -> Result<Response, ApiError> {
    let caller = auth::require(req, env, Permission::UsersWrite).await?;
    let kv = Kv::from_env(env)?;
    users::delete(&kv, actor_role(&caller)?, username).await?;
    super::json(200, &serde_json::json!({ "deleted": username }))
}
