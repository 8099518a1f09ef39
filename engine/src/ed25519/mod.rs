//! Ed25519 (RFC 8032) over precomputed tables: verification for trusted keys, and the
//! issuer's signatures.
//!
//! A verifier checks many signatures against the same few public keys. The usual check
//! computes `[s]B - [k]A` as one double-scalar multiplication: about 253 point doublings
//! plus additions. Here both points are fixed, so each gets a table of its multiples
//! ([`FixedBase`]: `j·256^i·P` for `j` in 1..=8, 32 rows, 40 KiB) and the check is two
//! table multiplications of 64 additions and 4 doublings each. That takes a third off a
//! validation in wasm (129 → 87 µs, `node npm/bench.mjs`). The tables are built at run time —
//! a key's on its second use, the base point's once per process — from
//! `curve25519-dalek`'s public point arithmetic: no constant tables are linked (its
//! `precomputed-tables` feature would add 40 KB to every binary), and no secret ever
//! meets this code (the lookups depend on the scalar, which is public when verifying).
//!
//! Signing (`signer::Signer`, feature `sign`) multiplies the base point by a secret, so
//! there the same table is read in constant time: every entry of a row is touched and
//! the wanted one kept by masks (`subtle`), the sign applied by a masked negation, and
//! the point formulas are complete (no branch on the points). A signature costs 64 additions instead of a
//! 253-doubling multiplication; it is byte for byte `ed25519_dalek::SigningKey::sign`'s
//! (Ed25519 is deterministic), which a property test holds it to.
//!
//! The result of a verification is the same group element the usual check computes,
//! compared the same way (its encoding against the signature's `R` bytes), after the same
//! refusal of a non-canonical `s`: exactly `ed25519_dalek::VerifyingKey::verify`'s
//! answers, which a property test holds this module to (`engine/tests/properties.rs`).

use core::sync::atomic::{AtomicU32, Ordering};
use std::boxed::Box;
use std::sync::OnceLock;

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity as _;
use sha2::{Digest as _, Sha512};

#[cfg(feature = "sign")]
pub(crate) mod signer;

/// Verifications with a key before its table is built: a key used once (a check at
/// import, a test) never pays the table's cost, about one and a half verifications' worth.
const TABLE_AFTER: u32 = 1;

/// The base point's table, built on first use.
pub(crate) fn basepoint_table() -> &'static FixedBase {
    static TABLE: OnceLock<FixedBase> = OnceLock::new();
    TABLE.get_or_init(|| FixedBase::new(&ED25519_BASEPOINT_POINT))
}

/// The multiples of a fixed point `P` that make `[x]P` 64 additions: row `i` holds
/// `j·256^i·P` for `j` = 1..=8. Variable time: for public scalars only.
#[derive(Clone)]
pub(crate) struct FixedBase(Box<[[EdwardsPoint; 8]; 32]>);

impl FixedBase {
    fn new(point: &EdwardsPoint) -> FixedBase {
        let mut rows = Box::new([[EdwardsPoint::identity(); 8]; 32]);
        let mut base = *point;
        for row in rows.iter_mut() {
            let mut multiple = base;
            for entry in row.iter_mut() {
                *entry = multiple;
                multiple += base;
            }
            // 256·base: 8·8·2·2.
            let times_64 = base.mul_by_cofactor().mul_by_cofactor();
            let times_128 = times_64 + times_64;
            base = times_128 + times_128;
        }
        FixedBase(rows)
    }

    /// `[x]P`, for a canonical scalar `x` (below 2^255, as every reduced scalar is).
    fn mul(&self, x: &Scalar) -> EdwardsPoint {
        Self::sum_digits(&signed_radix_16(&x.to_bytes()), |sum, row, digit| {
            self.add_digit(sum, row, digit)
        })
    }

    /// `Σ d_i·16^i·P` for the digits `d_i`, with `add(sum, row, d)` = `sum + d·256^row·P`.
    /// The odd digits' terms are 16·(d_i·256^(i/2)·P): add them from the rows, multiply
    /// by 16, then add the even digits' terms.
    pub(crate) fn sum_digits(
        digits: &[i8; 64],
        add: impl Fn(&EdwardsPoint, usize, i8) -> EdwardsPoint,
    ) -> EdwardsPoint {
        let mut sum = EdwardsPoint::identity();
        for (i, &digit) in digits.iter().enumerate().skip(1).step_by(2) {
            sum = add(&sum, i / 2, digit);
        }
        let times_8 = sum.mul_by_cofactor();
        sum = times_8 + times_8;
        for (i, &digit) in digits.iter().enumerate().step_by(2) {
            sum = add(&sum, i / 2, digit);
        }
        sum
    }

    /// `sum + digit·256^row·P`.
    fn add_digit(&self, sum: &EdwardsPoint, row: usize, digit: i8) -> EdwardsPoint {
        let entry = |d: i8| &self.0[row][usize::from(d.unsigned_abs()) - 1];
        match digit {
            0 => *sum,
            d if d > 0 => sum + entry(d),
            d => sum - entry(d),
        }
    }
}

/// The 64 signed radix-16 digits (each in [-8, 8)) of a little-endian 256-bit number
/// below 2^255.
pub(crate) fn signed_radix_16(bytes: &[u8; 32]) -> [i8; 64] {
    let mut digits = [0i8; 64];
    for (i, byte) in bytes.iter().enumerate() {
        digits[2 * i] = (byte & 15) as i8;
        digits[2 * i + 1] = (byte >> 4) as i8;
    }
    // Recentre each digit into [-8, 8), carrying into the next; the top digit is at
    // most 7 + 1 since the number is below 2^255.
    for i in 0..63 {
        let carry = (digits[i] + 8) >> 4;
        digits[i] -= carry << 4;
        digits[i + 1] += carry;
    }
    digits
}

/// A trusted Ed25519 public key, ready to verify with.
pub(crate) struct TrustedKey {
    /// The key as encoded on the wire (hashed into each challenge, as RFC 8032 says).
    encoded: [u8; 32],
    /// `-A`: the check is `[s]B + [k](-A) == R`.
    minus_a: EdwardsPoint,
    /// Verifications so far, until the table exists.
    uses: AtomicU32,
    /// `-A`'s table, once `uses` passed [`TABLE_AFTER`].
    table: OnceLock<FixedBase>,
}

impl Clone for TrustedKey {
    fn clone(&self) -> TrustedKey {
        TrustedKey {
            encoded: self.encoded,
            minus_a: self.minus_a,
            uses: AtomicU32::new(self.uses.load(Ordering::Relaxed)),
            table: self.table.clone(),
        }
    }
}

impl core::fmt::Debug for TrustedKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TrustedKey")
            .field("encoded", &self.encoded)
            .finish_non_exhaustive()
    }
}

impl TrustedKey {
    /// The key encoded as `bytes`, if they encode a curve point that is not of small
    /// order: a small-order key would accept forged signatures, so none is ever trusted.
    pub(crate) fn new(bytes: &[u8; 32]) -> Option<TrustedKey> {
        let point = CompressedEdwardsY(*bytes).decompress()?;
        if point.is_small_order() {
            return None;
        }
        Some(TrustedKey {
            encoded: *bytes,
            minus_a: -point,
            uses: AtomicU32::new(0),
            table: OnceLock::new(),
        })
    }

    /// Whether `signature` is this key's Ed25519 signature of `message`.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        let (r, s) = signature.split_at(32);
        let Ok(s) = <[u8; 32]>::try_from(s) else {
            return false;
        };
        // RFC 8032 §5.1.7: `s` must be below the group order (no malleable twins).
        let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(s)) else {
            return false;
        };
        let k = challenge(r, &self.encoded, message);
        let expected = match self.table() {
            Some(table) => basepoint_table().mul(&s) + table.mul(&k),
            None => EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &self.minus_a, &s),
        };
        expected.compress().as_bytes() == r
    }

    /// `-A`'s table, building it once this key has been used enough.
    fn table(&self) -> Option<&FixedBase> {
        if let Some(table) = self.table.get() {
            return Some(table);
        }
        if self.uses.fetch_add(1, Ordering::Relaxed) < TABLE_AFTER {
            return None;
        }
        Some(self.table.get_or_init(|| FixedBase::new(&self.minus_a)))
    }
}

/// The challenge `k = SHA-512(R || A || M) mod L` (RFC 8032 §5.1.6 step 4, §5.1.7 step 2).
pub(crate) fn challenge(r: &[u8], public: &[u8; 32], message: &[u8]) -> Scalar {
    let mut hash = Sha512::new();
    hash.update(r);
    hash.update(public);
    hash.update(message);
    Scalar::from_bytes_mod_order_wide(&hash.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::signer::Signer;
    use super::*;
    use curve25519_dalek::traits::IsIdentity as _;
    use ed25519_dalek::{Signer as _, Verifier as _};

    fn key(seed: u8) -> (ed25519_dalek::SigningKey, TrustedKey) {
        let signing = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
        let trusted =
            TrustedKey::new(&signing.verifying_key().to_bytes()).expect("a valid public key");
        (signing, trusted)
    }

    #[test]
    fn table_multiplication_is_scalar_multiplication() {
        let point = ED25519_BASEPOINT_POINT * Scalar::from(7u64);
        let table = FixedBase::new(&point);
        let minus_one = -Scalar::ONE;
        let mut scalars = std::vec![Scalar::ZERO, Scalar::ONE, minus_one, Scalar::from(8u64)];
        let mut x = Scalar::from(0x1234_5678_9abc_def1u64);
        for _ in 0..40 {
            x = x * x + Scalar::from(3u64);
            scalars.push(x);
        }
        for x in scalars {
            assert_eq!(table.mul(&x), point * x, "for {:?}", x.to_bytes());
        }
    }

    #[test]
    fn constant_time_multiplication_is_scalar_multiplication() {
        let table = FixedBase::new(&ED25519_BASEPOINT_POINT);
        let mut x = Scalar::from(0x0fed_cba9_8765_4321u64);
        for extra in [Scalar::ZERO, Scalar::ONE, -Scalar::ONE, Scalar::from(8u64)] {
            assert_eq!(table.mul_secret(&extra), ED25519_BASEPOINT_POINT * extra);
        }
        for _ in 0..40 {
            x = x * x + Scalar::from(5u64);
            assert_eq!(table.mul_secret(&x), ED25519_BASEPOINT_POINT * x);
            assert_eq!(table.mul_secret(&x), table.mul(&x));
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

        /// Ed25519 is deterministic: the signer's signature is byte for byte dalek's.
        #[test]
        fn signatures_are_ed25519_dalek_s(
            seed in proptest::prelude::any::<[u8; 32]>(),
            message in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
        ) {
            let dalek = ed25519_dalek::SigningKey::from_bytes(&seed);
            let signer = Signer::new(&seed);
            proptest::prop_assert_eq!(signer.public, dalek.verifying_key().to_bytes());
            proptest::prop_assert_eq!(signer.sign(&message), dalek.sign(&message).to_bytes());
            proptest::prop_assert!(signer.is_seed(&seed));
        }
    }

    #[test]
    fn signed_digits_add_up_to_the_number() {
        for bytes in [[0u8; 32], [0xff; 32], [0x88; 32], [0x77; 32]] {
            let mut bytes = bytes;
            bytes[31] &= 0x7f;
            let digits = signed_radix_16(&bytes);
            assert!(digits.iter().all(|d| (-8..=8).contains(d)), "{digits:?}");
            // Σ d_i·16^i, evaluated as a scalar (the numbers are below 2^255 < 2^256).
            let sixteen = Scalar::from(16u64);
            let sum = digits.iter().rev().fold(Scalar::ZERO, |acc, &d| {
                let d = if d < 0 {
                    -Scalar::from(d.unsigned_abs())
                } else {
                    Scalar::from(d as u8)
                };
                acc * sixteen + d
            });
            assert_eq!(sum, Scalar::from_bytes_mod_order(bytes));
        }
    }

    #[test]
    fn verifies_with_and_without_the_table() {
        let (signing, trusted) = key(3);
        let message = b"header.payload";
        let signature = signing.sign(message).to_bytes();
        // The first use goes without the table, later ones with it: both must agree.
        for _ in 0..4 {
            assert!(trusted.verify(message, &signature));
            assert!(!trusted.verify(b"header.payloaD", &signature));
        }
        assert!(
            trusted.table.get().is_some(),
            "the table is built after the first use"
        );
    }

    #[test]
    fn refuses_a_non_canonical_s_that_dalek_refuses() {
        let (signing, trusted) = key(4);
        let message = b"m";
        let mut signature = signing.sign(message).to_bytes();
        // s + L: the same scalar mod L, but not canonical.
        let l: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut carry = 0u16;
        for (byte, add) in signature[32..].iter_mut().zip(l) {
            let sum = u16::from(*byte) + u16::from(add) + carry;
            *byte = sum as u8;
            carry = sum >> 8;
        }
        let dalek = signing
            .verifying_key()
            .verify(message, &ed25519_dalek::Signature::from_bytes(&signature));
        for _ in 0..3 {
            assert_eq!(trusted.verify(message, &signature), dalek.is_ok());
            assert!(!trusted.verify(message, &signature));
        }
    }

    #[test]
    fn never_trusts_a_small_order_key() {
        // The identity (y = 1) and a point of order 2 (y = -1).
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(
            CompressedEdwardsY(identity)
                .decompress()
                .expect("a point")
                .is_identity()
        );
        assert!(TrustedKey::new(&identity).is_none());
        let mut minus_one = [0xffu8; 32];
        minus_one[0] = 0xec;
        minus_one[31] = 0x7f;
        assert!(TrustedKey::new(&minus_one).is_none());
    }
}
