//! Property tests of the parsing of untrusted tokens: whatever bytes arrive, validation
//! answers (a denial), never panics, and a token changed anywhere is never accepted with
//! other claims than the signed ones. Bounded (a fixed number of cases), so they run in
//! the test command.

use proptest::prelude::*;
use tessera_engine::{
    Decision, Expectations, KeySet, LeaseClaims, LicenseClaims, SigningKey, sign, sign_lease,
    validate, verify, verify_lease,
};

const NOW: u64 = 1_800_000_000;

fn key() -> SigningKey {
    SigningKey::from_seed(&[1; 32])
}

fn keys() -> KeySet {
    let mut keys = KeySet::new();
    keys.insert_signing_key(&key()).expect("key");
    keys
}

fn license() -> LicenseClaims {
    LicenseClaims {
        iss: "https://issuer.example/".into(),
        sub: "https://app.example/".into(),
        iat: NOW - 10,
        exp: NOW + 1000,
        lexp: NOW + 10_000,
        lid: "lic".into(),
        prod: vec!["ide".into()],
        ..LicenseClaims::default()
    }
}

fn lease() -> LeaseClaims {
    LeaseClaims {
        iss: "https://issuer.example/".into(),
        jti: "lic.lease".into(),
        lid: "lic".into(),
        prod: "ide".into(),
        user: "ann".into(),
        host: String::new(),
        iat: NOW,
        exp: NOW + 1200,
        cnf: tessera_engine::Confirmation {
            jkt: "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k".into(),
        },
        r#gen: 1,
    }
}

/// Characters a JWT is made of, and a few that it is not.
fn token_char() -> impl Strategy<Value = char> {
    prop_oneof![
        8 => proptest::char::ranges(vec!['A'..='Z', 'a'..='z', '0'..='9'].into()),
        2 => Just('.'),
        1 => Just('-'),
        1 => Just('_'),
        1 => any::<char>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3_000))]

    #[test]
    fn arbitrary_input_is_denied_never_a_panic(s in "\\PC{0,400}") {
        let decision = validate(&s, &keys(), &Expectations::default(), NOW);
        prop_assert!(!decision.is_allowed());
        prop_assert!(verify_lease(&s, &keys()).is_err());
    }

    #[test]
    fn token_shaped_input_is_denied_never_a_panic(
        parts in proptest::collection::vec("[A-Za-z0-9_-]{0,200}", 0..5),
    ) {
        let s = parts.join(".");
        prop_assert!(!validate(&s, &keys(), &Expectations::default(), NOW).is_allowed());
        prop_assert!(verify_lease(&s, &keys()).is_err());
    }

}

proptest! {
    // Each case verifies a signature: fewer cases, every character position still
    // reached many times over (a token is ~400 characters).
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    #[test]
    fn a_real_header_over_forged_claims_and_signature_is_denied(
        exp in any::<u64>(),
        lid in "[a-z]{0,12}",
        signature in "[A-Za-z0-9_-]{0,100}",
    ) {
        let token = sign(&license(), &key()).expect("sign");
        let header = token.split('.').next().expect("header");
        let claims = LicenseClaims { exp, lid, ..license() };
        let payload = {
            use base64::Engine as _;
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(serde_json::to_vec(&claims).expect("json"))
        };
        let forged = format!("{header}.{payload}.{signature}");
        prop_assert!(!validate(&forged, &keys(), &Expectations::default(), NOW).is_allowed());
        prop_assert!(verify(&forged, &keys()).is_err());
    }

    #[test]
    fn a_changed_license_is_never_accepted_with_other_claims(at in 0usize..10_000, c in token_char()) {
        let token = sign(&license(), &key()).expect("sign");
        let at = at % token.len();
        let mut changed: Vec<char> = token.chars().collect();
        changed[at] = c;
        let changed: String = changed.into_iter().collect();
        match validate(&changed, &keys(), &Expectations::default(), NOW) {
            // Only a change the base64 decoder folds away (the unused low bits of the
            // last character of a part) can pass, and then it says the same thing.
            Decision::Allow(l) => prop_assert_eq!(l.claims, license()),
            Decision::Deny(_) => {}
        }
        if let Ok(claims) = verify(&changed, &keys()) {
            prop_assert_eq!(claims, license());
        }
    }

    #[test]
    fn a_changed_lease_is_never_accepted_with_other_claims(at in 0usize..10_000, c in token_char()) {
        let token = sign_lease(&lease(), &key()).expect("sign");
        let at = at % token.len();
        let mut changed: Vec<char> = token.chars().collect();
        changed[at] = c;
        let changed: String = changed.into_iter().collect();
        if let Ok(claims) = verify_lease(&changed, &keys()) {
            prop_assert_eq!(claims, lease());
        }
    }
}

/// Three trusted keys, shared by every case, so that after each key's first use the
/// engine verifies with its precomputed table (`ed25519.rs`), the path an app's
/// validator and the worker take.
fn shared_keys() -> &'static (Vec<ed25519_dalek::SigningKey>, KeySet) {
    static KEYS: std::sync::OnceLock<(Vec<ed25519_dalek::SigningKey>, KeySet)> =
        std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        let signers: Vec<_> = (0u8..3)
            .map(|i| ed25519_dalek::SigningKey::from_bytes(&[i + 40; 32]))
            .collect();
        let mut set = KeySet::new();
        for (i, signer) in signers.iter().enumerate() {
            set.insert(format!("k{i}"), signer.verifying_key().to_bytes())
                .expect("key");
        }
        (signers, set)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// The engine's Ed25519 check accepts exactly the signatures `ed25519-dalek`'s
    /// RFC 8032 `verify` accepts: genuine ones, and none with a bit flipped anywhere
    /// (in `R`, in `s`, or making `s` non-canonical), under the signer's key or another.
    #[test]
    fn the_signature_check_agrees_with_ed25519_dalek(
        signer in 0usize..3,
        named in 0usize..3,
        lid in "[a-z0-9]{0,40}",
        flip in proptest::option::of(0usize..512),
    ) {
        use base64::Engine as _;
        use ed25519_dalek::{Signer as _, Verifier as _};
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let (signers, keys) = shared_keys();
        let header = b64.encode(format!(r#"{{"alg":"EdDSA","kid":"k{named}"}}"#));
        let payload = b64.encode(serde_json::to_vec(&LicenseClaims { lid, ..license() }).expect("json"));
        let message = format!("{header}.{payload}");
        let mut signature = signers[signer].sign(message.as_bytes()).to_bytes();
        if let Some(bit) = flip {
            signature[bit / 8] ^= 1 << (bit % 8);
        }
        let dalek = signers[named]
            .verifying_key()
            .verify(message.as_bytes(), &ed25519_dalek::Signature::from_bytes(&signature))
            .is_ok();
        let token = format!("{message}.{}", b64.encode(signature));
        let engine = verify(&token, keys);
        prop_assert_eq!(engine.is_ok(), dalek, "engine said {:?}", engine.err());
        prop_assert_eq!(dalek, flip.is_none() && signer == named);
    }
}
