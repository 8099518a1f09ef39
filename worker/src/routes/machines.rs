//! Machines: activating a license on an installation (node-locked licenses), and
//! deactivating it.
//!
//! - `POST /api/machines/activate` `{license, name?, platform?, fingerprint?}` + `DPoP`
//!   → 201 `{machine, token}` for a new machine, 200 for an installation already
//!   active; 409 `MACHINE_LIMIT_REACHED`; 429 `TOO_MANY_ACTIVATIONS` with
//!   `Retry-After`; 403 the license's own code. The token (`typ` `machine+jwt`, bound
//!   to the installation's key, for [`MACHINE_TOKEN_SECONDS`] or until the license ends)
//!   is what a node-locked app checks offline at start; activating again renews it.
//! - `DELETE /api/machines/:id` — by the machine itself (`Authorization: DPoP <machine
//!   token>` + `DPoP`), or by an administrator (`seats:write`, the vault token) → 200
//!   the machine that was; its seats end. 404 for a machine that is not (or not yours).
//! - `GET /api/vault/licenses/:lid/machines` (`?cursor&limit`, `seats:read`).
//!
//! Activations and deactivations are seat events of the license, and audit entries.

use tessera_engine::api::{ActivateAnswer, ActivateRequest, MachineView, Page};
use tessera_engine::{
    Confirmation, DenyCode, MACHINE_TOKEN_SECONDS, MACHINE_TYP, MAX_MACHINE_FIELD_BYTES, Machine,
    MachineClaims, SeatTerms, lease_lid, sign_with, verify_machine,
};
use worker::{Env, Response};

use crate::auth::Caller;
use crate::deployment::LicensingContext;
use crate::error::ApiError;
use crate::objects::license::protocol::{Activated, LicenseCall, machine_view};
use crate::query::Query;
use crate::request::Request;
use crate::{audit, body, platform, proof};

/// A machine's name, platform or fingerprint: optional, bounded, no control characters.
fn detail(field: &'static str, value: &str) -> Result<String, ApiError> {
    let value = value.trim();
    if value.len() > MAX_MACHINE_FIELD_BYTES || value.chars().any(char::is_control) {
        return Err(ApiError::InvalidField {
            field: field.into(),
            message: format!(
                "must be at most {MAX_MACHINE_FIELD_BYTES} bytes, without control characters"
            ),
        });
    }
    Ok(value.to_string())
}

pub(crate) async fn activate(req: &mut Request, env: &Env) -> Result<Response, ApiError> {
    let request: ActivateRequest = body::json(req).await?;
    let name = detail("name", &request.name)?;
    let platform_name = detail("platform", &request.platform)?;
    let fingerprint = detail("fingerprint", &request.fingerprint)?;
    let proof = proof::verify(req, None)?;
    let ctx = LicensingContext::load(req, env).await?;
    let now = platform::now();
    let (claims, refused) = ctx.license_for_app(&request.license, None, now)?;
    let call = LicenseCall::Activate {
        terms: SeatTerms::from_claims(&claims, tessera_engine::DEFAULT_LEASE_SECONDS),
        installation: proof.jkt.clone(),
        name,
        platform: platform_name,
        fingerprint,
        machine_id: format!("{}.{}", claims.lid, platform::random_id()?),
        refused,
        proof: (&proof).into(),
    };
    let activated: Activated = ctx.live().ask(&claims.lid, call).await?;
    let Activated { machine, created } = activated;
    let ends_at = match claims.trial_exp {
        t if claims.trial && t > 0 => t.min(claims.lexp),
        _ => claims.lexp,
    }
    .min(now + MACHINE_TOKEN_SECONDS);
    let token = sign_with(
        &MachineClaims {
            iss: ctx.issuer.clone(),
            jti: machine.id.clone(),
            lid: claims.lid.clone(),
            prod: claims.prod.clone(),
            name: machine.name.clone(),
            iat: now,
            exp: ends_at,
            cnf: Confirmation {
                jkt: machine.installation.clone(),
            },
        },
        MACHINE_TYP,
        ctx.signer()?,
    )
    .await?;
    if created {
        audit::record_installation(req, env, &proof.jkt, "machine.activate", Some(&machine.id))
            .await;
    }
    let answer = ActivateAnswer {
        machine: machine_view(&claims.lid, &machine),
        token,
    };
    super::json(if created { 201 } else { 200 }, &answer)
}

/// `DELETE /api/machines/:id`: `caller` is the administrator, or none when the machine
/// presents its own token (the route table lets a `DPoP` request through unauthorised,
/// for this handler to check).
pub(crate) async fn deactivate(
    req: &mut Request,
    env: &Env,
    caller: Option<Caller>,
    id: &str,
) -> Result<Response, ApiError> {
    let lid = lease_lid(id).ok_or(ApiError::NotFound("machine".into()))?;
    let ctx = LicensingContext::load(req, env).await?;
    let (installation, proof) = match &caller {
        Some(_) => (None, None),
        None => {
            let token = proof::bound_token(req)?;
            let claims = verify_machine(&token, &ctx.keys.set).map_err(ApiError::InvalidLease)?;
            if claims.iss != ctx.issuer {
                return Err(ApiError::InvalidLease(DenyCode::WrongIssuer));
            }
            let proof = proof::verify_bound(req, &token, &claims.cnf.jkt)?;
            if claims.jti != id {
                return Err(ApiError::NotFound("machine".into()));
            }
            (Some(claims.cnf.jkt), Some(proof))
        }
    };
    let call = LicenseCall::Deactivate {
        machine: id.to_string(),
        installation: installation.clone(),
        proof: proof.as_ref().map(Into::into),
    };
    let gone: Option<Machine> = ctx.live().ask(lid, call).await?;
    let machine = gone.ok_or(ApiError::NotFound("machine".into()))?;
    match (&caller, &installation) {
        (Some(caller), _) => {
            audit::record(req, env, caller, "machine.deactivate", Some(id)).await;
        }
        (None, Some(jkt)) => {
            audit::record_installation(req, env, jkt, "machine.deactivate", Some(id)).await;
        }
        (None, None) => {}
    }
    super::json(200, &machine_view(lid, &machine))
}

pub(crate) async fn list(req: &Request, env: &Env, lid: &str) -> Result<Response, ApiError> {
    let q = Query::of(req)?;
    let (cursor, limit) = (q.cursor().map(String::from), q.limit()?);
    super::vault::known_license(req, env, lid).await?;
    let ctx = LicensingContext::load(req, env).await?;
    let page: Page<MachineView> = ctx
        .live()
        .ask(lid, LicenseCall::Machines { cursor, limit })
        .await?;
    super::json(200, &page)
}
