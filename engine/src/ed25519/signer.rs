//! The issuer's half of Ed25519 (feature `sign`): [`Signer`], a signing key expanded
//! once, multiplying the base point by secrets in constant time over the same table the
//! verifier uses (every entry of a row read and the wanted one kept by masks, the sign
//! applied by a masked negation).

use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity as _;
use ed25519_dalek::hazmat::ExpandedSecretKey;
use sha2::{Digest as _, Sha512};
use subtle::{ConditionallyNegatable as _, ConditionallySelectable as _, ConstantTimeEq as _};
use zeroize::Zeroize as _;

use super::{FixedBase, basepoint_table, challenge, signed_radix_16};

impl FixedBase {
    /// `[x]P` in constant time: for a secret `x` (canonical, as every reduced scalar is).
    pub(crate) fn mul_secret(&self, x: &Scalar) -> EdwardsPoint {
        let mut bytes = x.to_bytes();
        let mut digits = signed_radix_16(&bytes);
        let sum = Self::sum_digits(&digits, |sum, row, digit| sum + self.select(row, digit));
        bytes.zeroize();
        digits.zeroize();
        sum
    }

    /// `digit·256^row·P` for a digit in [-8, 8], reading every entry of the row.
    fn select(&self, row: usize, digit: i8) -> EdwardsPoint {
        // |digit| and its sign without a branch: m is 0 or -1, (d ^ m) - m is |d|.
        let negative = (digit as u8) >> 7;
        let mask = (negative as i8).wrapping_neg();
        let abs = ((digit ^ mask).wrapping_sub(mask)) as u8;
        let mut point = EdwardsPoint::identity();
        for (j, entry) in (1u8..).zip(self.0[row].iter()) {
            point.conditional_assign(entry, abs.ct_eq(&j));
        }
        point.conditional_negate(negative.into());
        point
    }
}

/// An issuer's Ed25519 signing key, expanded once (RFC 8032 §5.1.5), with its public key.
/// The secret halves are zeroised when it is dropped.
pub(crate) struct Signer {
    /// The 32-byte seed, kept to recognise the key (see `crypto::expanded_signing_key`).
    seed: [u8; 32],
    /// The secret scalar and the nonce prefix: SHA-512 of the seed, split and clamped.
    expanded: ExpandedSecretKey,
    /// The public key's encoding.
    pub(crate) public: [u8; 32],
}

impl Drop for Signer {
    fn drop(&mut self) {
        self.seed.zeroize();
    }
}

impl Signer {
    /// The key of a 32-byte seed.
    pub(crate) fn new(seed: &[u8; 32]) -> Signer {
        let mut hash: [u8; 64] = Sha512::digest(seed).into();
        let expanded = ExpandedSecretKey::from_bytes(&hash);
        hash.zeroize();
        let public = basepoint_table()
            .mul_secret(&expanded.scalar)
            .compress()
            .to_bytes();
        Signer {
            seed: *seed,
            expanded,
            public,
        }
    }

    /// Whether this is the key of `seed`, compared in constant time.
    pub(crate) fn is_seed(&self, seed: &[u8; 32]) -> bool {
        self.seed.ct_eq(seed).into()
    }

    /// The signature of `message` (RFC 8032 §5.1.6).
    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        let mut nonce_hash = Sha512::new();
        nonce_hash.update(self.expanded.hash_prefix);
        nonce_hash.update(message);
        let mut r = Scalar::from_bytes_mod_order_wide(&nonce_hash.finalize().into());
        let big_r = basepoint_table().mul_secret(&r).compress().to_bytes();
        let k = challenge(&big_r, &self.public, message);
        let s = k * self.expanded.scalar + r;
        r.zeroize();
        let mut signature = [0u8; 64];
        signature[..32].copy_from_slice(&big_r);
        signature[32..].copy_from_slice(s.as_bytes());
        signature
    }
}
