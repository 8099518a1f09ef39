//! The license vault (seeds 001/002): who holds which seat, free and allocated seats,
//! revoking, blocking, disconnecting. Reachable with the vault access token and by
//! roles with `seats:read` / `seats:write`.
//!
//! Reads come from the roll-up's shards ([`VaultRollup`](crate::objects::rollup::VaultRollup)),
//! asked at once and merged by the engine's rules, with blocked and disconnected from the
//! [`VaultDirectory`](crate::objects::directory::VaultDirectory) — never one request
//! per license; a license's own state and log come from its object. Changes to the deny
//! state (block, revoke all, disconnect, and their undoing) are the directory's, which
//! delivers them to the shards, and they to the licenses in use, before answering.
//!
//! - `GET /api/vault/directory` — the directory at work (deny version, backlog, calls)
//! - `GET /api/vault/products` — per product: seats, allocated, free, licenses
//! - `GET /api/vault/products/:product/licenses` — per license (paginated)
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
    ActiveUser, BlockView, DirectoryStatus, HeldLease, LicensePool, LicenseSeats, Page,
    ProductSeats, SeatEventView, VaultChange,
};
use tessera_engine::vault::{
    merge_leases, merge_license_pages, merge_products, merge_status, merge_user_pages,
};
use tessera_engine::{
    DenyState, MAX_USER_BYTES, SeatEventKind, identity, lease_lid, product_identity, user_identity,
};
use worker::{Env, Response};

use crate::auth::Caller;
use crate::deployment::LicensingContext;
use crate::error::ApiError;
use crate::objects::directory::protocol::{self as directory, DirectoryCall};
use crate::objects::license::protocol::{LicenseCall, Licenses};
use crate::objects::rollup::protocol::{self as rollup, RollupCall, encode_cursor};
use crate::query::Query;
use crate::{audit, body};

/// The body of the product actions: nothing (or `{}`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(test, derive(utoipa::ToSchema))]
pub(crate) struct NoBody {}

/// A user named in a path, checked as a seat request's user is, in its one identity
/// form: blocking `Bob` blocks `bob`, `"bob "` and `ｂｏｂ`.
fn user_param(user: &str) -> Result<String, ApiError> {
    Ok(user_identity(user)?)
}

/// A product named in a path, in its one identity form.
fn product_param(product: &str) -> Result<String, ApiError> {
    Ok(product_identity(product)?)
}

/// The deny state that stands, asked of the directory before the shards: the
/// directory answers only once any roll-up it kept from before the shards is theirs.
async fn deny(env: &Env) -> Result<DenyState, ApiError> {
    directory::ask(env, DirectoryCall::Deny).await
}

pub(crate) async fn directory_status(env: &Env) -> Result<Response, ApiError> {
    let status: DirectoryStatus = directory::ask(env, DirectoryCall::Status).await?;
    let shards: Vec<DirectoryStatus> = rollup::read_all(env, || RollupCall::Status).await?;
    super::json(200, &merge_status(status, shards))
}

pub(crate) async fn products(env: &Env) -> Result<Response, ApiError> {
    let deny = deny(env).await?;
    let shards: Vec<Vec<ProductSeats>> = rollup::read_all(env, || RollupCall::Products).await?;
    super::json(200, &merge_products(shards, &deny))
}

pub(crate) async fn product_licenses(
    req: &Request,
    env: &Env,
    product: &str,
) -> Result<Response, ApiError> {
    let product = &product_param(product)?;
    let q = Query::of(req)?;
    let (cursor, limit) = (q.cursor(), q.limit()?);
    deny(env).await?;
    let pages: Vec<Page<LicenseSeats>> = rollup::read_all(env, || RollupCall::ProductLicenses {
        product: product.to_string(),
        cursor: cursor.map(String::from),
        limit,
    })
    .await?;
    super::json(200, &merge_license_pages(pages, limit, encode_cursor))
}

async fn product_action(
    req: &mut Request,
    env: &Env,
    caller: Caller,
    product: &str,
    connect: bool,
) -> Result<Response, ApiError> {
    let product = &product_param(product)?;
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
    caller: Caller,
    product: &str,
) -> Result<Response, ApiError> {
    product_action(req, env, caller, product, false).await
}

pub(crate) async fn connect(
    req: &mut Request,
    env: &Env,
    caller: Caller,
    product: &str,
) -> Result<Response, ApiError> {
    product_action(req, env, caller, product, true).await
}

pub(crate) async fn users(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let q = Query::of(req)?;
    let search = q.get("search").filter(|s| !s.is_empty());
    if search.is_some_and(|s| s.len() > MAX_USER_BYTES) {
        return Err(ApiError::InvalidField {
            field: "search".into(),
            message: format!("is longer than {MAX_USER_BYTES} bytes"),
        });
    }
    let search = search.map(identity).filter(|s| !s.is_empty());
    let (cursor, limit) = (q.cursor(), q.limit()?);
    let deny = deny(env).await?;
    let pages: Vec<Page<ActiveUser>> = rollup::read_all(env, || RollupCall::Users {
        search: search.clone(),
        cursor: cursor.map(String::from),
        limit,
    })
    .await?;
    super::json(200, &merge_user_pages(pages, limit, &deny, encode_cursor))
}

pub(crate) async fn user_licenses(env: &Env, user: &str) -> Result<Response, ApiError> {
    let user = &user_param(user)?;
    deny(env).await?;
    let shards: Vec<Vec<HeldLease>> = rollup::read_all(env, || RollupCall::UserLeases {
        user: user.to_string(),
    })
    .await?;
    super::json(200, &merge_leases(shards))
}

pub(crate) async fn revoke_user_licenses(
    req: &Request,
    env: &Env,
    caller: Caller,
    user: &str,
) -> Result<Response, ApiError> {
    let user = &user_param(user)?;
    let block = Query::of(req)?.flag("block")?;
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

pub(crate) async fn revoke_user_license(
    req: &Request,
    env: &Env,
    caller: Caller,
    user: &str,
    lease: &str,
) -> Result<Response, ApiError> {
    let user = &user_param(user)?;
    let lid = lease_lid(lease).ok_or(ApiError::NotFound("lease".into()))?;
    let call = LicenseCall::RevokeLease {
        lease: lease.to_string(),
        user: user.to_string(),
    };
    let ended: bool = Licenses::new(env).ask(lid, call).await?;
    if !ended {
        return Err(ApiError::NotFound("lease".into()));
    }
    audit::record(req, env, &caller, "seats.revoke", Some(lease)).await;
    super::json(
        200,
        &VaultChange {
            ended: 1,
            licenses: 1,
            ..VaultChange::default()
        },
    )
}

pub(crate) async fn blocks(env: &Env) -> Result<Response, ApiError> {
    let blocks: Vec<BlockView> = directory::ask(env, DirectoryCall::Blocks).await?;
    super::json(200, &blocks)
}

pub(crate) async fn unblock(
    req: &Request,
    env: &Env,
    caller: Caller,
    user: &str,
) -> Result<Response, ApiError> {
    let user = &user_param(user)?;
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

/// A license the deployment issued, or `NOT_FOUND`: an unknown id never brings a
/// license object into being.
pub(crate) async fn known_license(req: &Request, env: &Env, lid: &str) -> Result<(), ApiError> {
    let ctx = LicensingContext::load(req, env).await?;
    if !ctx.service().exists(lid).await? {
        return Err(ApiError::NotFound("license".into()));
    }
    Ok(())
}

pub(crate) async fn license(req: &Request, env: &Env, lid: &str) -> Result<Response, ApiError> {
    known_license(req, env, lid).await?;
    let pool: LicensePool = Licenses::new(env).ask(lid, LicenseCall::State).await?;
    super::json(200, &pool)
}

pub(crate) async fn license_events(
    req: &Request,
    env: &Env,
    lid: &str,
) -> Result<Response, ApiError> {
    let q = Query::of(req)?;
    let kind = match q.get("kind") {
        None => None,
        Some(k) => Some(SeatEventKind::parse(k).ok_or(ApiError::InvalidField {
            field: "kind".into(),
            message: "must be granted, refreshed, released, expired, revoked or denied".into(),
        })?),
    };
    let before = match q.get("cursor") {
        None => None,
        Some(c) => Some(c.parse::<u64>().map_err(|_| ApiError::InvalidField {
            field: "cursor".into(),
            message: "is not a cursor this list gave".into(),
        })?),
    };
    let limit = q.limit()?;
    known_license(req, env, lid).await?;
    let page: Page<SeatEventView> = Licenses::new(env).events(lid, kind, before, limit).await?;
    super::json(200, &page)
}
