//! `POST /api/licenses/validate` `{token, product?, instance?}`: online validation.
//!
//! The engine's decision (as the npm validator makes it offline) plus what only the
//! API can know: whether the license was revoked, from its license object — asked at
//! most every [`REVOCATION_FRESH_SECONDS`](tessera_engine::sync::REVOCATION_FRESH_SECONDS)
//! per license and isolate, so this route is a cache hit on the hot path. Always 200
//! with `{valid, code, claims, warnings}` for a well-formed request, so an app can
//! switch between the online and the offline check; `claims` whenever the signature
//! verified.

use crate::request::Request;
use tessera_engine::api::{ValidateAnswer, ValidateRequest};
use tessera_engine::{Decision, DenyCode, Expectations, instance_field};
use worker::{Env, Response};

use crate::deployment::LicensingContext;
use crate::error::ApiError;
use crate::{body, platform};

pub(crate) async fn post(req: &mut Request, env: &Env) -> Result<Response, ApiError> {
    let request: ValidateRequest = body::json(req).await?;
    #[cfg(feature = "bench")]
    if crate::bench::stops_after(req, "body") {
        return crate::bench::stopped();
    }
    let mut expect = Expectations::default();
    if let Some(product) = request.product {
        expect = expect.product(product);
    }
    if let Some(instance) = request.instance {
        expect = expect.instance(instance_field("instance", &instance)?);
    }
    let ctx = LicensingContext::load(req, env).await?;
    #[cfg(feature = "bench")]
    if crate::bench::stops_after(req, "context") {
        return crate::bench::stopped();
    }
    let expect = expect.issuer(ctx.issuer.as_str());
    let token = request.token.trim();
    let answer = match ctx.keys.validate(token, &expect, platform::now()) {
        #[cfg(feature = "bench")]
        Decision::Allow(_) if crate::bench::stops_after(req, "verify") => {
            return crate::bench::stopped();
        }
        Decision::Allow(license) => {
            let revoked = ctx
                .live()
                .recent_revocation(&license.claims.lid)
                .await?
                .is_some();
            ValidateAnswer {
                valid: !revoked,
                code: revoked.then_some(DenyCode::Revoked),
                warnings: if revoked {
                    Vec::new()
                } else {
                    license.warnings
                },
                claims: Some(license.claims),
            }
        }
        Decision::Deny(code) => ValidateAnswer {
            valid: false,
            code: Some(code),
            claims: ctx.keys.verify(token).ok(),
            warnings: Vec::new(),
        },
    };
    super::json(200, &answer)
}
