//! Bench builds only (feature `bench`; production builds do not carry it):
//! `POST /api/bench/object` `{"lid": …}`, an empty call to one license's object — the
//! round trip the seat routes cannot go below, which `tests/bench/hotpath.mjs` measures
//! them against in the same run (with `"write": true`, one small durable write: the
//! floor of a call that changes anything) — and the bisects of the heartbeat and the
//! validation: `?bench-stop=<stage>`
//! answers 204 right after that stage (`context`: the deployment's keys loaded;
//! `lease`: the lease token and its DPoP proof verified; `object`: the license object's
//! heartbeat answered, before the new lease token is signed), so each stage's share of
//! the route's time is the difference between two rows of the same run. `POST
//! /api/licenses/validate?bench-stop=<stage>` likewise: `body` (read and parsed),
//! `context`, `verify` (the token's signature and claims checked, before revocation).

use worker::{Env, Response};

use crate::error::ApiError;
use crate::objects::license::protocol::{LicenseCall, Licenses};
use crate::request::Request;

#[derive(serde::Deserialize)]
struct Body {
    lid: String,
    /// Make the call one small durable write instead of a read.
    #[serde(default)]
    write: bool,
}

/// The path this build adds.
pub(crate) const PATH: &str = "/api/bench/object";

/// Ask license `lid`'s object for its revocation (a read of what it holds in memory),
/// or, with `"write": true`, for one small durable write.
pub(crate) async fn empty_object(req: &mut Request, env: &Env) -> Result<Response, ApiError> {
    let Body { lid, write } = crate::body::json(req).await?;
    let call = if write {
        LicenseCall::BenchWrite
    } else {
        LicenseCall::Revocation
    };
    let answer: serde_json::Value = Licenses::new(env).ask(&lid, call).await?;
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
