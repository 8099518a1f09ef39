//! The licence vault (seeds 001/002): who holds which seat, free and allocated seats,
//! revoking, blocking, disconnecting. Reachable with the vault access token and by
//! roles with `seats:read` / `seats:write`.
//!
//! Reads come from the [`VaultDirectory`](crate::objects::directory::VaultDirectory)'s
//! roll-up (never one request per licence); a licence's own state and log come from its
//! object. Changes to the deny state (block, revoke all, disconnect, and their undoing)
//! are the directory's, which pushes them to the licences in use before answering.
//!
//! - `GET /api/vault/products` — per product: seats, allocated, free, licences
//! - `GET /api/vault/products/:product/licenses` — per licence (paginated)
//! - `POST /api/vault/products/:product/disconnect`, `.../connect`
//! - `GET /api/vault/users` (`?search&cursor&limit`) — users holding seats
//! - `GET /api/vault/users/:user/licenses` — a user's leases
//! - `DELETE /api/vault/users/:user/licenses` (`?block=true`) — revoke all (and block)
//! - `DELETE /api/vault/users/:user/licenses/:lease` — revoke one
//! - `GET /api/vault/blocks`, `DELETE /api/vault/blocks/:user`
//! - `GET /api/vault/licenses/:lid`, `GET /api/vault/licenses/:lid/events`

use crate::request::Request;
use serde::Deserialize;
use tessera_engine::api::{
    ActiveUser, BlockView, HeldLease, LicencePool, LicenceSeats, Page, ProductSeats, SeatEventView,
    VaultChange,
};
use tessera_engine::{MAX_USER_BYTES, Permission, SeatEventKind, check_seat_request, lease_lid};
use worker::{Env, Response};

use crate::deployment::LicensingContext;
use crate::error::ApiError;
use crate::objects::directory::{self, DirectoryCall};
use crate::objects::licence::{LicenceCall, Licences};
use crate::query::Query;
use crate::{audit, auth, body};

/// The body of the product actions: nothing (or `{}`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(test, derive(utoipa::ToSchema))]
pub(crate) struct NoBody {}

/// A user named in a path, checked as a seat request's user is.
fn user_param(user: &str) -> Result<(), ApiError> {
    check_seat_request("-", user, "")?;
    Ok(())
}

fn product_param(product: &str) -> Result<(), ApiError> {
    check_seat_request(product, "-", "")?;
    Ok(())
}

pub(crate) async fn products(req: &Request, env: &Env) -> Result<Response, ApiError> {
    auth::require(req, env, Permission::SeatsRead).await?;
    let products: Vec<ProductSeats> = directory::ask(env, DirectoryCall::Products).await?;
    super::json(200, &products)
}

pub(crate) async fn product_licences(
    req: &Request,
    env: &Env,
    product: &str,
) -> Result<Response, ApiError> {
    auth::require(req, env, Permission::SeatsRead).await?;
    product_param(product)?;
    let q = Query::of(req)?;
    let call = DirectoryCall::ProductLicences {
        product: product.to_string(),
        cursor: q.cursor().map(String::from),
        limit: q.limit()?,
    };
    let page: Page<LicenceSeats> = directory::ask(env, call).await?;
    super::json(200, &page)
}

async fn product_action(
    req: &mut Request,
    env: &Env,
    product: &str,
    connect: bool,
) -> Result<Response, ApiError> {
    let caller = auth::require(req, env, Permission::SeatsWrite).await?;
    product_param(product)?;
    let _: NoBody = body::json(req).await?;
    let call = if connect {
        DirectoryCall::Connect {
            product: product.to_string(),
        }
    } else {
        DirectoryCall::Disconnect {
            product: product.to_string(),
            by: caller.username.clone(),
        }
    };
    let change: VaultChange = directory::ask(env, call).await?;
    let action = if connect {
        "product.connect"
    } else {
        "product.disconnect"
    };
    audit::record(req, env, &caller, action, Some(product)).await;
    super::json(200, &change)
}

pub(crate) async fn disconnect(
    req: &mut Request,
    env: &Env,
    product: &str,
) -> Result<Response, ApiError> {
    product_action(req, env, product, false).await
}

pub(crate) async fn connect(
    req: &mut Request,
    env: &Env,
    product: &str,
) -> Result<Response, ApiError> {
    product_action(req, env, product, true).await
}

pub(crate) async fn users(req: &Request, env: &Env) -> Result<Response, ApiError> {
    auth::require(req, env, Permission::SeatsRead).await?;
    let q = Query::of(req)?;
    let search = q.get("search").filter(|s| !s.is_empty());
    if search.is_some_and(|s| s.len() > MAX_USER_BYTES) {
        return Err(ApiError::InvalidField {
            field: "search",
            message: format!("is longer than {MAX_USER_BYTES} bytes"),
        });
    }
    let call = DirectoryCall::Users {
        search: search.map(String::from),
        cursor: q.cursor().map(String::from),
        limit: q.limit()?,
    };
    let page: Page<ActiveUser> = directory::ask(env, call).await?;
    super::json(200, &page)
}

pub(crate) async fn user_licences(
    req: &Request,
    env: &Env,
    user: &str,
) -> Result<Response, ApiError> {
    auth::require(req, env, Permission::SeatsRead).await?;
    user_param(user)?;
    let leases: Vec<HeldLease> = directory::ask(
        env,
        DirectoryCall::UserLeases {
            user: user.to_string(),
        },
    )
    .await?;
    super::json(200, &leases)
}

pub(crate) async fn revoke_user_licences(
    req: &Request,
    env: &Env,
    user: &str,
) -> Result<Response, ApiError> {
    let caller = auth::require(req, env, Permission::SeatsWrite).await?;
    user_param(user)?;
    let block = match Query::of(req)?.get("block") {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            return Err(ApiError::InvalidField {
                field: "block",
                message: "must be true or false".into(),
            });
        }
    };
    let call = DirectoryCall::RevokeUser {
        user: user.to_string(),
        block,
        by: caller.username.clone(),
    };
    let change: VaultChange = directory::ask(env, call).await?;
    let action = if block {
        "seats.revoke_all_and_block"
    } else {
        "seats.revoke_all"
    };
    audit::record(req, env, &caller, action, Some(user)).await;
    super::json(200, &change)
}

pub(crate) async fn revoke_user_licence(
    req: &Request,
    env: &Env,
    user: &str,
    lease: &str,
) -> Result<Response, ApiError> {
    let caller = auth::require(req, env, Permission::SeatsWrite).await?;
    user_param(user)?;
    let lid = lease_lid(lease).ok_or(ApiError::NotFound("lease"))?;
    let call = LicenceCall::RevokeLease {
        lease: lease.to_string(),
        user: user.to_string(),
    };
    let ended: bool = Licences::new(env).ask(lid, call).await?;
    if !ended {
        return Err(ApiError::NotFound("lease"));
    }
    audit::record(req, env, &caller, "seats.revoke", Some(lease)).await;
    super::json(
        200,
        &VaultChange {
            ended: 1,
            licenses: 1,
            unreachable: 0,
        },
    )
}

pub(crate) async fn blocks(req: &Request, env: &Env) -> Result<Response, ApiError> {
    auth::require(req, env, Permission::SeatsRead).await?;
    let blocks: Vec<BlockView> = directory::ask(env, DirectoryCall::Blocks).await?;
    super::json(200, &blocks)
}

pub(crate) async fn unblock(req: &Request, env: &Env, user: &str) -> Result<Response, ApiError> {
    let caller = auth::require(req, env, Permission::SeatsWrite).await?;
    user_param(user)?;
    let change: VaultChange = directory::ask(
        env,
        DirectoryCall::Unblock {
            user: user.to_string(),
        },
    )
    .await?;
    audit::record(req, env, &caller, "seats.unblock", Some(user)).await;
    super::json(200, &change)
}

/// A licence the deployment issued, or `NOT_FOUND`: an unknown id never brings a
/// licence object into being.
async fn known_licence(req: &Request, env: &Env, lid: &str) -> Result<(), ApiError> {
    let ctx = LicensingContext::load(req, env).await?;
    if !ctx.service().exists(lid).await? {
        return Err(ApiError::NotFound("licence"));
    }
    Ok(())
}

pub(crate) async fn licence(req: &Request, env: &Env, lid: &str) -> Result<Response, ApiError> {
    auth::require(req, env, Permission::SeatsRead).await?;
    known_licence(req, env, lid).await?;
    let pool: LicencePool = Licences::new(env).ask(lid, LicenceCall::State).await?;
    super::json(200, &pool)
}

pub(crate) async fn licence_events(
    req: &Request,
    env: &Env,
    lid: &str,
) -> Result<Response, ApiError> {
    auth::require(req, env, Permission::SeatsRead).await?;
    let q = Query::of(req)?;
    let kind = match q.get("kind") {
        None => None,
        Some(k) => Some(SeatEventKind::parse(k).ok_or(ApiError::InvalidField {
            field: "kind",
            message: "must be granted, refreshed, released, expired, revoked or denied".into(),
        })?),
    };
    let before = match q.get("cursor") {
        None => None,
        Some(c) => Some(c.parse::<u64>().map_err(|_| ApiError::InvalidField {
            field: "cursor",
            message: "is not a cursor this list gave".into(),
        })?),
    };
    let limit = q.limit()?;
    known_licence(req, env, lid).await?;
    let page: Page<SeatEventView> = Licences::new(env)
        .ask(
            lid,
            LicenceCall::Events {
                kind,
                before,
                limit,
            },
        )
        .await?;
    super::json(200, &page)
}
