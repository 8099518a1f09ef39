//! Installations proving themselves at the HTTP edge (RFC 9449 DPoP).
//!
//! Every app-facing seat and machine call carries one `DPoP` header: a proof the
//! installation signed for this method and URL, just now. Calls that present a token
//! Tessera bound to the installation (a lease or machine token, `cnf.jkt`) send it as
//! `Authorization: DPoP <token>`, and the proof carries the token's hash (`ath`) and
//! must be signed by the bound key. [`verify`] checks all of that but the proof's
//! freshness against replay, which the license object decides with the change itself
//! (it remembers every `jti` while the proof could be accepted: [`Seen`]).

use serde::{Deserialize, Serialize};
use tessera_engine::{Proof, ProofError, ProofRequest, check_binding, verify_proof};

use crate::error::ApiError;
use crate::platform;
use crate::request::Request;

/// A proof as the license object records it against replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Seen {
    pub(crate) jti: String,
    /// Remember it until then (Unix seconds).
    pub(crate) until: u64,
}

impl From<&Proof> for Seen {
    fn from(proof: &Proof) -> Seen {
        Seen {
            jti: proof.jti.clone(),
            until: proof.remember_until,
        }
    }
}

/// The one `DPoP` header. Several (which `Headers` joins with commas; a JWT has none)
/// or none is a missing proof.
fn header(req: &Request) -> Result<String, ApiError> {
    match req.headers().get("DPoP")? {
        Some(proof) if !proof.is_empty() && !proof.contains(',') => Ok(proof),
        _ => Err(ApiError::InvalidProof(ProofError::Missing)),
    }
}

/// The token presented as `Authorization: DPoP <token>`.
pub(crate) fn bound_token(req: &Request) -> Result<String, ApiError> {
    let header = req.headers().get("Authorization")?.unwrap_or_default();
    match header.trim().split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("DPoP") && !token.trim().is_empty() =>
        {
            Ok(token.trim().to_string())
        }
        _ => Err(ApiError::Unauthorized(
            "present the token as Authorization: DPoP <token>, with a DPoP proof",
        )),
    }
}

/// Whether the request presents a token with the DPoP scheme.
pub(crate) fn presents_dpop(req: &Request) -> bool {
    req.headers()
        .get("Authorization")
        .ok()
        .flatten()
        .and_then(|h| {
            h.trim()
                .split_once(' ')
                .map(|(s, _)| s.eq_ignore_ascii_case("DPoP"))
        })
        .unwrap_or(false)
}

/// Verify the request's proof; `token` is what it presents, if anything. The URL the
/// proof must name is the one this request came to (`htu`, without its query).
pub(crate) fn verify(req: &Request, token: Option<&str>) -> Result<Proof, ApiError> {
    let proof = header(req)?;
    let method = req.method();
    let url = req.url()?;
    let request = ProofRequest {
        method: method.as_ref(),
        url: url.as_str(),
        token,
    };
    verify_proof(&proof, request, platform::now()).map_err(ApiError::InvalidProof)
}

/// Verify the request's proof for the token it presents, bound to `jkt`.
pub(crate) fn verify_bound(req: &Request, token: &str, jkt: &str) -> Result<Proof, ApiError> {
    let proof = verify(req, Some(token))?;
    check_binding(&proof, jkt).map_err(ApiError::InvalidProof)?;
    Ok(proof)
}

/// The request's `Idempotency-Key` (IETF httpapi draft): the same for every retry of
/// one heartbeat, so a retry whose answer was lost is not taken for a clone. Up to 64
/// printable characters; anything else is ignored.
pub(crate) fn idempotency_key(req: &Request) -> Option<String> {
    let key = req.headers().get("Idempotency-Key").ok().flatten()?;
    let key = key.trim().trim_matches('"');
    ((1..=64).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()))
        .then(|| key.to_string())
}
