//! The issuer's side of tokens (feature `sign`): [`SigningKey`] and signing license
//! and lease tokens.
//!
//! Signing goes through `jsonwebtoken` and the EdDSA-only provider of `crypto.rs`,
//! whose signer is the engine's constant-time table multiplication (`ed25519`). A
//! verifier (the npm validator, built without this feature) links none of it.

use std::string::{String, ToString};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::{Algorithm, EncodingKey, Header};

use crate::claims::LicenseClaims;
use crate::crypto::pkcs8_from_seed;
use crate::error::Error;
use crate::keys::{Jwk, KeySet, decode_32, thumbprint};
use crate::token::{LEASE_TYP, LeaseClaims, MACHINE_TYP, MachineClaims};

/// An issuer's Ed25519 signing key and its `kid`.
///
/// `Debug` never prints the secret.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    key: ed25519_dalek::SigningKey,
    encoding: EncodingKey,
}

impl core::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// The key for a 32-byte secret seed, with its thumbprint as `kid`. The caller
    /// draws the seed from a CSPRNG: the engine has no randomness of its own.
    pub fn from_seed(seed: &[u8; 32]) -> SigningKey {
        let key = ed25519_dalek::SigningKey::from_bytes(seed);
        let kid = thumbprint(&key.verifying_key().to_bytes());
        SigningKey {
            kid,
            encoding: EncodingKey::from_ed_der(&pkcs8_from_seed(seed)),
            key,
        }
    }

    /// The same key under another `kid`.
    pub fn with_kid(mut self, kid: impl Into<String>) -> SigningKey {
        self.kid = kid.into();
        self
    }

    /// Read a private JWK (`kty` `OKP`, `crv` `Ed25519`, `d`, and `x` if present,
    /// which must match `d`). Without a `kid`, the thumbprint is used.
    pub fn from_private_jwk(json: &str) -> Result<SigningKey, Error> {
        let jwk: Jwk = serde_json::from_str(json).map_err(|e| Error::InvalidJwks(e.to_string()))?;
        if !jwk.is_ed25519_signing() {
            return Err(Error::InvalidJwks("not an Ed25519 signing key".to_string()));
        }
        let key = SigningKey::from_seed(&decode_32("d", jwk.d.as_deref())?);
        if jwk.x.is_some() && decode_32("x", jwk.x.as_deref())? != key.public_bytes() {
            return Err(Error::InvalidJwks("\"x\" does not match \"d\"".to_string()));
        }
        Ok(match jwk.kid {
            Some(kid) => key.with_kid(kid),
            None => key,
        })
    }

    /// This key as a private JWK, for storing as a secret. Handle the result as one.
    pub fn to_private_jwk(&self) -> String {
        let mut jwk = Jwk::public(&self.kid, &self.public_bytes());
        jwk.d = Some(B64.encode(self.key.to_bytes()));
        serde_json::to_string(&jwk).unwrap_or_default()
    }

    /// The key id tokens signed with this key carry in their header.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The raw 32-byte public key.
    pub fn public_bytes(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// The secret seed, for opening entries sealed under the root (wiped on drop).
    pub(crate) fn seed_bytes(&self) -> zeroize::Zeroizing<[u8; 32]> {
        zeroize::Zeroizing::new(self.key.to_bytes())
    }

    pub(crate) fn encoding(&self) -> &EncodingKey {
        &self.encoding
    }
}

/// Sign `claims` as an EdDSA JWT whose header names `key`'s `kid`.
pub fn sign(claims: &LicenseClaims, key: &SigningKey) -> Result<String, Error> {
    sign_typed(claims, key, "JWT")
}

fn sign_typed<T: serde::Serialize>(
    claims: &T,
    key: &SigningKey,
    typ: &str,
) -> Result<String, Error> {
    crate::crypto::install_crypto_provider();
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(key.kid().to_string());
    header.typ = Some(typ.to_string());
    jsonwebtoken::encode(&header, claims, key.encoding()).map_err(|e| Error::Signing(e.to_string()))
}

/// Sign a lease token (`typ` [`LEASE_TYP`]).
pub fn sign_lease(claims: &LeaseClaims, key: &SigningKey) -> Result<String, Error> {
    sign_typed(claims, key, LEASE_TYP)
}

impl KeySet {
    /// Trust the public half of a signing key, under its `kid`.
    pub fn insert_signing_key(&mut self, key: &SigningKey) -> Result<(), Error> {
        self.insert(key.kid(), key.public_bytes())
    }
}

/// Sign a machine token (`typ` [`MACHINE_TYP`]).
pub fn sign_machine(claims: &MachineClaims, key: &SigningKey) -> Result<String, Error> {
    sign_typed(claims, key, MACHINE_TYP)
}
