//! The issuer's signing keys: a root key from a secret, plus keys made by rotation, and
//! their lifecycle — published before they sign, retired once no token needs them, or
//! at once by an administrator after a compromise.
//!
//! The root key comes from the deployment's `SIGNING_KEY`. Rotation makes a new key
//! from fresh random bytes (the caller's: the engine has no randomness) and returns a
//! [`RotatedKey`] to store. Its seed is sealed (`seal.rs`) with ChaCha20-Poly1305 under
//! a key derived from the [`DeploymentSecret`] — never from a signing key, so the root
//! can be replaced or retired without losing the others — with the key's id and dates
//! bound as associated data: a store that leaks reveals nothing without the deployment
//! secret, and an entry whose id or dates were changed does not open.
//!
//! Lifecycle, all against the caller's `now`:
//!
//! - **Published before it signs.** A rotated key is in the key set (the JWKS) from its
//!   creation, but signs only from `activates_at`, which the caller sets at least as far
//!   ahead as validators may cache the JWKS (or now, after a compromise); so no
//!   validator meets a token signed by a key it has not fetched yet.
//! - **The signer** is the newest key whose `activates_at` has come, else the root
//!   unless it is retired; with neither, nothing signs ([`Keyring::active`] is an error,
//!   never a retired key).
//! - **Retired when no token needs it.** A rotated key that no longer signs is dropped
//!   once every token it may have signed has expired: its license tokens' latest `exp`
//!   (noted before each signature, [`KeyUse`]) and any lease token it signed (at most
//!   [`MAX_LEASE_SECONDS`] after it stopped signing). The root key is never retired by
//!   time: tokens it signed before usage was recorded are unknown.
//! - **Retired at once** ([`Keyring::retire`]): any key but the one signing, the root
//!   included — the compromise drill: rotate with immediate activation, retire the
//!   leaked key (gone from the JWKS: every token it signed stops verifying), re-issue.
//! - **Never fatal.** An entry that does not open (another deployment secret, a changed
//!   record) is skipped and listed ([`Keyring::unopened`]) for the shell to report; the
//!   others still work. Entries sealed by earlier versions (version 1: an XOR pad;
//!   version 2: under the root) open with the root once and come back sealed anew
//!   ([`Opened::resealed`]) for the shell to store in their place.
//! - **Never bricked.** Rotation is refused while [`MAX_LIVE_KEYS`] rotated keys are
//!   still needed, and the key set holds at most that many plus the root, well under
//!   what [`KeySet`] accepts.

mod seal;
#[cfg(test)]
mod tests;

use std::string::{String, ToString};
use std::vec::Vec;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

use crate::api::KeyInfo;
use crate::error::Error;
use crate::keys::KeySet;
use crate::seats::MAX_LEASE_SECONDS;
use crate::secret::DeploymentSecret;
use crate::signing::{Sign, SigningKey};

/// Rotated keys that may be live (published, signing or still needed) at once.
pub const MAX_LIVE_KEYS: usize = 32;

/// A key made by rotation, as stored. Holds no usable secret on its own.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RotatedKey {
    /// The key's id (its RFC 7638 thumbprint).
    pub kid: String,
    /// The public key, base64url.
    pub x: String,
    /// The sealed seed, base64url: nonce ‖ ciphertext ‖ tag (version 3 under the
    /// deployment secret; version 2 under the root), or the seed XORed with an HMAC pad
    /// (version 1). Versions 1 and 2 are only opened to be sealed anew.
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
///
/// Opened with [`SigningKey`]s; a shell may swap each for a signer of its own
/// ([`Keyring::map_keys`], the worker: Web Crypto keys) and drop the seeds.
#[derive(Debug, Clone)]
pub struct Keyring<K = SigningKey> {
    root: K,
    root_retired: bool,
    rotated: Vec<(RotatedKey, K, u64)>,
    unopened: Vec<String>,
}

/// A keyring just opened, and the entries the shell should store again.
#[derive(Debug)]
pub struct Opened {
    /// The keyring.
    pub ring: Keyring,
    /// Entries of earlier versions, sealed anew (version 3): store each in place of
    /// the entry with its `kid`.
    pub resealed: Vec<RotatedKey>,
}

/// What happened to a key [`Keyring::retire`] retired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retired {
    /// The root: the shell records its `kid` among the retired roots.
    Root,
    /// A rotated key: the shell deletes its entry.
    Rotated,
}

impl Keyring<SigningKey> {
    /// Open a keyring from its root key (unless `retired_roots` names it), the stored
    /// rotated keys (any order) unsealed with `sealer`, and what is recorded of their
    /// use. An entry that does not open is skipped and listed in
    /// [`Keyring::unopened`]; one of an earlier version is sealed anew with a nonce from
    /// `nonce` (when it gives one) and returned in [`Opened::resealed`].
    pub fn open(
        root: SigningKey,
        retired_roots: &[String],
        sealer: &DeploymentSecret,
        stored: Vec<RotatedKey>,
        uses: &[KeyUse],
        nonce: &mut dyn FnMut() -> Option<[u8; 12]>,
    ) -> Opened {
        let root_retired = retired_roots.iter().any(|k| k == root.kid());
        let mut rotated = Vec::with_capacity(stored.len());
        let mut unopened = Vec::new();
        let mut resealed = Vec::new();
        for entry in stored {
            let kid = entry.kid.clone();
            let opened = match entry.version {
                3 => seal::open(sealer, &entry).map(|key| (entry, key)),
                _ => seal::open_legacy(&root, &entry).map(|(key, seed)| {
                    match nonce().map(|n| seal::reseal(sealer, &entry, &seed, &n)) {
                        Some(Ok(fresh)) => {
                            resealed.push(fresh.clone());
                            (fresh, key)
                        }
                        _ => (entry, key),
                    }
                }),
            };
            let Ok((entry, key)) = opened else {
                unopened.push(kid);
                continue;
            };
            let last_exp = uses
                .iter()
                .find(|u| u.kid == entry.kid)
                .map_or(0, |u| u.last_exp);
            rotated.push((entry, key, last_exp));
        }
        rotated.sort_by(|(a, _, _), (b, _, _)| {
            (a.activates_at(), a.created_at, &a.kid).cmp(&(b.activates_at(), b.created_at, &b.kid))
        });
        Opened {
            ring: Keyring {
                root,
                root_retired,
                rotated,
                unopened,
            },
            resealed,
        }
    }

    /// Make a new key from a fresh 32-byte seed, sealed under `sealer` with a fresh
    /// 12-byte nonce (both the caller's random bytes), that signs from `activates_at`;
    /// store the returned entry. Refused while [`MAX_LIVE_KEYS`] rotated keys are still
    /// live.
    pub fn rotate(
        &mut self,
        sealer: &DeploymentSecret,
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
            version: seal::VERSION,
            created_at: now,
            activates_at: Some(activates_at.max(now)),
        };
        entry.sealed = seal::seal(sealer, &entry, seed, nonce)?;
        self.rotated.push((entry.clone(), key, 0));
        Ok(entry)
    }
}

impl<K: Sign> Keyring<K> {
    /// Every key of the ring (the root, even retired, and the rotated keys).
    pub fn keys(&self) -> impl Iterator<Item = &K> {
        core::iter::once(&self.root).chain(self.rotated.iter().map(|(_, key, _)| key))
    }

    /// The same keyring with each key swapped by `f` (for a signer held elsewhere),
    /// or the first error `f` gives.
    pub fn map_keys<T, E>(self, mut f: impl FnMut(K) -> Result<T, E>) -> Result<Keyring<T>, E> {
        let root = f(self.root)?;
        let mut rotated = Vec::with_capacity(self.rotated.len());
        for (entry, key, last_exp) in self.rotated {
            rotated.push((entry, f(key)?, last_exp));
        }
        Ok(Keyring {
            root,
            root_retired: self.root_retired,
            rotated,
            unopened: self.unopened,
        })
    }

    /// The key that signs new tokens at `now`: the newest whose time has come, else
    /// the root unless it is retired. A retired key never signs: with no other, this is
    /// an error (rotate).
    pub fn active(&self, now: u64) -> Result<&K, Error> {
        match self
            .rotated
            .iter()
            .rev()
            .find(|(e, _, _)| e.activates_at() <= now)
        {
            Some((_, key, _)) => Ok(key),
            None if !self.root_retired => Ok(&self.root),
            None => Err(Error::Config(
                "no key can sign: the root key is retired and no rotated key is active; rotate",
            )),
        }
    }

    /// The stored entries that did not open (their `kid`s): skipped, to be reported.
    pub fn unopened(&self) -> &[String] {
        &self.unopened
    }

    /// Retire key `kid` now, whatever tokens it signed (they stop verifying once the
    /// shell has stored the change): any key but the one signing at `now`.
    pub fn retire(&mut self, kid: &str, now: u64) -> Result<Retired, Error> {
        if self.active(now).is_ok_and(|k| k.kid() == kid) {
            return Err(Error::Conflict(
                "the key that signs now cannot retire: rotate (activating now, after a \
                 compromise) and retire it once the new key signs",
            ));
        }
        if kid == self.root.kid() && !self.root_retired {
            self.root_retired = true;
            return Ok(Retired::Root);
        }
        let index = self
            .rotated
            .iter()
            .position(|(e, _, _)| e.kid == kid)
            .ok_or(Error::NotFound("key"))?;
        self.rotated.remove(index);
        Ok(Retired::Rotated)
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
        if !self.root_retired {
            set.insert_signing_key(&self.root)?;
        }
        for (_, key, _) in self.rotated.iter().rev().take(MAX_LIVE_KEYS) {
            set.insert_signing_key(key)?;
        }
        Ok(set)
    }

    /// Every key, oldest first, as the API shows them at `now`: the root unless it is
    /// retired, the rotated keys, and entries that did not open (`"unopened"`).
    pub fn describe(&self, now: u64) -> Vec<KeyInfo> {
        let active = self.active(now).map(|k| k.kid().to_string()).ok();
        let is_active = |kid: &str| active.as_deref() == Some(kid);
        let mut out = Vec::with_capacity(self.rotated.len() + 1);
        if !self.root_retired {
            out.push(KeyInfo {
                kid: self.root.kid().into(),
                source: "secret".into(),
                created_at: 0,
                activates_at: 0,
                active: is_active(self.root.kid()),
            });
        }
        for (entry, _, _) in &self.rotated {
            out.push(KeyInfo {
                kid: entry.kid.clone(),
                source: "rotated".into(),
                created_at: entry.created_at,
                activates_at: entry.activates_at(),
                active: is_active(&entry.kid),
            });
        }
        for kid in &self.unopened {
            out.push(KeyInfo {
                kid: kid.clone(),
                source: "unopened".into(),
                created_at: 0,
                activates_at: 0,
                active: false,
            });
        }
        out
    }
}
