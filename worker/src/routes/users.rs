//! Users: `GET/POST /api/users`, `GET/PATCH/DELETE /api/users/:username`.
//!
//! `PATCH` sets any of `role`, `disabled`, `password`. Only a server administrator
//! manages server administrators; the last active one cannot be disabled, demoted or
//! deleted (409). Lists come in pages (`?cursor`, `?limit`), by name.

use crate::request::Request;
use serde::Serialize;
use tessera_engine::api::Page;
use tessera_engine::{CreateUser, UpdateUser, UserView};
use worker::{Env, Response};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::objects::accounts::protocol::User;
use crate::query::Query;
use crate::{audit, body, users};

fn actor(caller: &Caller) -> Result<users::Actor, ApiError> {
    match (&caller.user_id, caller.role) {
        (Some(id), Some(role)) => Ok(users::Actor {
            id: id.clone(),
            role,
        }),
        _ => Err(ApiError::Forbidden("only users manage users".into())),
    }
}

pub(crate) async fn list(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let q = Query::of(req)?;
    let page = users::list(env, q.cursor(), q.limit()?).await?;
    let views = Page {
        items: page.items.iter().map(User::view).collect::<Vec<UserView>>(),
        next_cursor: page.next_cursor,
    };
    super::json(200, &views)
}

pub(crate) async fn get(env: &Env, username: &str) -> Result<Response, ApiError> {
    let user = users::get(env, username)
        .await?
        .ok_or(ApiError::NotFound("user".into()))?;
    super::json(200, &user.view())
}

pub(crate) async fn create(
    req: &mut Request,
    env: &Env,
    caller: Caller,
) -> Result<Response, ApiError> {
    let request: CreateUser = body::json(req).await?;
    let user = users::create(env, &actor(&caller)?, request).await?;
    audit::record(req, env, &caller, "user.create", Some(&user.username)).await;
    super::json(201, &user.view())
}

pub(crate) async fn update(
    req: &mut Request,
    env: &Env,
    caller: Caller,
    username: &str,
) -> Result<Response, ApiError> {
    let change: UpdateUser = body::json(req).await?;
    let user = users::update(env, &actor(&caller)?, username, change).await?;
    audit::record(req, env, &caller, "user.update", Some(&user.username)).await;
    super::json(200, &user.view())
}

/// The answer of a deletion: the name that is gone.
#[derive(Serialize)]
#[cfg_attr(test, derive(utoipa::ToSchema))]
pub(crate) struct Deleted {
    deleted: String,
}

pub(crate) async fn delete(
    req: &Request,
    env: &Env,
    caller: Caller,
    username: &str,
) -> Result<Response, ApiError> {
    users::delete(env, &actor(&caller)?, username).await?;
    audit::record(req, env, &caller, "user.delete", Some(username)).await;
    let deleted = Deleted {
        deleted: username.to_string(),
    };
    super::json(200, &deleted)
}
