//! Bench builds only (feature `bench`; production builds do not carry it):
//! `POST /api/bench/object` `{"lid": …}`, an empty call to one license's object — the
//! round trip the seat routes cannot go below, which `tests/bench/hotpath.mjs` measures
//! them against in the same run.

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
