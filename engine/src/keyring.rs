//! The issuer's signing keys: a root key from a secret, plus keys made by rotation, and
//! their lifecycle — published before they sign, retired once no token needs them.
//!
//! The root key comes from the deployment's secret (`SIGNING_KEY`). Rotation makes a
//! new key from fresh random bytes (the caller's: the engine has no randomness) and
//! returns a [`RotatedKey`] to store. Its seed is sealed with ChaCha20-Poly1305 under a
//! key derived from the root seed with HKDF-SHA256, the key's id and dates bound as
//! associated data: a store that leaks reveals nothing without the root secret, and an
//! entry whose id or dates were changed does not open.
//!
//! Lifecycle, all against the caller's `now`:
//!
//! - **Published before it signs.** A rotated key is in the key set (the JWKS) from its
//!   creation, but signs only from `activates_at`, which the caller sets at least as far
//!   ahead as validators may cache the JWKS; so no validator meets a token signed by a
//!   key it has not fetched yet.
//! - **The signer** is the newest key whose `activates_at` has come.
//! - **Retired when no token needs it.** A rotated key that no longer signs is dropped
//!   once every token it may have signed has expired: its license tokens' latest `exp`
//!   (which the shell records at each signing, [`KeyUse`]) and any lease token it signed
//!   (at most [`MAX_LEASE_SECONDS`] after it stopped signing). The root key is never
//!   retired: tokens it signed before usage was recorded are unknown.
//! - **Never bricked.** Rotation is refused while [`MAX_LIVE_KEYS`] rotated keys are
//!   still needed, and the key set holds at most that many plus the root, well under
//!   what [`KeySet`] accepts.

use std::string::{String, ToString};
use std::vec::Vec;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chacha20poly1305::aead::{Aead, KeyInit as _, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hmac::Mac as _;

use crate::api::KeyInfo;
use crate::error::Error;
use crate::keys::KeySet;
use crate::seats::MAX_LEASE_SECONDS;
use crate::signing::SigningKey;

/// Rotated keys that may be live (published, signing or still needed) at once.
pub const MAX_LIVE_KEYS: usize = 32;

/// A key made by rotation, as stored. Holds no usable secret on its own.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RotatedKey {
    /// The key's id (its RFC 7638 thumbprint).
    pub kid: String,
    /// The public key, base64url.
    pub x: String,
    /// The sealed seed, base64url: nonce ‖ ciphertext ‖ tag (version 2), or the seed
    /// XORed with an HMAC pad (version 1, read for keys sealed before version 2).
    pub sealed: String,
    /// How `sealed` was made.
    #[serde(default = "legacy_version")]
    pub version: u8,
    /// When the key was made, Unix seconds.
    pub created_at: u64,
    /// When it starts to sign (version-1 keys signed from their creation).
    #[serde(default)]
    pub activates_at: Option<u64>,
}

fn legacy_version() -> u8 {
    1
}

impl RotatedKey {
    fn activates_at(&self) -> u64 {
        self.activates_at.unwrap_or(self.created_at)
    }
}

/// What the shell records of a key's use: the latest `exp` of a license token it
/// signed (0: none yet).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeyUse {
    /// The key.
    pub kid: String,
    /// The latest `exp` of a license token it signed.
    pub last_exp: u64,
}

/// The root key and every rotated key not yet retired, oldest first.
#[derive(Debug, Clone)]
pub struct Keyring {
    root: SigningKey,
    rotated: Vec<(RotatedKey, SigningKey, u64)>,
}

impl Keyring {
    /// Open a keyring from its root key, the stored rotated keys (any order) and what
    /// is recorded of their use.
    pub fn open(
        root: SigningKey,
        stored: Vec<RotatedKey>,
        uses: &[KeyUse],
    ) -> Result<Keyring, Error> {
        let mut rotated = Vec::with_capacity(stored.len());
        for entry in stored {
            let key = unseal(&root, &entry)?;
            let last_exp = uses
                .iter()
                .find(|u| u.kid == entry.kid)
                .map_or(0, |u| u.last_exp);
            rotated.push((entry, key, last_exp));
        }
        rotated.sort_by(|(a, _, _), (b, _, _)| {
            (a.activates_at(), a.created_at, &a.kid).cmp(&(b.activates_at(), b.created_at, &b.kid))
        });
        Ok(Keyring { root, rotated })
    }

    /// The key that signs new tokens at `now`: the newest whose time has come.
    pub fn active(&self, now: u64) -> &SigningKey {
        self.rotated
            .iter()
            .rev()
            .find(|(e, _, _)| e.activates_at() <= now)
            .map_or(&self.root, |(_, key, _)| key)
    }

    /// When the key `kid` stopped signing: when the next key began (`None` while it
    /// still signs, or if it never did).
    fn stopped_at(&self, kid: &str, now: u64) -> Option<u64> {
        let index = self.rotated.iter().position(|(e, _, _)| e.kid == kid)?;
        self.rotated[index + 1..]
            .iter()
            .map(|(e, _, _)| e.activates_at())
            .find(|t| *t <= now)
    }

    /// The rotated keys no token can need any more at `now`: they stopped signing, the
    /// license tokens they signed have all expired, and so have their lease tokens.
    /// The shell deletes them; [`Keyring::open`] then leaves them out.
    pub fn retirable(&self, now: u64) -> Vec<String> {
        self.rotated
            .iter()
            .filter(|(e, _, last_exp)| {
                self.stopped_at(&e.kid, now).is_some_and(|stopped| {
                    let leases = stopped.saturating_add(u64::from(MAX_LEASE_SECONDS));
                    now > (*last_exp).max(leases)
                })
            })
            .map(|(e, _, _)| e.kid.clone())
            .collect()
    }

    /// Every key's public half, pending keys included, for verification and the JWKS.
    pub fn key_set(&self) -> Result<KeySet, Error> {
        let mut set = KeySet::new();
        set.insert_signing_key(&self.root)?;
        for (_, key, _) in self.rotated.iter().rev().take(MAX_LIVE_KEYS) {
            set.insert_signing_key(key)?;
        }
        Ok(set)
    }

    /// Make a new key from a fresh 32-byte seed, sealed with a fresh 12-byte nonce
    /// (both the caller's random bytes), that signs from `activates_at`; store the
    /// returned entry. Refused while [`MAX_LIVE_KEYS`] rotated keys are still live.
    pub fn rotate(
        &mut self,
        seed: &[u8; 32],
        nonce: &[u8; 12],
        now: u64,
        activates_at: u64,
    ) -> Result<RotatedKey, Error> {
        if self.rotated.len() >= MAX_LIVE_KEYS {
            return Err(Error::Conflict(
                "too many keys are still in use: each retires once the tokens it signed expire",
            ));
        }
        let key = SigningKey::from_seed(seed);
        if key.kid() == self.root.kid() || self.rotated.iter().any(|(e, _, _)| e.kid == key.kid()) {
            return Err(Error::DuplicateKid(key.kid().into()));
        }
        let mut entry = RotatedKey {
            kid: key.kid().into(),
            x: B64.encode(key.public_bytes()),
            sealed: String::new(),
            version: 2,
            created_at: now,
            activates_at: Some(activates_at.max(now)),
        };
        entry.sealed = seal(&self.root, &entry, seed, nonce)?;
        self.rotated.push((entry.clone(), key, 0));
        Ok(entry)
    }

    /// Every key, oldest first, as the API shows them at `now`.
    pub fn describe(&self, now: u64) -> Vec<KeyInfo> {
        let active = self.active(now).kid().to_string();
        let mut out = Vec::with_capacity(self.rotated.len() + 1);
        out.push(KeyInfo {
            kid: self.root.kid().into(),
            source: "secret".into(),
            created_at: 0,
            activates_at: 0,
            active: self.root.kid() == active,
        });
        for (entry, _, _) in &self.rotated {
            out.push(KeyInfo {
                kid: entry.kid.clone(),
                source: "rotated".into(),
                created_at: entry.created_at,
                activates_at: entry.activates_at(),
                active: entry.kid == active,
            });
        }
        out
    }
}

/// The sealing key: HKDF-SHA256 of the root seed, for this purpose only.
fn wrapping_key(root: &SigningKey) -> Key {
    let hk = hkdf::Hkdf::<sha2::Sha256>::new(Some(b"tessera keyring"), &root.seed_bytes());
    let mut okm = [0u8; 32];
    hk.expand(b"seal rotated signing keys v2", &mut okm)
        .unwrap_or_else(|_| unreachable!("32 bytes is a valid HKDF-SHA256 output length"));
    Key::from(okm)
}

/// What an entry's ciphertext is bound to: its id and dates.
fn associated_data(entry: &RotatedKey) -> Vec<u8> {
    std::format!(
        "tessera keyring v2\0{}\0{}\0{}",
        entry.kid,
        entry.created_at,
        entry.activates_at()
    )
    .into_bytes()
}

fn seal(
    root: &SigningKey,
    entry: &RotatedKey,
    seed: &[u8; 32],
    nonce: &[u8; 12],
) -> Result<String, Error> {
    let cipher = ChaCha20Poly1305::new(&wrapping_key(root));
    let aad = associated_data(entry);
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

fn unseal(root: &SigningKey, entry: &RotatedKey) -> Result<SigningKey, Error> {
    let bytes = B64.decode(&entry.sealed).map_err(|_| Error::InvalidKey)?;
    let seed: [u8; 32] = match entry.version {
        2 => {
            if bytes.len() != 12 + 32 + 16 {
                return Err(Error::InvalidKey);
            }
            let (nonce, sealed) = bytes.split_at(12);
            let cipher = ChaCha20Poly1305::new(&wrapping_key(root));
            let aad = associated_data(entry);
            cipher
                .decrypt(
                    Nonce::from_slice(nonce),
                    Payload {
                        msg: sealed,
                        aad: &aad,
                    },
                )
                .map_err(|_| Error::InvalidKey)?
                .try_into()
                .map_err(|_| Error::InvalidKey)?
        }
        // Keys sealed before version 2: the seed XORed with HMAC(root, label ‖ kid).
        1 => {
            let sealed: [u8; 32] = bytes.try_into().map_err(|_| Error::InvalidKey)?;
            let mut mac =
                <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(&root.seed_bytes())
                    .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
            mac.update(b"tessera keyring v1\0");
            mac.update(entry.kid.as_bytes());
            let pad: [u8; 32] = mac.finalize().into_bytes().into();
            core::array::from_fn(|i| sealed[i] ^ pad[i])
        }
        _ => return Err(Error::InvalidKey),
    };
    let key = SigningKey::from_seed(&seed);
    if key.kid() != entry.kid || B64.encode(key.public_bytes()) != entry.x {
        return Err(Error::InvalidKey);
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use std::vec;

    use super::*;
    use crate::claims::DAY;

    const NOW: u64 = 1_800_000_000;
    /// How far ahead of signing a key is published in these tests.
    const PUBLISH: u64 = 330;

    fn root() -> SigningKey {
        SigningKey::from_seed(&[1; 32]).with_kid("root")
    }

    fn seed(i: u8) -> [u8; 32] {
        [i.wrapping_add(2); 32]
    }

    fn kids(ring: &Keyring) -> Vec<String> {
        ring.key_set()
            .expect("set")
            .kids()
            .map(String::from)
            .collect()
    }

    #[test]
    fn a_rotated_key_is_published_at_once_and_signs_from_its_time() {
        let mut ring = Keyring::open(root(), Vec::new(), &[]).expect("open");
        let entry = ring
            .rotate(&seed(0), &[7; 12], NOW, NOW + PUBLISH)
            .expect("rotate");
        assert_eq!(
            kids(&ring),
            ["root".to_string(), entry.kid.clone()],
            "in the JWKS now"
        );
        assert_eq!(
            ring.active(NOW + PUBLISH - 1).kid(),
            "root",
            "not signing yet"
        );
        assert_eq!(ring.active(NOW + PUBLISH).kid(), entry.kid);
        assert!(
            !entry.sealed.contains(&B64.encode(seed(0))),
            "the seed is sealed"
        );

        // Reopened from storage, the same key signs at the same time.
        let reopened = Keyring::open(root(), vec![entry.clone()], &[]).expect("reopen");
        assert_eq!(
            reopened.active(NOW + PUBLISH).public_bytes(),
            SigningKey::from_seed(&seed(0)).public_bytes()
        );
        let infos = reopened.describe(NOW);
        assert_eq!(
            infos
                .iter()
                .filter(|k| k.active)
                .map(|k| k.kid.as_str())
                .collect::<Vec<_>>(),
            ["root"]
        );
        assert_eq!(infos[1].activates_at, NOW + PUBLISH);
    }

    #[test]
    fn the_newest_activated_key_signs_whatever_the_stored_order() {
        let mut ring = Keyring::open(root(), Vec::new(), &[]).expect("open");
        let a = ring.rotate(&seed(0), &[1; 12], NOW, NOW).expect("a");
        let b = ring
            .rotate(&seed(1), &[2; 12], NOW + 10, NOW + 10)
            .expect("b");
        let ring = Keyring::open(root(), vec![b.clone(), a.clone()], &[]).expect("reopen");
        assert_eq!(ring.active(NOW + 10).kid(), b.kid);
        assert_eq!(ring.active(NOW + 9).kid(), a.kid);
    }

    #[test]
    fn a_changed_or_foreign_entry_does_not_open() {
        let mut ring = Keyring::open(root(), Vec::new(), &[]).expect("open");
        let entry = ring
            .rotate(&seed(0), &[3; 12], NOW, NOW + PUBLISH)
            .expect("rotate");
        let other_root = SigningKey::from_seed(&[9; 32]);
        assert_eq!(
            Keyring::open(other_root, vec![entry.clone()], &[]).err(),
            Some(Error::InvalidKey)
        );
        // Bound to its dates: moving its activation (say, to make it sign at once) fails.
        let moved = RotatedKey {
            activates_at: Some(NOW),
            ..entry.clone()
        };
        assert_eq!(
            Keyring::open(root(), vec![moved], &[]).err(),
            Some(Error::InvalidKey)
        );
        let mut flipped = B64.decode(&entry.sealed).expect("b64");
        flipped[20] ^= 1;
        let tampered = RotatedKey {
            sealed: B64.encode(flipped),
            ..entry.clone()
        };
        assert_eq!(
            Keyring::open(root(), vec![tampered], &[]).err(),
            Some(Error::InvalidKey)
        );
        let short = RotatedKey {
            sealed: B64.encode([0u8; 32]),
            ..entry
        };
        assert_eq!(
            Keyring::open(root(), vec![short], &[]).err(),
            Some(Error::InvalidKey)
        );
    }

    #[test]
    fn keys_sealed_before_version_2_still_open() {
        // A version-1 entry, sealed as earlier versions did.
        let key = SigningKey::from_seed(&seed(5));
        let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(&root().seed_bytes())
            .expect("mac");
        mac.update(b"tessera keyring v1\0");
        mac.update(key.kid().as_bytes());
        let pad: [u8; 32] = mac.finalize().into_bytes().into();
        let sealed: Vec<u8> = seed(5).iter().zip(pad).map(|(s, p)| s ^ p).collect();
        let json = serde_json::json!({
            "kid": key.kid(), "x": B64.encode(key.public_bytes()), "sealed": B64.encode(sealed), "created_at": NOW
        });
        let entry: RotatedKey = serde_json::from_value(json).expect("a version-1 record");
        assert_eq!(entry.version, 1);
        let ring = Keyring::open(root(), vec![entry], &[]).expect("opens");
        assert_eq!(
            ring.active(NOW).kid(),
            key.kid(),
            "a version-1 key signed from its creation"
        );
    }

    #[test]
    fn a_key_retires_once_no_token_it_signed_can_be_valid() {
        let mut ring = Keyring::open(root(), Vec::new(), &[]).expect("open");
        let a = ring.rotate(&seed(0), &[1; 12], NOW, NOW).expect("a");
        let b = ring
            .rotate(&seed(1), &[2; 12], NOW + DAY, NOW + DAY)
            .expect("b");
        let license_exp = NOW + 40 * DAY;
        let uses = [KeyUse {
            kid: a.kid.clone(),
            last_exp: license_exp,
        }];
        let ring = Keyring::open(root(), vec![a.clone(), b.clone()], &uses).expect("reopen");
        assert!(ring.retirable(NOW + DAY - 1).is_empty(), "a still signs");
        assert!(
            ring.retirable(license_exp).is_empty(),
            "a license a signed is valid until then"
        );
        assert_eq!(
            ring.retirable(license_exp + 1),
            core::slice::from_ref(&a.kid)
        );
        assert!(
            !ring.retirable(license_exp + 1).contains(&b.kid),
            "the signer never retires"
        );
        // A key that signed no license still waits out the leases it may have signed.
        let quiet = Keyring::open(root(), vec![a.clone(), b], &[]).expect("open");
        let leases = NOW + DAY + u64::from(MAX_LEASE_SECONDS);
        assert!(quiet.retirable(leases).is_empty());
        assert_eq!(quiet.retirable(leases + 1), [a.kid]);
    }

    #[test]
    fn a_hundred_rotations_never_brick_the_key_set() {
        let mut entries: Vec<RotatedKey> = Vec::new();
        let mut now = NOW;
        for i in 0..100u8 {
            let mut ring = Keyring::open(root(), entries.clone(), &[]).expect("open");
            match ring.rotate(&seed(i), &[i; 12], now, now + PUBLISH) {
                Ok(entry) => entries.push(entry),
                Err(Error::Conflict(_)) => {
                    // Full: some keys must retire before another is made. Time passes.
                    now += 8 * DAY;
                    let retired = ring.retirable(now);
                    assert!(!retired.is_empty(), "old keys retire with time");
                    entries.retain(|e| !retired.contains(&e.kid));
                    continue;
                }
                Err(other) => panic!("{other:?}"),
            }
            let ring = Keyring::open(root(), entries.clone(), &[]).expect("open");
            assert!(ring.key_set().is_ok(), "the JWKS always builds");
            assert!(entries.len() <= MAX_LIVE_KEYS);
            now += 60;
        }
        // Without retirement the 33rd rotation is refused, and the set still builds.
        let mut full = Keyring::open(root(), Vec::new(), &[]).expect("open");
        for i in 0..MAX_LIVE_KEYS as u8 {
            full.rotate(&seed(i), &[i; 12], NOW, NOW).expect("room");
        }
        assert!(matches!(
            full.rotate(&seed(200), &[0; 12], NOW, NOW),
            Err(Error::Conflict(_))
        ));
        assert_eq!(
            full.key_set().expect("builds").kids().count(),
            MAX_LIVE_KEYS + 1
        );
    }

    #[test]
    fn rotating_to_an_existing_key_is_refused() {
        let mut ring =
            Keyring::open(SigningKey::from_seed(&[1; 32]), Vec::new(), &[]).expect("open");
        assert!(matches!(
            ring.rotate(&[1; 32], &[0; 12], NOW, NOW),
            Err(Error::DuplicateKid(_))
        ));
    }
}
