//! An installation's key: the public JWK an app's installation proves itself with
//! (RFC 9449 DPoP), and its RFC 7638 thumbprint — the installation's identity, which
//! the tokens Tessera issues to it name in `cnf.jkt` (RFC 7800).
//!
//! Two key types, as Web Crypto offers them: Ed25519 (`OKP`, RFC 8037), and P-256
//! (`EC`, for runtimes whose Web Crypto lacks Ed25519). A JWK with a private member is
//! never an installation key: an app that sends its private key has leaked it.

use std::string::String;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use sha2::Digest as _;

/// The longest thumbprint accepted where one is named (a SHA-256, base64url, is 43).
pub const MAX_THUMBPRINT_BYTES: usize = 64;

/// An installation's public key, as its JWK carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstallationKey {
    /// Ed25519: the 32-byte public key.
    Ed25519 {
        /// `x`.
        x: [u8; 32],
    },
    /// P-256: the affine coordinates.
    P256 {
        /// `x`.
        x: [u8; 32],
        /// `y`.
        y: [u8; 32],
    },
}

/// A public JWK as it appears in a proof's header: only the members a thumbprint and a
/// signature check read, and `d`, to refuse it.
#[derive(Debug, serde::Deserialize)]
pub struct PublicJwk {
    kty: String,
    #[serde(default)]
    crv: Option<String>,
    #[serde(default)]
    x: Option<String>,
    #[serde(default)]
    y: Option<String>,
    #[serde(default)]
    d: Option<serde::de::IgnoredAny>,
}

fn coordinate(value: Option<&str>) -> Option<[u8; 32]> {
    B64.decode(value?).ok()?.try_into().ok()
}

impl InstallationKey {
    /// The key a JWK names: Ed25519 (`OKP`/`Ed25519`) or P-256 (`EC`/`P-256`) public
    /// keys only; none for anything else, a private JWK included. The point itself is
    /// checked when a signature is (a key that is not a point verifies nothing).
    pub fn from_jwk(jwk: &PublicJwk) -> Option<InstallationKey> {
        if jwk.d.is_some() {
            return None;
        }
        match (jwk.kty.as_str(), jwk.crv.as_deref()) {
            ("OKP", Some("Ed25519")) if jwk.y.is_none() => Some(InstallationKey::Ed25519 {
                x: coordinate(jwk.x.as_deref())?,
            }),
            ("EC", Some("P-256")) => Some(InstallationKey::P256 {
                x: coordinate(jwk.x.as_deref())?,
                y: coordinate(jwk.y.as_deref())?,
            }),
            _ => None,
        }
    }

    /// The key from a JWK's JSON text.
    pub fn from_jwk_json(json: &str) -> Option<InstallationKey> {
        InstallationKey::from_jwk(&serde_json::from_str(json).ok()?)
    }

    /// Its RFC 7638 thumbprint: SHA-256 of the required members in lexicographic order,
    /// base64url — the `jkt` of RFC 9449 and RFC 7800.
    pub fn thumbprint(&self) -> String {
        let canonical = match self {
            InstallationKey::Ed25519 { x } => {
                std::format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#, B64.encode(x))
            }
            InstallationKey::P256 { x, y } => std::format!(
                r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
                B64.encode(x),
                B64.encode(y)
            ),
        };
        B64.encode(sha2::Sha256::digest(canonical.as_bytes()))
    }
}

/// Whether `text` could be a thumbprint: base64url, not empty, not longer than
/// [`MAX_THUMBPRINT_BYTES`].
pub fn plausible_thumbprint(text: &str) -> bool {
    (1..=MAX_THUMBPRINT_BYTES).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8037 appendix A.3: the thumbprint of its Ed25519 example key.
    #[test]
    fn rfc_8037_thumbprint() {
        let key = InstallationKey::from_jwk_json(
            r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#,
        )
        .expect("a key");
        assert_eq!(
            key.thumbprint(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    /// RFC 7638's canonical form for an EC key: crv, kty, x, y in that order.
    #[test]
    fn p256_thumbprints_hash_the_required_members_in_order() {
        let x = B64.encode([1u8; 32]);
        let y = B64.encode([2u8; 32]);
        let json = std::format!(
            r#"{{"y":"{y}","x":"{x}","kty":"EC","crv":"P-256","kid":"ignored","alg":"ES256"}}"#
        );
        let key = InstallationKey::from_jwk_json(&json).expect("a key");
        let canonical = std::format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#);
        assert_eq!(
            key.thumbprint(),
            B64.encode(sha2::Sha256::digest(canonical.as_bytes()))
        );
    }

    #[test]
    fn private_and_foreign_keys_are_refused() {
        let x = B64.encode([1u8; 32]);
        for json in [
            std::format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{x}","d":"{x}"}}"#),
            std::format!(r#"{{"kty":"EC","crv":"P-384","x":"{x}","y":"{x}"}}"#),
            std::format!(r#"{{"kty":"RSA","n":"{x}","e":"AQAB"}}"#),
            r#"{"kty":"OKP","crv":"Ed25519","x":"short"}"#.into(),
            r#"{"kty":"EC","crv":"P-256","x":"AQ"}"#.into(),
            "not json".into(),
        ] {
            assert_eq!(InstallationKey::from_jwk_json(&json), None, "{json}");
        }
    }

    #[test]
    fn thumbprints_are_plausible_or_not() {
        assert!(plausible_thumbprint(
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        ));
        assert!(!plausible_thumbprint(""));
        assert!(!plausible_thumbprint("has space"));
        assert!(!plausible_thumbprint(&"a".repeat(65)));
    }
}
