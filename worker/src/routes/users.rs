//! `GET /api/users`, `POST /api/users`: list and create users.
//!
//! Just enough user management to give people roles; editing, disabling and deleting
//! users come with API tokens.

use tessera_engine::Permission;
use tessera_engine::api::{CreateUser, UserView};
use worker::{Env, Request, Response};

use crate::error::ApiError;
use crate::kv::Kv;
use crate::{auth, body, users};

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

pub(crate) async fn create(req: &mut Request, env: &Env) -> Result<Response, ApiError> {
    auth::require(req, env, Permission::UsersWrite).await?;
    let request: CreateUser = body::json(req).await?;
    let kv = Kv::from_env(env)?;
    let user = users::create(&kv, request).await?;
    super::json(201, &user.view())
}
