//! Stored password hashes: PBKDF2-HMAC-SHA256 records, and their constant-time check.
//!
//! The engine does not derive keys itself: on Workers the derivation runs in the
//! runtime's native Web Crypto (`crypto.subtle.deriveBits`), many times faster than the
//! same loop in wasm. This module owns the record format, the parameters, and the
//! comparison, so every shell stores and checks passwords the same way.
//!
//! Format: `pbkdf2-sha256$<iterations>$<salt, base64url>$<hash, base64url>`.

use alloc::format;
use alloc::string::String;

/// Iterations for new hashes. 100 000 is the most Workers' Web Crypto accepts; see
/// the issue note for what one verification costs.
pub const PBKDF2_ITERATIONS: u32 = 100_000;

/// A parsed password record.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash {
    /// PBKDF2 iterations.
    pub iterations: u32,
    /// Random per-password salt.
    pub salt: [u8; 16],
    /// The derived key.
    pub hash: [u8; 32],
}

impl core::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PasswordHash")
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

impl PasswordHash {
    /// Read a stored record; `None` if it is not one.
    pub fn parse(record: &str) -> Option<PasswordHash> {
        let mut parts = record.split('$');
        if parts.next()? != "pbkdf2-sha256" {
            return None;
        }
        let iterations: u32 = parts.next()?.parse().ok()?;
        let salt = b64_decode_exact::<16>(parts.next()?)?;
        let hash = b64_decode_exact::<32>(parts.next()?)?;
        if parts.next().is_some() || iterations == 0 {
            return None;
        }
        Some(PasswordHash {
            iterations,
            salt,
            hash,
        })
    }

    /// The record to store.
    pub fn encode(&self) -> String {
        format!(
            "pbkdf2-sha256${}${}${}",
            self.iterations,
            b64_encode(&self.salt),
            b64_encode(&self.hash)
        )
    }

    /// Whether `derived` (PBKDF2 of the candidate password with this record's salt and
    /// iterations) matches, in time independent of where the bytes differ.
    pub fn matches(&self, derived: &[u8; 32]) -> bool {
        constant_time_eq(&self.hash, derived)
    }
}

/// Compare two byte strings in time that depends only on their length.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq as _;
    a.ct_eq(b).into()
}

/// Unpadded base64url.
pub(crate) fn b64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn b64_decode_exact<const N: usize>(text: &str) -> Option<[u8; N]> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .ok()?
        .try_into()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trip() {
        let h = PasswordHash {
            iterations: PBKDF2_ITERATIONS,
            salt: [7; 16],
            hash: [9; 32],
        };
        let record = h.encode();
        assert!(record.starts_with("pbkdf2-sha256$100000$"));
        assert_eq!(PasswordHash::parse(&record), Some(h.clone()));
        assert!(h.matches(&[9; 32]));
        assert!(!h.matches(&[8; 32]));
        assert!(
            !alloc::format!("{h:?}").contains("CQkJ"),
            "Debug hides the hash"
        );
    }

    #[test]
    fn rejects_what_is_not_a_record() {
        for bad in [
            "",
            "plain",
            "pbkdf2-sha256$0$BwcHBwcHBwcHBwcHBwcHBw$CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk",
            "pbkdf2-sha1$1000$BwcHBwcHBwcHBwcHBwcHBw$CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk",
            "pbkdf2-sha256$1000$BwcH$CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk",
            "pbkdf2-sha256$1000$BwcHBwcHBwcHBwcHBwcHBw$CQkJ",
            "pbkdf2-sha256$1000$BwcHBwcHBwcHBwcHBwcHBw$CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk$x",
            "pbkdf2-sha256$x$BwcHBwcHBwcHBwcHBwcHBw$CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk",
        ] {
            assert_eq!(PasswordHash::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn base64url_matches_the_rfc_4648_vectors() {
        for (raw, enc) in [
            (&b""[..], ""),
            (b"f", "Zg"),
            (b"fo", "Zm8"),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg"),
            (b"fooba", "Zm9vYmE"),
            (b"foobar", "Zm9vYmFy"),
            (&[0xfb, 0xff], "-_8"),
        ] {
            assert_eq!(b64_encode(raw), enc);
        }
        assert_eq!(b64_decode_exact::<3>("Zm9v"), Some(*b"foo"));
        assert_eq!(b64_decode_exact::<2>("-_8"), Some([0xfb, 0xff]));
        assert_eq!(b64_decode_exact::<2>("-_9"), None, "non-zero trailing bits");
        assert_eq!(b64_decode_exact::<3>("Zm9"), None, "too short");
    }
}
