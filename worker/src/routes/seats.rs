//! The app-facing seat endpoints: `POST /api/seats/checkout`, `/heartbeat`, `/release`.
//!
//! An app authenticates with what it already holds — its license token to check out,
//! then the lease token — so no administrator's credential ever ships inside an app.
//! The worker verifies the token, the license's object decides (`LicenseObject`, which
//! answers a refusal as the engine's `SeatDenial`), and the worker signs a lease token
//! (`typ` `lease+jwt`) that the npm validator verifies offline until the lease ends.
//!
//! - checkout `{license, product, user, host?}` → 201 a new lease, 200 a refreshed one;
//!   409 `NO_SEAT_AVAILABLE` / `SESSION_LIMIT_REACHED`, 403 `PRODUCT_DISCONNECTED` /
//!   `USER_BLOCKED` / the license's own code (`REVOKED`, `LICENSE_EXPIRED`, ...).
//! - heartbeat `{token}` → 200 the extended lease and a fresh token; 410
//!   `LEASE_EXPIRED` / `LEASE_REVOKED` once it is gone.
//! - release `{token}` → 204, also when it was already gone.

use crate::request::Request;
use tessera_engine::api::{CheckoutRequest, LeaseAnswer, LeaseTokenRequest, LeaseView};
use tessera_engine::{
    Decision, DenyCode, Expectations, LeaseClaims, SeatDenial, SeatTerms, check_seat_request,
    plausible_id, sign_lease, verify_lease,
};
use worker::{Env, Response};

use crate::deployment::LicensingContext;
use crate::error::ApiError;
use crate::objects::license::protocol::{Beat, Granted, LicenseCall};
use crate::{body, platform};

pub(crate) async fn checkout(req: &mut Request, env: &Env) -> Result<Response, ApiError> {
    let request: CheckoutRequest = body::json(req).await?;
    check_seat_request(&request.product, &request.user, &request.host)?;
    let ctx = LicensingContext::load(req, env).await?;
    let now = platform::now();
    let expect = Expectations::default()
        .issuer(ctx.issuer.as_str())
        .product(request.product.as_str());
    let token = request.license.trim();
    // A license that verifies but is refused (expired, another product) is recorded as
    // a denial in its license's log; one that does not verify has no license to tell.
    let (claims, refused) = match ctx.keys.validate(token, &expect, now) {
        Decision::Allow(license) => (license.claims, None),
        Decision::Deny(code) => match ctx.keys.verify(token) {
            Ok(claims) if claims.iss == ctx.issuer && plausible_id(&claims.lid) => {
                (claims, Some(code))
            }
            _ => return Err(ApiError::Seat(SeatDenial::License(code))),
        },
    };
    if !plausible_id(&claims.lid) {
        return Err(ApiError::Seat(SeatDenial::License(DenyCode::Malformed)));
    }
    let lease_id = format!("{}.{}", claims.lid, platform::random_id()?);
    let call = LicenseCall::Checkout {
        terms: SeatTerms::from_claims(&claims, tessera_engine::DEFAULT_LEASE_SECONDS),
        product: request.product,
        user: request.user,
        host: request.host,
        lease_id,
        refused,
    };
    let granted: Granted = ctx.live().ask(&claims.lid, call).await?;
    let status = if granted.created { 201 } else { 200 };
    super::json(status, &lease_answer(&ctx, &claims.lid, granted.beat, now)?)
}

/// The lease and a freshly signed lease token for it.
fn lease_answer(
    ctx: &LicensingContext<'_>,
    lid: &str,
    beat: Beat,
    now: u64,
) -> Result<LeaseAnswer, ApiError> {
    let Beat {
        lease,
        session,
        heartbeat_seconds,
    } = beat;
    let claims = LeaseClaims {
        iss: ctx.issuer.clone(),
        jti: lease.id.clone(),
        lid: lid.to_string(),
        prod: lease.product.clone(),
        user: lease.user.clone(),
        host: session.host.clone(),
        iat: now,
        exp: session.expires_at,
    };
    let token = sign_lease(&claims, ctx.signer())?;
    Ok(LeaseAnswer {
        lease: LeaseView {
            id: lease.id,
            lid: lid.to_string(),
            product: lease.product,
            user: lease.user,
            host: session.host,
            since: lease.since,
            expires_at: session.expires_at,
            heartbeat_seconds,
            overage: lease.overage,
        },
        token,
    })
}

/// Read and verify a lease token from the body: our signature, our issuer.
async fn lease_token(
    req: &mut Request,
    ctx: &LicensingContext<'_>,
) -> Result<LeaseClaims, ApiError> {
    let request: LeaseTokenRequest = body::json(req).await?;
    let claims =
        verify_lease(request.token.trim(), &ctx.keys.set).map_err(ApiError::InvalidLease)?;
    if claims.iss != ctx.issuer {
        return Err(ApiError::InvalidLease(DenyCode::WrongIssuer));
    }
    Ok(claims)
}

pub(crate) async fn heartbeat(req: &mut Request, env: &Env) -> Result<Response, ApiError> {
    let ctx = LicensingContext::load(req, env).await?;
    let claims = lease_token(req, &ctx).await?;
    let now = platform::now();
    // A session never outlives its token, so a token past its time means the lease
    // expired; a live token whose session is gone means it ended early.
    if now >= claims.exp {
        return Err(ApiError::LeaseGone { expired: true });
    }
    let call = LicenseCall::Heartbeat {
        lease: claims.jti.clone(),
        product: claims.prod.clone(),
        user: claims.user.clone(),
        host: claims.host.clone(),
    };
    let beat: Option<Beat> = ctx.live().ask(&claims.lid, call).await?;
    let beat = beat.ok_or(ApiError::LeaseGone { expired: false })?;
    super::json(200, &lease_answer(&ctx, &claims.lid, beat, now)?)
}

pub(crate) async fn release(req: &mut Request, env: &Env) -> Result<Response, ApiError> {
    let ctx = LicensingContext::load(req, env).await?;
    let claims = lease_token(req, &ctx).await?;
    let call = LicenseCall::Release {
        lease: claims.jti,
        product: claims.prod,
        user: claims.user,
        host: claims.host,
    };
    ctx.live().ask::<()>(&claims.lid, call).await?;
    Ok(Response::empty()?.with_status(204))
}
