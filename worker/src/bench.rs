//! Bench builds only (feature `bench`; production builds do not carry it):
//! `POST /api/bench/object` `{"lid": …}`, an empty call to one license's object — the
//! round trip the seat routes cannot go below, which `tests/bench/hotpath.mjs` measures
//! them against in the same run — and the heartbeat's bisect: `?bench-stop=<stage>`
//! answers 204 right after that stage (`context`: the deployment's keys loaded;
//! `lease`: the lease token and its DPoP proof verified; `object`: the license object's
//! heartbeat answered, before the new lease token is signed), so each stage's share of
//! the route's time is the difference between two rows of the same run.

use worker::{Env, Response};

use crate::error::ApiError;
use crate::objects::license::protocol::{LicenseCall, Licenses};
use crate::request::Request;

#[derive(serde::Deserialize)]
struct Body {
    lid: String,
}

/// The path this build adds.
pub(crate) const PATH: &str = "/api/bench/object";

/// Ask license `lid`'s object for its revocation (a read of what it holds in memory).
pub(crate) async fn empty_object(req: &mut Request, env: &Env) -> Result<Response, ApiError> {
    let Body { lid } = crate::body::json(req).await?;
    let answer: serde_json::Value = Licenses::new(env)
        .ask(&lid, LicenseCall::Revocation)
        .await?;
    crate::routes::json(200, &answer)
}

/// Whether this request asks to stop after `stage` (see the module's docs).
pub(crate) fn stops_after(req: &Request, stage: &str) -> bool {
    crate::query::Query::of(req).is_ok_and(|q| q.get("bench-stop") == Some(stage))
}

/// The answer of a request stopped by [`stops_after`].
pub(crate) fn stopped() -> Result<Response, ApiError> {
    Ok(Response::empty()?.with_status(204))
}
