//! An EdDSA-only `jsonwebtoken` `CryptoProvider` over the engine's Ed25519 (`ed25519.rs`):
//! its table-based signer, and the same check the engine's own validation uses, for
//! anyone who calls `jsonwebtoken` directly.
//!
//! `jsonwebtoken`'s own `rust_crypto` provider links RSA and the NIST curves even when
//! only EdDSA is used, tripling the size of every wasm build. This provider knows one
//! algorithm, Ed25519, and refuses every other one with an error (never a panic), so a
//! token that claims `RS256` or `HS256` cannot reach any other verification code.
//!
//! Key bytes follow `jsonwebtoken`'s conventions for its Ed family: an [`EncodingKey`]
//! holds a PKCS#8 v1 private key (RFC 8410's fixed 48-byte form), a [`DecodingKey`]
//! the raw 32-byte public key.

use core::cell::RefCell;
use std::boxed::Box;
use std::rc::Rc;
use std::vec::Vec;

use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, JwtVerifier, KeyUtils};
use jsonwebtoken::errors::{ErrorKind, Result as JwtResult};
use jsonwebtoken::jwk::{EllipticCurve, ThumbprintHash};
use jsonwebtoken::signature;
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, EncodingKey};
use sha2::Digest as _;

use crate::ed25519::TrustedKey;
use crate::ed25519::signer::Signer;

/// The DER prefix of an Ed25519 PKCS#8 v1 private key; the 32-byte seed follows.
const PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// The provider. Installed as the process default by [`install_crypto_provider`].
static EDDSA_ONLY: CryptoProvider = CryptoProvider {
    signer_factory: new_signer,
    verifier_factory: new_verifier,
    key_utils: KeyUtils {
        rsa_pub_components_from_private_key: |_| Err(ErrorKind::UnsupportedAlgorithm.into()),
        rsa_pub_components_from_public_key: |_| Err(ErrorKind::UnsupportedAlgorithm.into()),
        ec_pub_components_from_private_key: |_, _| Err(ErrorKind::UnsupportedAlgorithm.into()),
        ed_pub_components_from_private_key: ed_public_from_private,
        compute_digest,
    },
};

/// Make the engine's EdDSA-only provider `jsonwebtoken`'s default for this process.
///
/// The engine calls this itself before it signs or verifies; call it first only if the
/// process also uses `jsonwebtoken` directly. If another provider was installed first,
/// that one stays (`install_default` succeeds once per process).
pub fn install_crypto_provider() {
    let _already_installed = EDDSA_ONLY.install_default();
}

/// Wrap a 32-byte Ed25519 seed as PKCS#8 v1 DER.
pub(crate) fn pkcs8_from_seed(seed: &[u8; 32]) -> [u8; 48] {
    let mut der = [0u8; 48];
    der[..16].copy_from_slice(&PKCS8_PREFIX);
    der[16..].copy_from_slice(seed);
    der
}

fn seed_from_pkcs8(der: &[u8]) -> JwtResult<[u8; 32]> {
    match der.split_at_checked(PKCS8_PREFIX.len()) {
        Some((prefix, seed)) if prefix == PKCS8_PREFIX => seed
            .try_into()
            .map_err(|_| ErrorKind::InvalidEddsaKey.into()),
        _ => Err(ErrorKind::InvalidEddsaKey.into()),
    }
}

fn new_signer(alg: &Algorithm, key: &EncodingKey) -> JwtResult<Box<dyn JwtSigner>> {
    if *alg != Algorithm::EdDSA {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    if key.family() != AlgorithmFamily::Ed {
        return Err(ErrorKind::InvalidKeyFormat.into());
    }
    let seed = seed_from_pkcs8(key.as_bytes())?;
    Ok(Box::new(EdSigner(expanded_signing_key(&seed))))
}

/// How many expanded signing keys [`expanded_signing_key`] remembers per thread.
const SIGNING_KEYS: usize = 4;

std::thread_local! {
    /// Recently expanded signing keys, newest last. Zeroised when dropped.
    static SIGNING: RefCell<Vec<Rc<Signer>>> = const { RefCell::new(Vec::new()) };
}

/// The signing key for `seed`, remembering the last few.
///
/// `jsonwebtoken` hands the provider only the key's bytes on every signature, and
/// expanding a seed costs a SHA-512 and a scalar multiplication (its public key): as much
/// again as the signature itself. An issuer signs with one key at a time (a lease at
/// every seat heartbeat). The seeds are compared in constant time.
fn expanded_signing_key(seed: &[u8; 32]) -> Rc<Signer> {
    SIGNING.with_borrow_mut(|cache| {
        if let Some(key) = cache.iter().find(|k| k.is_seed(seed)) {
            return Rc::clone(key);
        }
        let key = Rc::new(Signer::new(seed));
        if cache.len() == SIGNING_KEYS {
            cache.remove(0);
        }
        cache.push(Rc::clone(&key));
        key
    })
}

fn new_verifier(alg: &Algorithm, key: &DecodingKey) -> JwtResult<Box<dyn JwtVerifier>> {
    if *alg != Algorithm::EdDSA {
        return Err(ErrorKind::InvalidAlgorithm.into());
    }
    if key.family() != AlgorithmFamily::Ed {
        return Err(ErrorKind::InvalidKeyFormat.into());
    }
    let bytes: &[u8; 32] = key
        .try_get_as_bytes()?
        .try_into()
        .map_err(|_| ErrorKind::InvalidEddsaKey)?;
    let key = TrustedKey::new(bytes).ok_or(ErrorKind::InvalidEddsaKey)?;
    Ok(Box::new(EdVerifier(key)))
}

fn ed_public_from_private(der: &[u8], curve: &EllipticCurve) -> JwtResult<Vec<u8>> {
    if *curve != EllipticCurve::Ed25519 {
        return Err(ErrorKind::UnsupportedAlgorithm.into());
    }
    let seed = seed_from_pkcs8(der)?;
    Ok(ed25519_dalek::SigningKey::from_bytes(&seed)
        .verifying_key()
        .to_bytes()
        .to_vec())
}

fn compute_digest(data: &[u8], hash: ThumbprintHash) -> JwtResult<Vec<u8>> {
    Ok(match hash {
        ThumbprintHash::SHA256 => sha2::Sha256::digest(data).to_vec(),
        ThumbprintHash::SHA384 => sha2::Sha384::digest(data).to_vec(),
        ThumbprintHash::SHA512 => sha2::Sha512::digest(data).to_vec(),
        _ => return Err(ErrorKind::UnsupportedAlgorithm.into()),
    })
}

/// Signs with the engine's table-based Ed25519 signer (`ed25519.rs`).
struct EdSigner(Rc<Signer>);

impl signature::Signer<Vec<u8>> for EdSigner {
    fn try_sign(&self, msg: &[u8]) -> Result<Vec<u8>, signature::Error> {
        Ok(self.0.sign(msg).to_vec())
    }
}

impl JwtSigner for EdSigner {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}

/// Verifies with the engine's check (`ed25519.rs`): RFC 8032, non-canonical `s` refused,
/// small-order keys never trusted.
struct EdVerifier(TrustedKey);

impl signature::Verifier<Vec<u8>> for EdVerifier {
    fn verify(&self, msg: &[u8], sig: &Vec<u8>) -> Result<(), signature::Error> {
        let sig: &[u8; 64] = sig
            .as_slice()
            .try_into()
            .map_err(|_| signature::Error::new())?;
        if self.0.verify(msg, sig) {
            Ok(())
        } else {
            Err(signature::Error::new())
        }
    }
}

impl JwtVerifier for EdVerifier {
    fn algorithm(&self) -> Algorithm {
        Algorithm::EdDSA
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::Verifier as _;

    #[test]
    fn remembered_signing_keys_are_never_mixed_up() {
        // More keys than the cache holds, used in turn: each signature is its own key's.
        let seeds: Vec<[u8; 32]> = (0..SIGNING_KEYS as u8 + 2).map(|i| [i + 1; 32]).collect();
        for round in 0..3 {
            for seed in &seeds {
                let message = [round, seed[0]];
                let signature = expanded_signing_key(seed).sign(&message);
                let public = ed25519_dalek::SigningKey::from_bytes(seed).verifying_key();
                let signature = ed25519_dalek::Signature::from_bytes(&signature);
                assert!(public.verify(&message, &signature).is_ok());
            }
        }
        SIGNING.with_borrow(|cache| assert_eq!(cache.len(), SIGNING_KEYS));
    }
}
