//! The app-facing seat endpoints: `POST /api/seats/checkout`, `/heartbeat`, `/release`.
//!
//! An app authenticates with what it already holds — its license token to check out,
//! then the lease token — and every call proves which installation it comes from
//! (RFC 9449 DPoP: a `DPoP` proof signed by the installation's own key, `proof.rs`), so
//! no administrator's credential ships inside an app and a copied lease token is
//! useless without the key. The worker verifies the tokens and the proof, the
//! license's object decides (`LicenseObject`, which answers a refusal as the engine's
//! `SeatDenial` and refuses a replayed proof), and the worker signs a lease token
//! (`typ` `lease+jwt`, bound to the installation by `cnf.jkt`, with its generation)
//! that the npm package verifies offline until the lease ends.
//!
//! - checkout `{license, product, user, host?}` + `DPoP` → 201 a new lease, 200 a
//!   refreshed one; 409 `NO_SEAT_AVAILABLE` / `SESSION_LIMIT_REACHED`, 403
//!   `PRODUCT_DISCONNECTED` / `USER_BLOCKED` / `MACHINE_NOT_ACTIVATED` / the license's
//!   own code (`REVOKED`, `LICENSE_EXPIRED`, ...).
//! - heartbeat, `Authorization: DPoP <lease token>` + `DPoP` (+ `Idempotency-Key`) →
//!   200 the extended lease and the next generation's token; 410 `LEASE_EXPIRED` /
//!   `LEASE_REVOKED` / `CLONE_DETECTED` once it is gone.
//! - release, the same → 204, also when it was already gone.
//!
//! A missing, stale, replayed or misdirected proof, or one signed by another key than
//! the lease's, is 401 `INVALID_PROOF` and changes nothing.

use tessera_engine::api::{CheckoutRequest, Empty, LeaseAnswer, LeaseView};
use tessera_engine::{
    DenyCode, LEASE_TYP, LeaseClaims, SeatTerms, seat_names, sign_with, verify_lease,
};
use worker::{Env, Response};

use crate::deployment::LicensingContext;
use crate::error::{ApiError, Gone};
use crate::objects::license::protocol::{Beat, Granted, Heartbeat, LicenseCall};
use crate::request::Request;
use crate::{body, platform, proof};

pub(crate) async fn checkout(req: &mut Request, env: &Env) -> Result<Response, ApiError> {
    let request: CheckoutRequest = body::json(req).await?;
    let names = seat_names(&request.product, &request.user, &request.host)?;
    let proof = proof::verify(req, None)?;
    let ctx = LicensingContext::load(req, env).await?;
    let now = platform::now();
    let (claims, refused) = ctx.license_for_app(&request.license, Some(&names.product), now)?;
    let lease_id = format!("{}.{}", claims.lid, platform::random_id()?);
    let call = LicenseCall::Checkout {
        terms: SeatTerms::from_claims(&claims, tessera_engine::DEFAULT_LEASE_SECONDS),
        product: names.product,
        user: names.user,
        host: names.host,
        installation: proof.jkt.clone(),
        lease_id,
        refused,
        proof: (&proof).into(),
    };
    let granted: Granted = ctx.live().ask(&claims.lid, call).await?;
    let status = if granted.created { 201 } else { 200 };
    super::json(
        status,
        &lease_answer(&ctx, &claims.lid, granted.beat, now).await?,
    )
}

/// The lease and a freshly signed lease token for it, bound to its installation.
async fn lease_answer(
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
        cnf: tessera_engine::Confirmation {
            jkt: session.installation.clone(),
        },
        r#gen: session.generation,
    };
    let token = sign_with(&claims, LEASE_TYP, ctx.signer()?).await?;
    Ok(LeaseAnswer {
        lease: LeaseView {
            id: lease.id,
            lid: lid.to_string(),
            product: lease.product,
            user: lease.user,
            host: session.host,
            installation: session.installation,
            generation: session.generation,
            since: lease.since,
            expires_at: session.expires_at,
            heartbeat_seconds,
            overage: lease.overage,
        },
        token,
    })
}

/// The lease token the request presents (`Authorization: DPoP`), verified — our
/// signature, our issuer — with the request's proof, signed by the key the lease is
/// bound to. The body must be empty (or `{}`).
async fn presented_lease(
    req: &mut Request,
    ctx: &LicensingContext<'_>,
) -> Result<(LeaseClaims, tessera_engine::Proof), ApiError> {
    let _: Empty = body::json(req).await?;
    let token = proof::bound_token(req)?;
    let claims = verify_lease(&token, &ctx.keys.set).map_err(ApiError::InvalidLease)?;
    if claims.iss != ctx.issuer {
        return Err(ApiError::InvalidLease(DenyCode::WrongIssuer));
    }
    let proof = proof::verify_bound(req, &token, &claims.cnf.jkt)?;
    Ok((claims, proof))
}

pub(crate) async fn heartbeat(req: &mut Request, env: &Env) -> Result<Response, ApiError> {
    let ctx = LicensingContext::load(req, env).await?;
    #[cfg(feature = "bench")]
    if crate::bench::stops_after(req, "context") {
        return crate::bench::stopped();
    }
    let (claims, proof) = presented_lease(req, &ctx).await?;
    #[cfg(feature = "bench")]
    if crate::bench::stops_after(req, "lease") {
        return crate::bench::stopped();
    }
    let now = platform::now();
    // A session never outlives its token, so a token past its time means the lease
    // expired; a live token whose session is gone ended early (or as a clone).
    if now >= claims.exp {
        return Err(ApiError::LeaseGone(Gone::Expired));
    }
    let call = LicenseCall::Heartbeat {
        lease: claims.jti.clone(),
        product: claims.prod.clone(),
        user: claims.user.clone(),
        installation: claims.cnf.jkt.clone(),
        generation: claims.r#gen,
        key: proof::idempotency_key(req),
        proof: (&proof).into(),
    };
    match ctx.live().ask(&claims.lid, call).await? {
        #[cfg(feature = "bench")]
        Heartbeat::Beat(_) if crate::bench::stops_after(req, "object") => crate::bench::stopped(),
        Heartbeat::Beat(beat) => {
            super::json(200, &lease_answer(&ctx, &claims.lid, *beat, now).await?)
        }
        Heartbeat::Gone { why } => Err(ApiError::LeaseGone(why)),
    }
}

pub(crate) async fn release(req: &mut Request, env: &Env) -> Result<Response, ApiError> {
    let ctx = LicensingContext::load(req, env).await?;
    let (claims, proof) = presented_lease(req, &ctx).await?;
    let call = LicenseCall::Release {
        lease: claims.jti,
        product: claims.prod,
        user: claims.user,
        installation: claims.cnf.jkt,
        proof: (&proof).into(),
    };
    ctx.live().ask::<()>(&claims.lid, call).await?;
    Ok(Response::empty()?.with_status(204))
}
