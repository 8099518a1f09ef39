//! Licence tokens: signing, and validation from raw string to [`Decision`].
//!
//! Validation never trusts a byte before the signature over it has verified: the header
//! is read only to pick the algorithm and key, and the claims only after `jsonwebtoken`
//! (with the EdDSA-only provider of `crypto.rs`) has verified the signature. Then
//! [`check_claims`] decides. Every failure is a [`DenyCode`], never a panic.

use std::string::{String, ToString};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Header};

use crate::claims::LicenseClaims;
use crate::decision::{Decision, DenyCode, Expectations, check_claims};
use crate::error::Error;
use crate::keys::{KeySet, SigningKey};

/// The longest token accepted, in bytes. Real licences are under 1 KiB; anything
/// larger is refused as `MALFORMED` before any decoding work is done.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Sign `claims` as an EdDSA JWT whose header names `key`'s `kid`.
pub fn sign(claims: &LicenseClaims, key: &SigningKey) -> Result<String, Error> {
    crate::crypto::install_crypto_provider();
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(key.kid().to_string());
    jsonwebtoken::encode(&header, claims, key.encoding()).map_err(|e| Error::Signing(e.to_string()))
}

/// Validate a licence token at time `now` (Unix seconds) against trusted `keys` and
/// `expect`ations.
///
/// ```
/// use tessera_engine::{Expectations, KeySet, LicenseClaims, SigningKey, sign, validate, DenyCode};
/// let key = SigningKey::from_seed(&[7; 32]);
/// let mut keys = KeySet::new();
/// keys.insert_signing_key(&key).unwrap();
/// let claims = LicenseClaims { iss: "https://issuer.example".into(), exp: 200, lexp: 300, ..Default::default() };
/// let token = sign(&claims, &key).unwrap();
/// let expect = Expectations::default().issuer("https://issuer.example");
/// assert!(validate(&token, &keys, &expect, 100).is_allowed());
/// assert_eq!(validate(&token, &keys, &expect, 200).deny_code(), Some(DenyCode::Expired));
/// ```
pub fn validate(token: &str, keys: &KeySet, expect: &Expectations, now: u64) -> Decision {
    match verify(token, keys) {
        Ok(claims) => check_claims(claims, expect, now),
        Err(code) => Decision::Deny(code),
    }
}

/// Verify the signature and read the claims, with no time or identity checks: for
/// renewal (which must work on an expired token) and for showing a refused licence.
pub fn verify(token: &str, keys: &KeySet) -> Result<LicenseClaims, DenyCode> {
    if token.is_empty() || token.len() > MAX_TOKEN_BYTES {
        return Err(DenyCode::Malformed);
    }
    crate::crypto::install_crypto_provider();
    let header = jsonwebtoken::decode_header(token).map_err(|_| classify_bad_header(token))?;
    if header.alg != Algorithm::EdDSA {
        return Err(DenyCode::WrongAlgorithm);
    }
    match header.kid {
        Some(kid) => {
            let key = keys.get(&kid).ok_or(DenyCode::UnknownKey)?;
            decode(token, key, keys)
        }
        // No `kid`: try each trusted key (a JWKS holds few). The first that verifies wins.
        None => {
            let mut outcome = Err(DenyCode::UnknownKey);
            for key in keys.decoding_keys() {
                outcome = decode(token, key, keys);
                if outcome != Err(DenyCode::BadSignature) {
                    break;
                }
            }
            outcome
        }
    }
}

fn decode(token: &str, key: &DecodingKey, keys: &KeySet) -> Result<LicenseClaims, DenyCode> {
    match jsonwebtoken::decode::<LicenseClaims>(token, key, keys.validation()) {
        Ok(data) => Ok(data.claims),
        Err(e) => Err(match e.kind() {
            ErrorKind::InvalidSignature | ErrorKind::InvalidEddsaKey => DenyCode::BadSignature,
            ErrorKind::InvalidAlgorithm => DenyCode::WrongAlgorithm,
            _ => DenyCode::Malformed,
        }),
    }
}

/// `jsonwebtoken` could not read the header. If it still names an algorithm, the
/// algorithm is what is wrong (`none`, or one `jsonwebtoken` does not know); otherwise
/// the token is malformed.
fn classify_bad_header(token: &str) -> DenyCode {
    #[derive(serde::Deserialize)]
    struct AlgOnly {
        alg: String,
    }
    let header = token.split('.').next().unwrap_or_default();
    match B64
        .decode(header)
        .ok()
        .and_then(|json| serde_json::from_slice::<AlgOnly>(&json).ok())
    {
        Some(h) if h.alg != "EdDSA" => DenyCode::WrongAlgorithm,
        _ => DenyCode::Malformed,
    }
}
