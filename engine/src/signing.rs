//! The issuer's side of tokens (feature `sign`): [`SigningKey`], the [`Sign`] trait,
//! and signing license, lease and machine tokens.
//!
//! Two ways to sign the same JWS (RFC 7515 compact, `alg` `EdDSA`, RFC 8037):
//!
//! - [`sign`], [`sign_lease`], [`sign_machine`]: synchronous, with a [`SigningKey`],
//!   through `jsonwebtoken::encode` and the EdDSA-only provider of `crypto.rs`, whose
//!   signer is the engine's constant-time table multiplication (`ed25519`). For Rust
//!   embedders and tests.
//! - [`sign_with`]: any [`Sign`] — the engine builds the header and the signing input
//!   and asks the signer for the signature. The worker's signer is Web Crypto's
//!   Ed25519 over a non-extractable key, so its seeds leave wasm memory once imported.
//!
//! Both give the same bytes for the same key (Ed25519 is deterministic; a test holds
//! them equal). A verifier (the npm validator, built without this feature) links none
//! of it.

use std::string::{String, ToString};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use zeroize::Zeroizing;

use crate::claims::LicenseClaims;
use crate::crypto::pkcs8_from_seed;
use crate::error::Error;
use crate::keys::{Jwk, KeySet, decode_32, thumbprint};
use crate::token::{LEASE_TYP, LeaseClaims, MACHINE_TYP, MachineClaims};

/// An issuer's Ed25519 signing key and its `kid`.
///
/// `Debug` never prints the secret; the seed is wiped when the key is dropped.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    key: ed25519_dalek::SigningKey,
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
        SigningKey { kid, key }
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
    pub(crate) fn seed_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.key.to_bytes())
    }

    /// The key as PKCS#8 v1 DER (RFC 8410), wiped on drop: for a shell to import it
    /// into a signer of its own (Web Crypto's `importKey("pkcs8", …)`) and forget it.
    pub fn pkcs8(&self) -> Zeroizing<[u8; 48]> {
        Zeroizing::new(pkcs8_from_seed(&self.seed_bytes()))
    }

    /// `jsonwebtoken`'s form of the key, made for one signature and dropped with it
    /// (not kept beside the seed: its bytes are not wiped).
    fn encoding(&self) -> EncodingKey {
        EncodingKey::from_ed_der(&*self.pkcs8())
    }
}

/// What signs tokens: a key id, its public key, and Ed25519 signatures over JWS
/// signing inputs. [`SigningKey`] signs in the engine; a shell may hold its keys
/// elsewhere (the worker: Web Crypto, non-extractable).
#[allow(async_fn_in_trait)]
pub trait Sign {
    /// The key id tokens signed with this key carry in their header.
    fn kid(&self) -> &str;
    /// The raw 32-byte public key.
    fn public_bytes(&self) -> [u8; 32];
    /// The Ed25519 signature of `input`, base64url without padding.
    async fn signature(&self, input: &[u8]) -> Result<String, Error>;
}

impl Sign for SigningKey {
    fn kid(&self) -> &str {
        SigningKey::kid(self)
    }

    fn public_bytes(&self) -> [u8; 32] {
        SigningKey::public_bytes(self)
    }

    async fn signature(&self, input: &[u8]) -> Result<String, Error> {
        crate::crypto::install_crypto_provider();
        jsonwebtoken::crypto::sign(input, &self.encoding(), Algorithm::EdDSA)
            .map_err(|e| Error::Signing(e.to_string()))
    }
}

fn header(kid: &str, typ: &str) -> Header {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(kid.to_string());
    header.typ = Some(typ.to_string());
    header
}

/// Sign `claims` with any [`Sign`] as a JWS of type `typ` (`"JWT"` for licenses,
/// [`LEASE_TYP`], [`MACHINE_TYP`]): the engine makes the header and the signing input,
/// the signer only signs.
pub async fn sign_with<T: serde::Serialize, P: Sign>(
    claims: &T,
    typ: &str,
    key: &P,
) -> Result<String, Error> {
    let mut token = part(&header(key.kid(), typ))?;
    token.push('.');
    token.push_str(&part(claims)?);
    let signature = key.signature(token.as_bytes()).await?;
    token.push('.');
    token.push_str(&signature);
    Ok(token)
}

/// One part of a token: JSON, base64url.
fn part<T: serde::Serialize>(value: &T) -> Result<String, Error> {
    serde_json::to_vec(value)
        .map(|json| B64.encode(json))
        .map_err(|e| Error::Signing(e.to_string()))
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
    jsonwebtoken::encode(&header(key.kid(), typ), claims, &key.encoding())
        .map_err(|e| Error::Signing(e.to_string()))
}

/// Sign a lease token (`typ` [`LEASE_TYP`]).
pub fn sign_lease(claims: &LeaseClaims, key: &SigningKey) -> Result<String, Error> {
    sign_typed(claims, key, LEASE_TYP)
}

impl KeySet {
    /// Trust the public half of a signing key, under its `kid`.
    pub fn insert_signing_key<P: Sign>(&mut self, key: &P) -> Result<(), Error> {
        self.insert(key.kid(), key.public_bytes())
    }
}

/// Sign a machine token (`typ` [`MACHINE_TYP`]).
pub fn sign_machine(claims: &MachineClaims, key: &SigningKey) -> Result<String, Error> {
    sign_typed(claims, key, MACHINE_TYP)
}
