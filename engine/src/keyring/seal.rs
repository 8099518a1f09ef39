//! Sealing rotated keys' seeds: ChaCha20-Poly1305 under a key derived from the
//! deployment secret (version 3), and opening the versions before it once, to seal
//! them anew — version 2 (the same AEAD under a key derived from the root seed) and
//! version 1 (the seed XORed with an HMAC pad: no integrity, no dates bound).

use std::string::String;
use std::vec::Vec;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chacha20poly1305::aead::{Aead, KeyInit as _, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hmac::Mac as _;
use zeroize::Zeroizing;

use super::RotatedKey;
use crate::error::Error;
use crate::secret::{DeploymentSecret, Purpose};
use crate::signing::SigningKey;

/// The version new entries are sealed with.
pub(super) const VERSION: u8 = 3;

/// What an entry's ciphertext is bound to: its id and dates, under a version's label.
fn associated_data(label: &str, entry: &RotatedKey) -> Vec<u8> {
    std::format!(
        "{label}\0{}\0{}\0{}",
        entry.kid,
        entry.created_at,
        entry.activates_at()
    )
    .into_bytes()
}

/// Seal `seed` for `entry` (version 3) under the deployment secret, with `nonce`.
pub(super) fn seal(
    sealer: &DeploymentSecret,
    entry: &RotatedKey,
    seed: &[u8; 32],
    nonce: &[u8; 12],
) -> Result<String, Error> {
    let key = sealer.derive(Purpose::KeySealing);
    let cipher = ChaCha20Poly1305::new(Key::from_slice(&key[..]));
    let aad = associated_data("tessera keyring v3", entry);
    let sealed = cipher
        .encrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: seed,
                aad: &aad,
            },
        )
        .map_err(|_| Error::InvalidKey)?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Ok(B64.encode(out))
}

/// `entry` (of an earlier version, opened with `seed`) sealed as version 3.
pub(super) fn reseal(
    sealer: &DeploymentSecret,
    entry: &RotatedKey,
    seed: &[u8; 32],
    nonce: &[u8; 12],
) -> Result<RotatedKey, Error> {
    let mut fresh = RotatedKey {
        version: VERSION,
        // Version 1 keys signed from their creation: say so, now that dates are bound.
        activates_at: Some(entry.activates_at()),
        ..entry.clone()
    };
    fresh.sealed = seal(sealer, &fresh, seed, nonce)?;
    Ok(fresh)
}

/// Open a version-3 entry.
pub(super) fn open(sealer: &DeploymentSecret, entry: &RotatedKey) -> Result<SigningKey, Error> {
    if entry.version != VERSION {
        return Err(Error::InvalidKey);
    }
    let key = sealer.derive(Purpose::KeySealing);
    let seed = aead_open(Key::from_slice(&key[..]), "tessera keyring v3", entry)?;
    checked(entry, &seed)
}

/// Open an entry of version 1 or 2 with the root it was sealed under: the key, and its
/// seed to seal anew.
pub(super) fn open_legacy(
    root: &SigningKey,
    entry: &RotatedKey,
) -> Result<(SigningKey, Zeroizing<[u8; 32]>), Error> {
    let seed = match entry.version {
        2 => aead_open(&root_wrapping_key(root), "tessera keyring v2", entry)?,
        1 => {
            let bytes = B64.decode(&entry.sealed).map_err(|_| Error::InvalidKey)?;
            let sealed: [u8; 32] = bytes.try_into().map_err(|_| Error::InvalidKey)?;
            let mut mac =
                <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(&root.seed_bytes()[..])
                    .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
            mac.update(b"tessera keyring v1\0");
            mac.update(entry.kid.as_bytes());
            let pad = Zeroizing::new(<[u8; 32]>::from(mac.finalize().into_bytes()));
            Zeroizing::new(core::array::from_fn(|i| sealed[i] ^ pad[i]))
        }
        _ => return Err(Error::InvalidKey),
    };
    Ok((checked(entry, &seed)?, seed))
}

/// Version 2's sealing key: HKDF-SHA256 of the root seed.
fn root_wrapping_key(root: &SigningKey) -> Key {
    let hk = hkdf::Hkdf::<sha2::Sha256>::new(Some(b"tessera keyring"), &root.seed_bytes()[..]);
    let mut okm = Zeroizing::new([0u8; 32]);
    hk.expand(b"seal rotated signing keys v2", &mut okm[..])
        .unwrap_or_else(|_| unreachable!("32 bytes is a valid HKDF-SHA256 output length"));
    Key::clone_from_slice(&okm[..])
}

fn aead_open(key: &Key, label: &str, entry: &RotatedKey) -> Result<Zeroizing<[u8; 32]>, Error> {
    let bytes = B64.decode(&entry.sealed).map_err(|_| Error::InvalidKey)?;
    if bytes.len() != 12 + 32 + 16 {
        return Err(Error::InvalidKey);
    }
    let (nonce, sealed) = bytes.split_at(12);
    let aad = associated_data(label, entry);
    let opened = Zeroizing::new(
        ChaCha20Poly1305::new(key)
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: &aad,
                },
            )
            .map_err(|_| Error::InvalidKey)?,
    );
    let seed: [u8; 32] = opened
        .as_slice()
        .try_into()
        .map_err(|_| Error::InvalidKey)?;
    Ok(Zeroizing::new(seed))
}

/// The key of `seed`, if it is the one `entry` names.
fn checked(entry: &RotatedKey, seed: &[u8; 32]) -> Result<SigningKey, Error> {
    let key = SigningKey::from_seed(seed);
    if key.kid() != entry.kid || B64.encode(key.public_bytes()) != entry.x {
        return Err(Error::InvalidKey);
    }
    Ok(key)
}
