//! Token-level tests: the RFC 8037 vector, sign/verify round trips, JWKS, every denial
//! code through `validate`, and forged tokens. `NOW` is fixed; nothing reads the clock.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::Mac as _;
use tessera_engine::{
    DAY, Decision, DenyCode, Expectations, KeySet, LeaseClaims, LicenseClaims, MAX_TOKEN_BYTES,
    Sign, SigningKey, renew, sign, sign_lease, sign_with, validate,
};

const NOW: u64 = 1_800_000_000;
const ISSUER: &str = "https://licenses.example";
const INSTANCE: &str = "https://app.example/";
const PRODUCT: &str = "tessera-pro";

fn issuer_key() -> SigningKey {
    SigningKey::from_seed(&[1; 32]).with_kid("issuer-2026")
}

fn keys() -> KeySet {
    let mut keys = KeySet::new();
    keys.insert_signing_key(&issuer_key()).expect("valid key");
    keys
}

fn claims() -> LicenseClaims {
    LicenseClaims {
        jti: "tok-1".into(),
        iss: ISSUER.into(),
        sub: INSTANCE.into(),
        iat: NOW - DAY,
        nbf: NOW - DAY,
        exp: NOW + 30 * DAY,
        lexp: NOW + 365 * DAY,
        lid: "lic-1".into(),
        limit_by: "users".into(),
        included_users: 15,
        lic_exp_warn_days: 30,
        tok_exp_warn_days: 2,
        update_days: 1,
        prod: vec![PRODUCT.into()],
        company: "Example Labs".into(),
        account: "acct-42".into(),
        slug: "example".into(),
        ..LicenseClaims::default()
    }
}

fn expect() -> Expectations {
    Expectations::default()
        .issuer(ISSUER)
        .product(PRODUCT)
        .instance(INSTANCE)
}

fn signed(c: &LicenseClaims) -> String {
    sign(c, &issuer_key()).expect("sign")
}

fn code(token: &str) -> Option<DenyCode> {
    validate(token, &keys(), &expect(), NOW).deny_code()
}

fn parts(token: &str) -> [String; 3] {
    let p: Vec<&str> = token.split('.').collect();
    assert_eq!(p.len(), 3, "a JWS has three parts");
    [p[0].to_string(), p[1].to_string(), p[2].to_string()]
}

fn b64_json(v: &serde_json::Value) -> String {
    B64.encode(serde_json::to_vec(v).expect("json"))
}

// --- RFC 8037 -------------------------------------------------------------------

#[test]
fn rfc8037_test_vector() {
    let v: serde_json::Value =
        serde_json::from_str(include_str!("data/rfc8037.json")).expect("vector file");
    let jwk = v["private_jwk"].to_string();
    let key = SigningKey::from_private_jwk(&jwk).expect("the RFC's key");
    assert_eq!(
        key.kid(),
        v["thumbprint"],
        "kid defaults to the RFC 7638 thumbprint"
    );
    assert_eq!(B64.encode(key.public_bytes()), v["private_jwk"]["x"]);

    // Sign the RFC's JWS signing input through jsonwebtoken and our provider.
    tessera_engine::install_crypto_provider();
    let seed = B64
        .decode(v["private_jwk"]["d"].as_str().expect("d"))
        .expect("b64");
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(&seed);
    let input = v["signing_input"].as_str().expect("input");
    let sig = jsonwebtoken::crypto::sign(
        input.as_bytes(),
        &jsonwebtoken::EncodingKey::from_ed_der(&der),
        jsonwebtoken::Algorithm::EdDSA,
    )
    .expect("sign");
    assert_eq!(sig, v["signature"]);
    let x = key.public_bytes();
    let dk = jsonwebtoken::DecodingKey::from_ed_der(&x);
    assert!(
        jsonwebtoken::crypto::verify(&sig, input.as_bytes(), &dk, jsonwebtoken::Algorithm::EdDSA)
            .expect("verify")
    );
    let mut bad = input.as_bytes().to_vec();
    bad[0] ^= 1;
    assert!(
        !jsonwebtoken::crypto::verify(&sig, &bad, &dk, jsonwebtoken::Algorithm::EdDSA)
            .expect("verify")
    );
}

#[test]
fn private_jwk_round_trip_and_mismatched_x() {
    let key = issuer_key();
    let back = SigningKey::from_private_jwk(&key.to_private_jwk()).expect("round trip");
    assert_eq!(back.kid(), "issuer-2026");
    assert_eq!(back.public_bytes(), key.public_bytes());

    let other = SigningKey::from_seed(&[2; 32]);
    let mut jwk: serde_json::Value = serde_json::from_str(&key.to_private_jwk()).expect("json");
    jwk["x"] = B64.encode(other.public_bytes()).into();
    assert!(SigningKey::from_private_jwk(&jwk.to_string()).is_err());
    assert!(format!("{key:?}").contains("issuer-2026"));
    assert!(
        !format!("{key:?}").contains(&B64.encode([1u8; 32])),
        "Debug hides the secret"
    );
}

// --- round trips ------------------------------------------------------------------

#[test]
fn sign_then_validate_round_trip() {
    let token = signed(&claims());
    let header: serde_json::Value =
        serde_json::from_slice(&B64.decode(&parts(&token)[0]).expect("b64")).expect("json");
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["kid"], "issuer-2026");
    match validate(&token, &keys(), &expect(), NOW) {
        Decision::Allow(license) => assert_eq!(license.claims, claims()),
        Decision::Deny(code) => panic!("denied: {code}"),
    }
}

/// Polls a future that never waits (the engine's own signer never does).
fn ready<F: core::future::Future>(f: F) -> F::Output {
    let mut f = core::pin::pin!(f);
    match f.as_mut().poll(&mut core::task::Context::from_waker(
        core::task::Waker::noop(),
    )) {
        core::task::Poll::Ready(out) => out,
        core::task::Poll::Pending => panic!("the engine's signer waited"),
    }
}

/// A signer the engine does not know: it signs through the `Sign` trait only, as the
/// worker's Web Crypto key does.
struct Elsewhere(SigningKey);

impl Sign for Elsewhere {
    fn kid(&self) -> &str {
        self.0.kid()
    }
    fn public_bytes(&self) -> [u8; 32] {
        self.0.public_bytes()
    }
    async fn signature(&self, input: &[u8]) -> Result<String, tessera_engine::Error> {
        Sign::signature(&self.0, input).await
    }
}

#[test]
fn sign_with_any_signer_makes_the_same_token() {
    let key = Elsewhere(issuer_key());
    let license = ready(sign_with(&claims(), "JWT", &key)).expect("signs");
    assert_eq!(license, signed(&claims()));
    let lease = LeaseClaims {
        iss: ISSUER.into(),
        jti: "lease-1".into(),
        lid: "lic-1".into(),
        prod: PRODUCT.into(),
        user: "ann".into(),
        host: String::new(),
        iat: NOW,
        exp: NOW + 60,
        cnf: tessera_engine::Confirmation {
            jkt: "thumbprint".into(),
        },
        r#gen: 1,
    };
    let expected = sign_lease(&lease, &issuer_key()).expect("signs");
    assert_eq!(
        ready(sign_with(&lease, tessera_engine::LEASE_TYP, &key)).expect("signs"),
        expected
    );
    // A signer that signs something else is found out by the verifier.
    let tampered = format!("{}x", &license[..license.len() - 1]);
    assert_ne!(
        validate(&tampered, &keys(), &expect(), NOW),
        validate(&license, &keys(), &expect(), NOW)
    );
}

#[test]
fn payload_uses_the_seed_claim_names() {
    let token = signed(&claims());
    let payload: serde_json::Value =
        serde_json::from_slice(&B64.decode(&parts(&token)[1]).expect("b64")).expect("json");
    assert_eq!(payload["anonymousRatio"], 0);
    assert_eq!(payload["prod"], serde_json::json!([PRODUCT]));
    assert_eq!(payload.as_object().expect("object").len(), 23);
}

#[test]
fn jwks_round_trip_and_rotation() {
    let old = issuer_key();
    let new = SigningKey::from_seed(&[3; 32]);
    let mut set = KeySet::new();
    set.insert_signing_key(&old).expect("old");
    set.insert_signing_key(&new).expect("new");
    let jwks = set.to_jwks();
    assert!(!jwks.contains("\"d\""), "a JWKS carries public keys only");
    let imported = KeySet::from_jwks(&jwks).expect("import");
    assert_eq!(
        imported.kids().collect::<Vec<_>>(),
        vec!["issuer-2026", new.kid()]
    );
    // Tokens of both the retired and the current key verify.
    for key in [&old, &new] {
        let token = sign(&claims(), key).expect("sign");
        assert!(validate(&token, &imported, &expect(), NOW).is_allowed());
    }
}

#[test]
fn jwks_import_rejects_what_is_not_one() {
    let x = B64.encode(issuer_key().public_bytes());
    let bad = [
        "",
        "not json",
        "[]",
        r#"{"keys": {}}"#,
        r#"{"keys": []}"#,
        r#"{"keys": [{"kty":"OKP","crv":"Ed25519"}]}"#,
        r#"{"keys": [{"kty":"OKP","crv":"Ed25519","x":"!!"}]}"#,
        r#"{"keys": [{"kty":"OKP","crv":"Ed25519","x":"AAAA"}]}"#,
        r#"{"keys": [{"kty":"RSA","n":"AQAB","e":"AQAB"}]}"#,
    ];
    for json in bad {
        assert!(KeySet::from_jwks(json).is_err(), "{json}");
    }
    let dup = format!(
        r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{x}","kid":"a"}},{{"kty":"OKP","crv":"Ed25519","x":"{x}","kid":"a"}}]}}"#
    );
    assert!(KeySet::from_jwks(&dup).is_err(), "duplicate kid");
    let mixed = format!(
        r#"{{"keys":[{{"kty":"RSA","n":"AQAB","e":"AQAB","kid":"r"}},{{"kty":"OKP","crv":"Ed25519","x":"{x}","kid":"issuer-2026"}}]}}"#
    );
    let set = KeySet::from_jwks(&mixed).expect("RSA key skipped");
    assert_eq!(set.kids().collect::<Vec<_>>(), vec!["issuer-2026"]);
}

#[test]
fn renewal_round_trip() {
    let first = signed(&claims());
    let Decision::Allow(license) = validate(&first, &keys(), &expect(), NOW) else {
        panic!("first token denied")
    };
    let later = NOW + 10 * DAY;
    let renewed = renew(&license.claims, "tok-2".into(), later).expect("renewable");
    let second = signed(&renewed);
    let Decision::Allow(again) = validate(&second, &keys(), &expect(), later) else {
        panic!("renewed token denied")
    };
    assert_eq!(again.claims.lid, "lic-1");
    assert_eq!(again.claims.jti, "tok-2");
    assert_eq!(again.claims.lexp, claims().lexp);
    assert_eq!(
        (again.claims.iat, again.claims.exp),
        (later, later + 31 * DAY)
    );
    assert_eq!(
        renew(&again.claims, "tok-3".into(), claims().lexp),
        Err(DenyCode::LicenseExpired)
    );
}

// --- one test per denial code -----------------------------------------------------

fn with(f: impl FnOnce(&mut LicenseClaims)) -> String {
    let mut c = claims();
    f(&mut c);
    signed(&c)
}

#[test]
fn deny_malformed() {
    assert_eq!(code("garbage"), Some(DenyCode::Malformed));
    // Signed correctly, but `exp` is a string: the claims are not a license.
    let [h, _, _] = parts(&signed(&claims()));
    let mut payload = serde_json::to_value(claims()).expect("json");
    payload["exp"] = "tomorrow".into();
    let input = format!("{h}.{}", b64_json(&payload));
    let token = sign_raw(&input);
    assert_eq!(code(&token), Some(DenyCode::Malformed));
}

#[test]
fn deny_wrong_algorithm() {
    let [_, p, s] = parts(&signed(&claims()));
    let header = b64_json(&serde_json::json!({"alg": "RS256", "kid": "issuer-2026"}));
    assert_eq!(
        code(&format!("{header}.{p}.{s}")),
        Some(DenyCode::WrongAlgorithm)
    );
}

#[test]
fn deny_unknown_key() {
    let stranger = SigningKey::from_seed(&[9; 32]);
    let token = sign(&claims(), &stranger).expect("sign");
    assert_eq!(code(&token), Some(DenyCode::UnknownKey));
}

#[test]
fn deny_bad_signature() {
    // Signed by another key that claims our kid.
    let impostor = SigningKey::from_seed(&[9; 32]).with_kid("issuer-2026");
    let token = sign(&claims(), &impostor).expect("sign");
    assert_eq!(code(&token), Some(DenyCode::BadSignature));
}

#[test]
fn deny_wrong_issuer() {
    assert_eq!(
        code(&with(|c| c.iss = "https://evil.example".into())),
        Some(DenyCode::WrongIssuer)
    );
}

#[test]
fn deny_wrong_instance() {
    assert_eq!(
        code(&with(|c| c.sub = "https://other.example/".into())),
        Some(DenyCode::WrongInstance)
    );
}

#[test]
fn deny_wrong_product() {
    assert_eq!(
        code(&with(|c| c.prod = vec!["tessera-basic".into()])),
        Some(DenyCode::WrongProduct)
    );
}

#[test]
fn deny_not_yet_valid() {
    assert_eq!(
        code(&with(|c| c.nbf = NOW + 1)),
        Some(DenyCode::NotYetValid)
    );
}

#[test]
fn deny_expired() {
    assert_eq!(code(&with(|c| c.exp = NOW)), Some(DenyCode::Expired));
}

#[test]
fn deny_license_expired() {
    assert_eq!(
        code(&with(|c| c.lexp = NOW)),
        Some(DenyCode::LicenseExpired)
    );
}

#[test]
fn deny_trial_expired() {
    assert_eq!(
        code(&with(|c| {
            c.trial = true;
            c.trial_exp = NOW;
        })),
        Some(DenyCode::TrialExpired)
    );
}

#[test]
fn every_code_has_its_test() {
    // Keep this list in step with the deny_* tests above: a new code fails here first.
    let tested = [
        DenyCode::Malformed,
        DenyCode::WrongAlgorithm,
        DenyCode::UnknownKey,
        DenyCode::BadSignature,
        DenyCode::WrongIssuer,
        DenyCode::WrongInstance,
        DenyCode::WrongProduct,
        DenyCode::NotYetValid,
        DenyCode::Expired,
        DenyCode::LicenseExpired,
        DenyCode::TrialExpired,
        // Only an online check can know of a revocation: see src/licensing/tests.rs.
        DenyCode::Revoked,
        // Leases and machines bound to another key: see the lease and machine tests.
        DenyCode::WrongInstallation,
    ];
    assert_eq!(tested, DenyCode::ALL);
}

// --- forged tokens ------------------------------------------------------------------

/// Sign an arbitrary signing input with the issuer's key, bypassing `sign`.
fn sign_raw(input: &str) -> String {
    tessera_engine::install_crypto_provider();
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(&[1; 32]);
    let sig = jsonwebtoken::crypto::sign(
        input.as_bytes(),
        &jsonwebtoken::EncodingKey::from_ed_der(&der),
        jsonwebtoken::Algorithm::EdDSA,
    )
    .expect("sign");
    format!("{input}.{sig}")
}

#[test]
fn forged_alg_none() {
    let [_, p, s] = parts(&signed(&claims()));
    let none = b64_json(&serde_json::json!({"alg": "none", "kid": "issuer-2026"}));
    assert_eq!(
        code(&format!("{none}.{p}.")),
        Some(DenyCode::WrongAlgorithm)
    );
    assert_eq!(
        code(&format!("{none}.{p}.{s}")),
        Some(DenyCode::WrongAlgorithm)
    );
    let none_upper = b64_json(&serde_json::json!({"alg": "NONE"}));
    assert_eq!(
        code(&format!("{none_upper}.{p}.")),
        Some(DenyCode::WrongAlgorithm)
    );
}

#[test]
fn forged_hs256_with_the_public_key_as_secret() {
    let header = b64_json(&serde_json::json!({"alg": "HS256", "typ": "JWT", "kid": "issuer-2026"}));
    let payload = b64_json(&serde_json::to_value(claims()).expect("json"));
    let input = format!("{header}.{payload}");
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(&issuer_key().public_bytes()).expect("hmac");
    mac.update(input.as_bytes());
    let token = format!("{input}.{}", B64.encode(mac.finalize().into_bytes()));
    assert_eq!(code(&token), Some(DenyCode::WrongAlgorithm));
    // Claiming EdDSA while carrying an HMAC does not help either.
    let [_, _, hs_sig] = parts(&token);
    let [h, p, _] = parts(&signed(&claims()));
    assert_eq!(
        code(&format!("{h}.{p}.{hs_sig}")),
        Some(DenyCode::BadSignature)
    );
}

#[test]
fn forged_tampered_payload() {
    let [h, _, s] = parts(&signed(&claims()));
    let mut richer = serde_json::to_value(claims()).expect("json");
    richer["included_users"] = 10_000.into();
    assert_eq!(
        code(&format!("{h}.{}.{s}", b64_json(&richer))),
        Some(DenyCode::BadSignature)
    );
}

#[test]
fn forged_tampered_signature() {
    let [h, p, s] = parts(&signed(&claims()));
    let mut sig = B64.decode(&s).expect("b64");
    sig[10] ^= 0x01;
    assert_eq!(
        code(&format!("{h}.{p}.{}", B64.encode(&sig))),
        Some(DenyCode::BadSignature)
    );
    assert_eq!(
        code(&format!("{h}.{p}.{}", B64.encode(&sig[..32]))),
        Some(DenyCode::BadSignature)
    );
    assert_eq!(code(&format!("{h}.{p}.")), Some(DenyCode::BadSignature));
}

#[test]
fn forged_unknown_kid() {
    let [_, p, s] = parts(&signed(&claims()));
    let header = b64_json(&serde_json::json!({"alg": "EdDSA", "kid": "someone-else"}));
    assert_eq!(
        code(&format!("{header}.{p}.{s}")),
        Some(DenyCode::UnknownKey)
    );
}

#[test]
fn forged_garbage_empty_and_oversized() {
    for junk in [
        "",
        ".",
        "..",
        "a.b",
        "a.b.c",
        "a.b.c.d",
        "eyJ.eyJ.eyJ",
        "\u{0}\u{1}",
        "🦀.🦀.🦀",
    ] {
        assert_eq!(code(junk), Some(DenyCode::Malformed), "{junk:?}");
    }
    let valid = signed(&claims());
    let padded = format!("{valid}{}", "A".repeat(MAX_TOKEN_BYTES));
    assert_eq!(code(&padded), Some(DenyCode::Malformed));
    let huge = "A".repeat(10 * 1024 * 1024);
    assert_eq!(code(&huge), Some(DenyCode::Malformed));
}

#[test]
fn no_kid_tries_each_trusted_key() {
    let [_, p, _] = parts(&signed(&claims()));
    let header = b64_json(&serde_json::json!({"alg": "EdDSA"}));
    let token = sign_raw(&format!("{header}.{p}"));
    let mut two = KeySet::new();
    two.insert_signing_key(&SigningKey::from_seed(&[5; 32]))
        .expect("key");
    two.insert_signing_key(&issuer_key()).expect("key");
    assert!(validate(&token, &two, &expect(), NOW).is_allowed());
    let mut strangers = KeySet::new();
    strangers
        .insert_signing_key(&SigningKey::from_seed(&[5; 32]))
        .expect("key");
    assert_eq!(
        validate(&token, &strangers, &expect(), NOW).deny_code(),
        Some(DenyCode::BadSignature)
    );
    assert_eq!(
        validate(&token, &KeySet::new(), &expect(), NOW).deny_code(),
        Some(DenyCode::UnknownKey)
    );
}

// --- Lease tokens -------------------------------------------------------------------

fn lease() -> tessera_engine::LeaseClaims {
    tessera_engine::LeaseClaims {
        iss: ISSUER.into(),
        jti: "lic-1.lease".into(),
        lid: "lic-1".into(),
        prod: PRODUCT.into(),
        user: "ann@example.com".into(),
        host: "laptop".into(),
        iat: NOW,
        exp: NOW + 1200,
        cnf: tessera_engine::Confirmation { jkt: JKT.into() },
        r#gen: 3,
    }
}

/// An installation's thumbprint (RFC 8037 appendix A.3's key).
const JKT: &str = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";

fn machine() -> tessera_engine::MachineClaims {
    tessera_engine::MachineClaims {
        iss: ISSUER.into(),
        jti: "lic-1.machine".into(),
        lid: "lic-1".into(),
        prod: vec![PRODUCT.into()],
        name: "build-01".into(),
        iat: NOW,
        exp: NOW + 86_400,
        cnf: tessera_engine::Confirmation { jkt: JKT.into() },
    }
}

#[test]
fn tokens_bound_to_an_installation_are_refused_for_another() {
    use tessera_engine::{judge_lease, judge_machine};
    let mine = Expectations::default().installation(JKT);
    let theirs = Expectations::default().installation("another-installations-thumbprint");
    assert_eq!(judge_lease(&lease(), &mine, NOW), Ok(()));
    assert_eq!(
        judge_lease(&lease(), &theirs, NOW),
        Err(DenyCode::WrongInstallation)
    );
    assert_eq!(judge_machine(&machine(), &mine, NOW), Ok(()));
    assert_eq!(
        judge_machine(&machine(), &theirs, NOW),
        Err(DenyCode::WrongInstallation)
    );
    // Unbound expectations (no installation named) take any key's token.
    assert_eq!(judge_lease(&lease(), &Expectations::default(), NOW), Ok(()));
}

#[test]
fn machine_tokens_round_trip_and_are_neither_licenses_nor_leases() {
    use tessera_engine::{
        MACHINE_TYP, judge_machine, sign_lease, sign_machine, verify_lease, verify_machine,
    };
    let token = sign_machine(&machine(), &issuer_key()).expect("sign");
    let [header, _, _] = parts(&token);
    let header: serde_json::Value =
        serde_json::from_slice(&B64.decode(header).expect("b64")).expect("json");
    assert_eq!(header["typ"], MACHINE_TYP);
    assert_eq!(verify_machine(&token, &keys()), Ok(machine()));
    let expect = Expectations::default().issuer(ISSUER).product(PRODUCT);
    assert_eq!(judge_machine(&machine(), &expect, NOW + 86_399), Ok(()));
    assert_eq!(
        judge_machine(&machine(), &expect, NOW + 86_400),
        Err(DenyCode::Expired)
    );
    assert_eq!(
        judge_machine(&machine(), &Expectations::default().product("other"), NOW),
        Err(DenyCode::WrongProduct)
    );
    assert_eq!(code(&token), Some(DenyCode::Malformed), "not a license");
    assert_eq!(verify_lease(&token, &keys()), Err(DenyCode::Malformed));
    let lease_token = sign_lease(&lease(), &issuer_key()).expect("sign");
    assert_eq!(
        verify_machine(&lease_token, &keys()),
        Err(DenyCode::Malformed)
    );
    assert_eq!(
        verify_machine(&signed(&claims()), &keys()),
        Err(DenyCode::Malformed)
    );
}

#[test]
fn lease_tokens_round_trip_and_carry_their_type() {
    use tessera_engine::{LEASE_TYP, judge_lease, sign_lease, verify_lease};
    let token = sign_lease(&lease(), &issuer_key()).expect("sign");
    let [header, _, _] = parts(&token);
    let header: serde_json::Value =
        serde_json::from_slice(&B64.decode(header).expect("b64")).expect("json");
    assert_eq!(header["typ"], LEASE_TYP);
    assert_eq!(header["kid"], "issuer-2026");
    assert_eq!(verify_lease(&token, &keys()), Ok(lease()));
    let expect = Expectations::default().issuer(ISSUER).product(PRODUCT);
    assert_eq!(judge_lease(&lease(), &expect, NOW + 1199), Ok(()));
    let refused = |e: &Expectations, now| judge_lease(&lease(), e, now).err();
    assert_eq!(refused(&expect, NOW + 1200), Some(DenyCode::Expired));
    assert_eq!(
        refused(&Expectations::default().product("other"), NOW),
        Some(DenyCode::WrongProduct)
    );
    assert_eq!(
        refused(&Expectations::default().issuer("https://else.example"), NOW),
        Some(DenyCode::WrongIssuer)
    );
}

#[test]
fn a_lease_is_never_a_license_nor_a_license_a_lease() {
    use tessera_engine::{sign_lease, verify_lease};
    let lease_token = sign_lease(&lease(), &issuer_key()).expect("sign");
    assert_eq!(code(&lease_token), Some(DenyCode::Malformed));
    assert_eq!(
        verify_lease(&signed(&claims()), &keys()),
        Err(DenyCode::Malformed)
    );
}

#[test]
fn forged_lease_tokens_are_refused() {
    use tessera_engine::{sign_lease, verify_lease};
    let token = sign_lease(&lease(), &issuer_key()).expect("sign");
    let [h, p, s] = parts(&token);
    // A longer lease, same signature.
    let mut longer: serde_json::Value =
        serde_json::from_slice(&B64.decode(&p).expect("b64")).expect("json");
    longer["exp"] = serde_json::json!(NOW + 86_400 * 365);
    let tampered = format!("{h}.{}.{s}", b64_json(&longer));
    assert_eq!(
        verify_lease(&tampered, &keys()),
        Err(DenyCode::BadSignature)
    );
    // Signed by another deployment's key (even under our kid).
    let impostor = SigningKey::from_seed(&[9; 32]).with_kid("issuer-2026");
    let foreign = sign_lease(&lease(), &impostor).expect("sign");
    assert_eq!(verify_lease(&foreign, &keys()), Err(DenyCode::BadSignature));
    let other = sign_lease(&lease(), &SigningKey::from_seed(&[9; 32])).expect("sign");
    assert_eq!(verify_lease(&other, &keys()), Err(DenyCode::UnknownKey));
    for junk in ["", "a.b", "a.b.c", &"x".repeat(MAX_TOKEN_BYTES + 1)] {
        assert_eq!(
            verify_lease(junk, &keys()),
            Err(DenyCode::Malformed),
            "{junk:.20}"
        );
    }
}
