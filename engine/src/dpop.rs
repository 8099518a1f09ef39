//! RFC 9449 DPoP proofs: an installation proves, at every call, that it holds the
//! private key its tokens are bound to.
//!
//! A proof is a JWT the app signs for one HTTP request: header `typ` `dpop+jwt`, `alg`
//! `EdDSA` or `ES256`, and the public `jwk`; claims `jti` (unique), `htm` (the method),
//! `htu` (the URL, without query and fragment), `iat`, and `ath` (base64url SHA-256 of
//! the access token) when the request presents one. [`verify_proof`] checks all of it
//! (RFC 9449 §4.3) but the two checks that need state or the token: that the `jti` was
//! not seen before (the license object remembers each for [`Proof::remember_until`]) and
//! that the proof's key is the one the presented token names in `cnf.jkt`
//! ([`check_binding`]).
//!
//! The answer to a refused proof is one code, `INVALID_PROOF` ([`ProofError`] says which
//! check failed, for the message): a caller learns nothing it could not know.

use std::string::String;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use sha2::Digest as _;

use crate::ed25519::TrustedKey;
use crate::installation::{InstallationKey, PublicJwk};

/// The `typ` of a DPoP proof (RFC 9449 §4.2).
pub const DPOP_TYP: &str = "dpop+jwt";
/// How far a proof's `iat` may be from the server's clock, either way, in seconds.
pub const PROOF_WINDOW_SECONDS: u64 = 120;
/// The longest proof read, in bytes (a real one is well under 1 KiB).
pub const MAX_PROOF_BYTES: usize = 4096;
/// The longest `jti` accepted, in bytes.
pub const MAX_JTI_BYTES: usize = 128;

/// Why a proof was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProofError {
    /// No proof, or more than one.
    Missing,
    /// Not a JWT of the right shape, or a claim is missing or mistyped.
    Malformed,
    /// Not `typ` `dpop+jwt`.
    WrongType,
    /// An algorithm other than EdDSA and ES256, or a key that is not one of theirs.
    UnsupportedKey,
    /// The signature does not verify with the proof's own key.
    BadSignature,
    /// `htm` is not this request's method.
    WrongMethod,
    /// `htu` is not this request's URL.
    WrongUrl,
    /// `iat` is outside [`PROOF_WINDOW_SECONDS`] of now.
    Stale,
    /// `ath` is missing or is not the presented token's hash.
    WrongTokenHash,
    /// The `jti` was used before.
    Replayed,
    /// The proof's key is not the one the token is bound to.
    WrongKey,
}

impl ProofError {
    /// A short reason for the message (the code is always `INVALID_PROOF`).
    pub const fn as_str(self) -> &'static str {
        match self {
            ProofError::Missing => "no DPoP proof (one DPoP header is required)",
            ProofError::Malformed => "the DPoP proof is not a well-formed JWT",
            ProofError::WrongType => "the DPoP proof's typ is not dpop+jwt",
            ProofError::UnsupportedKey => {
                "the DPoP proof's alg or jwk is not EdDSA/Ed25519 or ES256/P-256"
            }
            ProofError::BadSignature => "the DPoP proof's signature does not verify",
            ProofError::WrongMethod => "the DPoP proof's htm is not this request's method",
            ProofError::WrongUrl => "the DPoP proof's htu is not this request's URL",
            ProofError::Stale => "the DPoP proof's iat is too far from now",
            ProofError::WrongTokenHash => "the DPoP proof's ath is not the presented token's hash",
            ProofError::Replayed => "this DPoP proof was used before",
            ProofError::WrongKey => "the DPoP proof's key is not the one the token is bound to",
        }
    }
}

impl core::fmt::Display for ProofError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the request a proof must match looks like.
#[derive(Debug, Clone, Copy)]
pub struct ProofRequest<'a> {
    /// The HTTP method.
    pub method: &'a str,
    /// The request's URL as the server received it (query and fragment are ignored).
    pub url: &'a str,
    /// The access token the request presents (`Authorization: DPoP <token>`), if any.
    pub token: Option<&'a str>,
}

/// A verified proof: who made it, and what must be remembered against its replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// The installation: the RFC 7638 thumbprint of the proof's key.
    pub jkt: String,
    /// The proof's unique id.
    pub jti: String,
    /// Until when (Unix seconds) the proof would be accepted: its `jti` must be
    /// remembered at least that long.
    pub remember_until: u64,
}

#[derive(serde::Deserialize)]
struct Header {
    typ: Option<String>,
    alg: String,
    jwk: PublicJwk,
    /// Extensions the verifier must understand (RFC 7515 §4.1.11): none are, so a proof
    /// naming any is refused.
    #[serde(default)]
    crit: Option<serde::de::IgnoredAny>,
}

#[derive(serde::Deserialize)]
struct Claims {
    jti: String,
    htm: String,
    htu: String,
    iat: u64,
    #[serde(default)]
    ath: Option<String>,
}

fn decode<T: serde::de::DeserializeOwned>(part: &str) -> Result<T, ProofError> {
    let bytes = B64.decode(part).map_err(|_| ProofError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| ProofError::Malformed)
}

/// The `ath` of `token`: base64url SHA-256 of its ASCII (RFC 9449 §4.2).
pub fn token_hash(token: &str) -> String {
    B64.encode(sha2::Sha256::digest(token.as_bytes()))
}

/// `url` as `htu` compares it (RFC 9449 §4.3, RFC 3986 §6.2.2–6.2.3): scheme and host
/// in lower case, the default port dropped, an empty path as `/`, no query or fragment.
pub fn normalize_htu(url: &str) -> Option<String> {
    let url = url.split(['?', '#']).next()?;
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let authority = authority.to_ascii_lowercase();
    let default_port = if scheme == "https" { ":443" } else { ":80" };
    let authority = authority.strip_suffix(default_port).unwrap_or(&authority);
    Some(std::format!("{scheme}://{authority}{path}"))
}

/// Verify `proof` for `request` at `now` (see the module docs for what is left to the
/// caller).
pub fn verify_proof(proof: &str, request: ProofRequest<'_>, now: u64) -> Result<Proof, ProofError> {
    if proof.is_empty() || proof.len() > MAX_PROOF_BYTES {
        return Err(ProofError::Malformed);
    }
    let mut parts = proof.split('.');
    let (Some(header_part), Some(claims_part), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ProofError::Malformed);
    };
    let header: Header = decode(header_part)?;
    if header.typ.as_deref() != Some(DPOP_TYP) {
        return Err(ProofError::WrongType);
    }
    if header.crit.is_some() {
        return Err(ProofError::Malformed);
    }
    let key = InstallationKey::from_jwk(&header.jwk).ok_or(ProofError::UnsupportedKey)?;
    let signature = B64.decode(signature).map_err(|_| ProofError::Malformed)?;
    let message = &proof.as_bytes()[..header_part.len() + 1 + claims_part.len()];
    let verified = match (&key, header.alg.as_str()) {
        (InstallationKey::Ed25519 { x }, "EdDSA") => {
            let key = TrustedKey::new(x).ok_or(ProofError::UnsupportedKey)?;
            <[u8; 64]>::try_from(signature.as_slice()).is_ok_and(|s| key.verify(message, &s))
        }
        (InstallationKey::P256 { x, y }, "ES256") => verify_es256(x, y, message, &signature)?,
        _ => return Err(ProofError::UnsupportedKey),
    };
    if !verified {
        return Err(ProofError::BadSignature);
    }
    // Nothing of the claims is trusted before the signature verified.
    let claims: Claims = decode(claims_part)?;
    if claims.jti.is_empty()
        || claims.jti.len() > MAX_JTI_BYTES
        || claims.jti.chars().any(char::is_control)
    {
        return Err(ProofError::Malformed);
    }
    if claims.htm != request.method {
        return Err(ProofError::WrongMethod);
    }
    match (normalize_htu(&claims.htu), normalize_htu(request.url)) {
        (Some(claimed), Some(actual)) if claimed == actual => {}
        _ => return Err(ProofError::WrongUrl),
    }
    if claims.iat.saturating_add(PROOF_WINDOW_SECONDS) < now
        || claims.iat > now.saturating_add(PROOF_WINDOW_SECONDS)
    {
        return Err(ProofError::Stale);
    }
    if let Some(token) = request.token
        && claims.ath.as_deref() != Some(token_hash(token).as_str())
    {
        return Err(ProofError::WrongTokenHash);
    }
    Ok(Proof {
        jkt: key.thumbprint(),
        jti: claims.jti,
        remember_until: claims.iat.saturating_add(PROOF_WINDOW_SECONDS),
    })
}

/// An ES256 signature (`r || s`, 64 bytes) over `message` by the P-256 key `(x, y)`.
fn verify_es256(
    x: &[u8; 32],
    y: &[u8; 32],
    message: &[u8],
    signature: &[u8],
) -> Result<bool, ProofError> {
    use p256::ecdsa::signature::Verifier as _;
    let point = p256::EncodedPoint::from_affine_coordinates(x.into(), y.into(), false);
    let key = p256::ecdsa::VerifyingKey::from_encoded_point(&point)
        .map_err(|_| ProofError::UnsupportedKey)?;
    let Ok(signature) = p256::ecdsa::Signature::from_slice(signature) else {
        return Ok(false);
    };
    Ok(key.verify(message, &signature).is_ok())
}

/// The proof's key must be the one the presented token is bound to (`cnf.jkt`).
pub fn check_binding(proof: &Proof, jkt: &str) -> Result<(), ProofError> {
    if proof.jkt == jkt {
        Ok(())
    } else {
        Err(ProofError::WrongKey)
    }
}

#[cfg(test)]
mod tests;
