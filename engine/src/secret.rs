//! The deployment secret and what it authenticates, sans-I/O.
//!
//! One 32-byte secret per deployment (the worker's `DEPLOYMENT_SECRET`), apart from
//! every signing key, so a signing key can be replaced or retired without touching it.
//! Each use has its own key, derived with HKDF-SHA256 under a label ([`Purpose`]); no
//! key serves two purposes. What it authenticates:
//!
//! - **Device cookies** (OWASP's answer to account lockout): after a password sign-in
//!   the client gets `device_cookie(user, nonce)`, a MAC over the username and a random
//!   nonce. A later sign-in that presents a valid one for the same user is a *known
//!   client*: it meets only its own failure limit, so no stranger's failures keep it
//!   out ([`crate::sign_in_limits`]).
//!
//! - **Token secrets** (API, Agent and vault tokens): `tsr_`/`tsv_`, 32 random bytes
//!   and a 16-byte tag over them ([`DeploymentSecret::token_secret`]). A presented
//!   secret whose tag does not check is refused before any lookup, so forged bearer
//!   tokens never reach the accounts object ([`DeploymentSecret::check_token_secret`]).
//!
//! - **Sealed signing keys**: rotated keys' seeds are sealed under a key of their own
//!   (`keyring/seal.rs`), so replacing or retiring the root signing key loses nothing.
//!
//! Every comparison of a MAC is constant-time; the secret and derived keys are wiped
//! on drop.

use alloc::format;
use alloc::string::String;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use crate::error::Error;

/// What a derived key is for: its HKDF label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Device cookies.
    DeviceCookie,
    /// Token secrets' tags.
    TokenSecret,
    /// Sealing rotated signing keys' seeds.
    KeySealing,
}

/// What a presented bearer secret is, by its shape and tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretCheck {
    /// A token secret of this deployment's, tag checked: worth a lookup.
    Tagged,
    /// The shape of a secret made before tags (32 random bytes, no tag): worth a
    /// lookup only while such secrets exist.
    Untagged,
    /// Not a secret this deployment made (wrong shape, or a tag that does not check).
    Foreign,
}

/// The length of an untagged secret: prefix and 43 base64url characters.
const UNTAGGED_LEN: usize = 4 + 43;
/// The length of a tagged one: and 22 more (16 bytes).
const TAGGED_LEN: usize = UNTAGGED_LEN + 22;

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::DeviceCookie => b"tessera device cookie v1",
            Purpose::TokenSecret => b"tessera token secret v1",
            Purpose::KeySealing => b"tessera key sealing v3",
        }
    }
}

/// The deployment secret: 32 bytes, wiped on drop, never printed.
#[derive(Clone)]
pub struct DeploymentSecret([u8; 32]);

impl Drop for DeploymentSecret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl core::fmt::Debug for DeploymentSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("DeploymentSecret(..)")
    }
}

impl DeploymentSecret {
    /// The secret from its base64url form (32 bytes, as `scripts/run` makes it).
    pub fn parse(text: &str) -> Result<DeploymentSecret, Error> {
        let mut bytes = URL_SAFE_NO_PAD
            .decode(text.trim().trim_end_matches('='))
            .map_err(|_| Error::Config("DEPLOYMENT_SECRET is not base64url"))?;
        let secret = <[u8; 32]>::try_from(bytes.as_slice())
            .map(DeploymentSecret)
            .map_err(|_| Error::Config("DEPLOYMENT_SECRET is not 32 bytes"));
        bytes.zeroize();
        secret
    }

    /// The secret from its 32 bytes (tests).
    pub fn from_bytes(bytes: [u8; 32]) -> DeploymentSecret {
        DeploymentSecret(bytes)
    }

    /// The key for `purpose` (wiped on drop).
    pub(crate) fn derive(&self, purpose: Purpose) -> Zeroizing<[u8; 32]> {
        let mut key = Zeroizing::new([0u8; 32]);
        Hkdf::<Sha256>::new(None, &self.0)
            .expand(purpose.label(), &mut key[..])
            .unwrap_or_else(|_| unreachable!("32 bytes is a valid HKDF-SHA256 output length"));
        key
    }

    /// HMAC-SHA256 under `purpose`'s key over `parts`, each length-prefixed (so no two
    /// lists of parts authenticate the same bytes).
    fn mac(&self, purpose: Purpose, parts: &[&[u8]]) -> [u8; 32] {
        let key = self.derive(purpose);
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key[..])
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        for part in parts {
            mac.update(&(part.len() as u64).to_le_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    /// A new token secret from 32 random bytes: `tsr_…` (`tsv_…` for the vault token),
    /// then the random bytes and their tag, base64url.
    pub fn token_secret(&self, vault: bool, random: &[u8; 32]) -> String {
        let prefix = if vault { "tsv_" } else { "tsr_" };
        let body = URL_SAFE_NO_PAD.encode(random);
        let tag = self.token_tag(prefix, &body);
        format!("{prefix}{body}{}", URL_SAFE_NO_PAD.encode(tag))
    }

    fn token_tag(&self, prefix: &str, body: &str) -> [u8; 16] {
        let mac = self.mac(Purpose::TokenSecret, &[prefix.as_bytes(), body.as_bytes()]);
        let mut tag = [0u8; 16];
        tag.copy_from_slice(&mac[..16]);
        tag
    }

    /// What `text` is: a tagged secret of ours, the shape of an untagged one, or
    /// foreign. No storage is read; the tag is compared in constant time.
    pub fn check_token_secret(&self, text: &str) -> SecretCheck {
        let shaped = (text.starts_with("tsr_") || text.starts_with("tsv_"))
            && text[4..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !shaped {
            return SecretCheck::Foreign;
        }
        match text.len() {
            UNTAGGED_LEN => SecretCheck::Untagged,
            TAGGED_LEN => {
                let (prefix, rest) = text.split_at(4);
                let (body, tag) = rest.split_at(43);
                let Ok(tag) = URL_SAFE_NO_PAD.decode(tag) else {
                    return SecretCheck::Foreign;
                };
                if crate::constant_time_eq(&tag, &self.token_tag(prefix, body)) {
                    SecretCheck::Tagged
                } else {
                    SecretCheck::Foreign
                }
            }
            _ => SecretCheck::Foreign,
        }
    }

    /// A device cookie's value for `username` (its identity form) and a random `nonce`:
    /// `<nonce>.<mac>`, base64url.
    pub fn device_cookie(&self, username: &str, nonce: &[u8; 16]) -> String {
        let mac = self.mac(Purpose::DeviceCookie, &[username.as_bytes(), nonce]);
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(nonce),
            URL_SAFE_NO_PAD.encode(mac)
        )
    }

    /// The device id (its nonce, base64url) of `cookie` if it is a valid device cookie
    /// for `username`; `None` for anything else, a cookie of another user included.
    pub fn device_of(&self, cookie: &str, username: &str) -> Option<String> {
        let (nonce_text, mac_text) = cookie.split_once('.')?;
        let nonce: [u8; 16] = URL_SAFE_NO_PAD.decode(nonce_text).ok()?.try_into().ok()?;
        let given: [u8; 32] = URL_SAFE_NO_PAD.decode(mac_text).ok()?.try_into().ok()?;
        let expected = self.mac(Purpose::DeviceCookie, &[username.as_bytes(), &nonce]);
        crate::constant_time_eq(&given, &expected).then(|| nonce_text.into())
    }
}

#[cfg(test)]
mod tests {
    use alloc::string::ToString;

    use super::*;

    fn secret() -> DeploymentSecret {
        DeploymentSecret::from_bytes([7; 32])
    }

    #[test]
    fn a_device_cookie_is_good_for_its_user_only() {
        let cookie = secret().device_cookie("bob", &[1; 16]);
        let device = secret().device_of(&cookie, "bob").expect("valid");
        assert_eq!(device, URL_SAFE_NO_PAD.encode([1u8; 16]));
        assert_eq!(secret().device_of(&cookie, "carol"), None, "another user's");
        let other = DeploymentSecret::from_bytes([8; 32]);
        assert_eq!(
            other.device_of(&cookie, "bob"),
            None,
            "another deployment's"
        );
    }

    #[test]
    fn a_forged_or_mangled_cookie_is_nothing() {
        let cookie = secret().device_cookie("bob", &[1; 16]);
        let (nonce, mac) = cookie.split_once('.').expect("two parts");
        let other_nonce = URL_SAFE_NO_PAD.encode([2u8; 16]);
        for forged in [
            format!("{other_nonce}.{mac}"),
            format!("{nonce}.{}", URL_SAFE_NO_PAD.encode([0u8; 32])),
            format!("{nonce}.{}", &mac[..10]),
            nonce.to_string(),
            String::new(),
            "..".into(),
        ] {
            assert_eq!(secret().device_of(&forged, "bob"), None, "{forged}");
        }
    }

    #[test]
    fn a_token_secret_checks_itself() {
        let api = secret().token_secret(false, &[3; 32]);
        let vault = secret().token_secret(true, &[3; 32]);
        assert_eq!(api.len(), TAGGED_LEN);
        assert!(api.starts_with("tsr_") && vault.starts_with("tsv_"));
        assert_eq!(secret().check_token_secret(&api), SecretCheck::Tagged);
        assert_eq!(secret().check_token_secret(&vault), SecretCheck::Tagged);
        assert!(crate::looks_like_secret(&api));
        // Another deployment's, a changed body, a swapped prefix: foreign.
        let other = DeploymentSecret::from_bytes([8; 32]);
        assert_eq!(other.check_token_secret(&api), SecretCheck::Foreign);
        let mut changed = api.clone();
        changed.replace_range(10..11, if &api[10..11] == "A" { "B" } else { "A" });
        assert_eq!(secret().check_token_secret(&changed), SecretCheck::Foreign);
        let swapped = std::format!("tsv_{}", &api[4..]);
        assert_eq!(secret().check_token_secret(&swapped), SecretCheck::Foreign);
        // The old shape is told apart; anything else is foreign.
        let untagged = crate::new_secret(false, &[3; 32]);
        assert_eq!(
            secret().check_token_secret(&untagged),
            SecretCheck::Untagged
        );
        for text in ["", "tsr_", "Bearer x", "tsr_!!!", &api[..60]] {
            assert_eq!(
                secret().check_token_secret(text),
                SecretCheck::Foreign,
                "{text}"
            );
        }
    }

    #[test]
    fn the_secret_parses_from_32_base64url_bytes_only() {
        let text = URL_SAFE_NO_PAD.encode([9u8; 32]);
        assert!(DeploymentSecret::parse(&text).is_ok());
        assert!(DeploymentSecret::parse(&format!(" {text}\n")).is_ok());
        assert!(DeploymentSecret::parse(&URL_SAFE_NO_PAD.encode([9u8; 31])).is_err());
        assert!(DeploymentSecret::parse("not base64!").is_err());
        assert_eq!(std::format!("{:?}", secret()), "DeploymentSecret(..)");
    }
}
