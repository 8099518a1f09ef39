//! The issuer's signing keys: a root key from a secret, plus keys made by rotation.
//!
//! The root key comes from the deployment's secret (`SIGNING_KEY`). Rotation makes a
//! new key from fresh random bytes (the caller's: the engine has no randomness) and
//! returns a [`RotatedKey`] to store. Its private half is sealed: XORed with
//! HMAC-SHA256(root seed, "tessera keyring v1" ‖ kid), a pad unique to the key, so a
//! store that leaks reveals nothing without the root secret. Unsealing re-derives the
//! public key and compares it with the stored one, so a tampered entry is refused.
//!
//! The newest key signs; every key verifies, so tokens signed before a rotation stay
//! valid. This module does not persist anything.

use std::string::String;
use std::vec::Vec;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::Mac as _;

use crate::api::KeyInfo;
use crate::error::Error;
use crate::keys::{KeySet, SigningKey};

/// A key made by rotation, as stored. Holds no usable secret on its own.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RotatedKey {
    /// The key's id (its RFC 7638 thumbprint).
    pub kid: String,
    /// The public key, base64url.
    pub x: String,
    /// The sealed 32-byte seed, base64url.
    pub sealed: String,
    /// When the key was made, Unix seconds.
    pub created_at: u64,
}

/// The root key and every rotated key.
#[derive(Debug, Clone)]
pub struct Keyring {
    root: SigningKey,
    rotated: Vec<(RotatedKey, SigningKey)>,
}

impl Keyring {
    /// Open a keyring from its root key and the stored rotated keys (any order).
    pub fn open(root: SigningKey, stored: Vec<RotatedKey>) -> Result<Keyring, Error> {
        let mut rotated = Vec::with_capacity(stored.len());
        for entry in stored {
            let key = unseal(&root, &entry)?;
            rotated.push((entry, key));
        }
        rotated.sort_by(|(a, _), (b, _)| (a.created_at, &a.kid).cmp(&(b.created_at, &b.kid)));
        Ok(Keyring { root, rotated })
    }

    /// The key that signs new tokens: the newest one.
    pub fn active(&self) -> &SigningKey {
        self.rotated.last().map_or(&self.root, |(_, key)| key)
    }

    /// Every key's public half, for verification and the JWKS.
    pub fn key_set(&self) -> Result<KeySet, Error> {
        let mut set = KeySet::new();
        set.insert_signing_key(&self.root)?;
        for (_, key) in &self.rotated {
            set.insert_signing_key(key)?;
        }
        Ok(set)
    }

    /// Make a new active key from a fresh 32-byte random seed; store the returned entry.
    pub fn rotate(&mut self, seed: &[u8; 32], now: u64) -> Result<RotatedKey, Error> {
        let key = SigningKey::from_seed(seed);
        if key.kid() == self.root.kid() || self.rotated.iter().any(|(e, _)| e.kid == key.kid()) {
            return Err(Error::DuplicateKid(key.kid().into()));
        }
        let pad = pad(&self.root, key.kid());
        let sealed: Vec<u8> = seed.iter().zip(pad).map(|(s, p)| s ^ p).collect();
        let entry = RotatedKey {
            kid: key.kid().into(),
            x: B64.encode(key.public_bytes()),
            sealed: B64.encode(sealed),
            created_at: now,
        };
        self.rotated.push((entry.clone(), key));
        Ok(entry)
    }

    /// Every key, oldest first.
    pub fn describe(&self) -> Vec<KeyInfo> {
        let active = self.active().kid();
        let mut out = Vec::with_capacity(self.rotated.len() + 1);
        out.push(KeyInfo {
            kid: self.root.kid().into(),
            source: "secret".into(),
            created_at: 0,
            active: self.root.kid() == active,
        });
        for (entry, _) in &self.rotated {
            out.push(KeyInfo {
                kid: entry.kid.clone(),
                source: "rotated".into(),
                created_at: entry.created_at,
                active: entry.kid == active,
            });
        }
        out
    }
}

fn pad(root: &SigningKey, kid: &str) -> [u8; 32] {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&root.seed_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(b"tessera keyring v1\0");
    mac.update(kid.as_bytes());
    mac.finalize().into_bytes().into()
}

fn unseal(root: &SigningKey, entry: &RotatedKey) -> Result<SigningKey, Error> {
    let sealed: [u8; 32] = B64
        .decode(&entry.sealed)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(Error::InvalidKey)?;
    let pad = pad(root, &entry.kid);
    let mut seed = [0u8; 32];
    for (i, byte) in seed.iter_mut().enumerate() {
        *byte = sealed[i] ^ pad[i];
    }
    let key = SigningKey::from_seed(&seed);
    if key.kid() != entry.kid || B64.encode(key.public_bytes()) != entry.x {
        return Err(Error::InvalidKey);
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use std::string::ToString;
    use std::vec;

    use super::*;

    fn root() -> SigningKey {
        SigningKey::from_seed(&[1; 32]).with_kid("root")
    }

    #[test]
    fn rotation_changes_the_signer_and_keeps_old_keys() {
        let mut ring = Keyring::open(root(), Vec::new()).expect("open");
        assert_eq!(ring.active().kid(), "root");
        let entry = ring.rotate(&[2; 32], 100).expect("rotate");
        assert_eq!(ring.active().kid(), entry.kid);
        let kids: Vec<String> = ring
            .key_set()
            .expect("set")
            .kids()
            .map(String::from)
            .collect();
        assert_eq!(kids, ["root".to_string(), entry.kid.clone()]);
        assert!(
            !entry.sealed.contains(&B64.encode([2u8; 32])),
            "the seed is sealed"
        );

        // Reopened from storage, the same key signs.
        let reopened = Keyring::open(root(), vec![entry.clone()]).expect("reopen");
        assert_eq!(
            reopened.active().public_bytes(),
            SigningKey::from_seed(&[2; 32]).public_bytes()
        );
        let infos = reopened.describe();
        assert_eq!(infos.iter().filter(|k| k.active).count(), 1);
        assert!(infos[1].active);
    }

    #[test]
    fn newest_rotation_signs_whatever_the_stored_order() {
        let mut ring = Keyring::open(root(), Vec::new()).expect("open");
        let a = ring.rotate(&[2; 32], 100).expect("a");
        let b = ring.rotate(&[3; 32], 200).expect("b");
        let ring = Keyring::open(root(), vec![b.clone(), a]).expect("reopen");
        assert_eq!(ring.active().kid(), b.kid);
    }

    #[test]
    fn tampered_or_foreign_entries_are_refused() {
        let mut ring = Keyring::open(root(), Vec::new()).expect("open");
        let entry = ring.rotate(&[2; 32], 100).expect("rotate");
        let other_root = SigningKey::from_seed(&[9; 32]);
        assert_eq!(
            Keyring::open(other_root, vec![entry.clone()]).err(),
            Some(Error::InvalidKey)
        );
        let mut tampered = entry;
        tampered.sealed = B64.encode([0u8; 32]);
        assert_eq!(
            Keyring::open(root(), vec![tampered]).err(),
            Some(Error::InvalidKey)
        );
    }

    #[test]
    fn rotating_to_an_existing_key_is_refused() {
        let mut ring = Keyring::open(SigningKey::from_seed(&[1; 32]), Vec::new()).expect("open");
        assert!(matches!(
            ring.rotate(&[1; 32], 1),
            Err(Error::DuplicateKid(_))
        ));
    }
}
