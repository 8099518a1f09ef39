//! Ed25519 keys with a `kid`, and the key sets verifiers trust, as JWKS (RFC 8037).
//!
//! A [`SigningKey`] is the issuer's secret; a [`KeySet`] holds public keys only and is
//! what every verifier (the worker, the npm package) is built from, once. A key's
//! default `kid` is its RFC 7638 thumbprint, so the same key always gets the same id
//! wherever it is imported. This module does not store or rotate keys: the worker does,
//! and passes the bytes in.

use std::string::{String, ToString};
use std::vec::Vec;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use sha2::Digest as _;

use crate::ed25519::TrustedKey;
use crate::error::Error;

/// How many keys a JWKS may hold: a verifier tries no more than this.
const MAX_KEYS: usize = 64;

/// One JWK as it appears on the wire. Only the members Tessera reads or writes.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct Jwk {
    pub(crate) kty: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) crv: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) x: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) d: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) kid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) alg: Option<String>,
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub(crate) use_: Option<String>,
}

impl Jwk {
    pub(crate) fn public(kid: &str, x: &[u8; 32]) -> Jwk {
        Jwk {
            kty: "OKP".to_string(),
            crv: Some("Ed25519".to_string()),
            x: Some(B64.encode(x)),
            d: None,
            kid: Some(kid.to_string()),
            alg: Some("EdDSA".to_string()),
            use_: Some("sig".to_string()),
        }
    }

    /// Whether this is an Ed25519 signing key a verifier should use. Other keys in a
    /// mixed JWKS are skipped, as RFC 7517 asks of keys an implementation cannot use.
    pub(crate) fn is_ed25519_signing(&self) -> bool {
        self.kty == "OKP"
            && self.crv.as_deref() == Some("Ed25519")
            && self.alg.as_deref().is_none_or(|a| a == "EdDSA")
            && self.use_.as_deref().is_none_or(|u| u == "sig")
    }
}

/// A JWKS document (`{"keys": [...]}`), as read before its keys are checked.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Jwks {
    keys: Vec<Jwk>,
}

impl core::fmt::Debug for Jwks {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // A private JWK's `d` is a secret: never printed.
        f.debug_struct("Jwks")
            .field("keys", &self.keys.len())
            .finish()
    }
}

pub(crate) fn decode_32(field: &str, value: Option<&str>) -> Result<[u8; 32], Error> {
    let value = value.ok_or_else(|| Error::InvalidJwks(std::format!("missing \"{field}\"")))?;
    let bytes = B64
        .decode(value)
        .map_err(|_| Error::InvalidJwks(std::format!("\"{field}\" is not base64url")))?;
    bytes
        .try_into()
        .map_err(|_| Error::InvalidJwks(std::format!("\"{field}\" is not 32 bytes")))
}

/// The RFC 7638 thumbprint of an Ed25519 public key (RFC 8037 §A.3), base64url.
pub(crate) fn thumbprint(x: &[u8; 32]) -> String {
    let canonical = std::format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, B64.encode(x));
    B64.encode(sha2::Sha256::digest(canonical.as_bytes()))
}

/// One trusted public key.
#[derive(Clone)]
struct PublicKey {
    kid: String,
    x: [u8; 32],
    verifier: TrustedKey,
}

/// The public keys a verifier trusts, by `kid`. Build it once; validate many times.
#[derive(Clone, Default)]
pub struct KeySet {
    keys: Vec<PublicKey>,
}

impl core::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.kids()).finish()
    }
}

impl KeySet {
    /// An empty key set: it trusts nothing.
    pub fn new() -> KeySet {
        KeySet::default()
    }

    /// Trust a raw Ed25519 public key under `kid`. Refuses invalid points and a `kid`
    /// that is already present.
    pub fn insert(&mut self, kid: impl Into<String>, x: [u8; 32]) -> Result<(), Error> {
        let kid = kid.into();
        // Not a curve point, or one of small order (which would accept forged
        // signatures): never trusted.
        let verifier = TrustedKey::new(&x).ok_or(Error::InvalidKey)?;
        if self.get(&kid).is_some() {
            return Err(Error::DuplicateKid(kid));
        }
        if self.keys.len() >= MAX_KEYS {
            return Err(Error::InvalidJwks(std::format!(
                "more than {MAX_KEYS} keys"
            )));
        }
        self.keys.push(PublicKey { kid, x, verifier });
        Ok(())
    }

    /// Read a JWKS (`{"keys": [...]}`). Ed25519 signing keys are imported; keys of
    /// other types or uses are skipped. Fails if no usable key remains, if a key is
    /// malformed, or if two keys share a `kid`. A key without `kid` gets its thumbprint.
    pub fn from_jwks(json: &str) -> Result<KeySet, Error> {
        let jwks: Jwks =
            serde_json::from_str(json).map_err(|e| Error::InvalidJwks(e.to_string()))?;
        KeySet::from_jwks_document(&jwks)
    }

    /// As [`KeySet::from_jwks`], from the document already parsed (the npm validator
    /// receives it as a JavaScript object).
    pub fn from_jwks_document(jwks: &Jwks) -> Result<KeySet, Error> {
        let mut set = KeySet::new();
        for jwk in jwks.keys.iter().filter(|k| k.is_ed25519_signing()) {
            let x = decode_32("x", jwk.x.as_deref())?;
            let kid = jwk.kid.clone().unwrap_or_else(|| thumbprint(&x));
            set.insert(kid, x)?;
        }
        if set.is_empty() {
            return Err(Error::InvalidJwks("no Ed25519 signing keys".to_string()));
        }
        Ok(set)
    }

    /// This key set as a JWKS document: public keys only.
    pub fn to_jwks(&self) -> String {
        let jwks = Jwks {
            keys: self
                .keys
                .iter()
                .map(|k| Jwk::public(&k.kid, &k.x))
                .collect(),
        };
        serde_json::to_string(&jwks).unwrap_or_default()
    }

    /// The trusted key ids, in insertion order.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| k.kid.as_str())
    }

    /// Whether the set trusts no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub(crate) fn get(&self, kid: &str) -> Option<&TrustedKey> {
        self.keys.iter().find(|k| k.kid == kid).map(|k| &k.verifier)
    }

    pub(crate) fn verifiers(&self) -> impl Iterator<Item = &TrustedKey> {
        self.keys.iter().map(|k| &k.verifier)
    }
}
