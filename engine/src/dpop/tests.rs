//! DPoP proofs made as an app makes them (Ed25519 and P-256), and every way one is
//! refused.

use std::string::{String, ToString};
use std::vec::Vec;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

use super::*;

const NOW: u64 = 1_800_000_000;
const URL: &str = "https://licenses.example.com/api/seats/heartbeat";

enum Key {
    Ed(ed25519_dalek::SigningKey),
    P256(p256::ecdsa::SigningKey),
}

impl Key {
    fn ed(seed: u8) -> Key {
        Key::Ed(ed25519_dalek::SigningKey::from_bytes(&[seed; 32]))
    }

    fn p256(seed: u8) -> Key {
        Key::P256(p256::ecdsa::SigningKey::from_slice(&[seed; 32]).expect("a scalar"))
    }

    fn jwk(&self) -> serde_json::Value {
        match self {
            Key::Ed(k) => serde_json::json!({
                "kty": "OKP", "crv": "Ed25519",
                "x": B64.encode(k.verifying_key().to_bytes()),
            }),
            Key::P256(k) => {
                let point = k.verifying_key().to_encoded_point(false);
                serde_json::json!({
                    "kty": "EC", "crv": "P-256",
                    "x": B64.encode(point.x().expect("x")),
                    "y": B64.encode(point.y().expect("y")),
                })
            }
        }
    }

    fn alg(&self) -> &'static str {
        match self {
            Key::Ed(_) => "EdDSA",
            Key::P256(_) => "ES256",
        }
    }

    fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            Key::Ed(k) => ed25519_dalek::Signer::sign(k, message).to_bytes().to_vec(),
            Key::P256(k) => {
                let s: p256::ecdsa::Signature = p256::ecdsa::signature::Signer::sign(k, message);
                s.to_bytes().to_vec()
            }
        }
    }

    fn thumbprint(&self) -> String {
        InstallationKey::from_jwk_json(&self.jwk().to_string())
            .expect("a key")
            .thumbprint()
    }
}

fn proof_with(key: &Key, header: serde_json::Value, claims: serde_json::Value) -> String {
    let signing_input = std::format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string())
    );
    let signature = key.sign(signing_input.as_bytes());
    std::format!("{signing_input}.{}", B64.encode(signature))
}

fn proof(key: &Key, claims: serde_json::Value) -> String {
    let header = serde_json::json!({ "typ": "dpop+jwt", "alg": key.alg(), "jwk": key.jwk() });
    proof_with(key, header, claims)
}

fn claims(iat: u64, ath: Option<&str>) -> serde_json::Value {
    let mut c = serde_json::json!({ "jti": "j-1", "htm": "POST", "htu": URL, "iat": iat });
    if let Some(token) = ath {
        c["ath"] = token_hash(token).into();
    }
    c
}

fn request(token: Option<&str>) -> ProofRequest<'_> {
    ProofRequest {
        method: "POST",
        url: URL,
        token,
    }
}

#[test]
fn ed25519_and_p256_proofs_verify_and_name_their_installation() {
    for key in [Key::ed(7), Key::p256(7)] {
        let p = proof(&key, claims(NOW, Some("lease-token")));
        let verified = verify_proof(&p, request(Some("lease-token")), NOW).expect("verifies");
        assert_eq!(verified.jkt, key.thumbprint());
        assert_eq!(verified.jti, "j-1");
        assert_eq!(verified.remember_until, NOW + PROOF_WINDOW_SECONDS);
        assert_eq!(check_binding(&verified, &key.thumbprint()), Ok(()));
        assert_eq!(
            check_binding(&verified, &Key::ed(8).thumbprint()),
            Err(ProofError::WrongKey)
        );
    }
}

#[test]
fn a_proof_for_another_request_is_refused() {
    let key = Key::ed(7);
    let p = proof(&key, claims(NOW, None));
    let other_method = ProofRequest {
        method: "DELETE",
        ..request(None)
    };
    assert_eq!(
        verify_proof(&p, other_method, NOW),
        Err(ProofError::WrongMethod)
    );
    let other_url = ProofRequest {
        url: "https://licenses.example.com/api/seats/release",
        ..request(None)
    };
    assert_eq!(verify_proof(&p, other_url, NOW), Err(ProofError::WrongUrl));
    let other_host = ProofRequest {
        url: "https://evil.example.com/api/seats/heartbeat",
        ..request(None)
    };
    assert_eq!(verify_proof(&p, other_host, NOW), Err(ProofError::WrongUrl));
}

#[test]
fn the_url_compares_as_rfc_9449_says() {
    let key = Key::ed(7);
    let mut c = claims(NOW, None);
    c["htu"] = "HTTPS://Licenses.Example.com:443/api/seats/heartbeat?x=1#f".into();
    let p = proof(&key, c);
    assert!(verify_proof(&p, request(None), NOW).is_ok());
    assert_eq!(
        normalize_htu("http://127.0.0.1:8787/api/x?y"),
        Some("http://127.0.0.1:8787/api/x".into())
    );
    assert_eq!(
        normalize_htu("http://a.example"),
        Some("http://a.example/".into())
    );
    assert_eq!(normalize_htu("ftp://a.example/"), None);
    assert_eq!(normalize_htu("https://user@a.example/"), None);
    // The path is compared as sent: case matters there.
    assert_ne!(
        normalize_htu("https://a.example/API"),
        normalize_htu("https://a.example/api")
    );
}

#[test]
fn a_proof_outside_the_window_is_refused_at_its_bounds() {
    let key = Key::ed(7);
    let old = NOW - PROOF_WINDOW_SECONDS;
    assert!(verify_proof(&proof(&key, claims(old, None)), request(None), NOW).is_ok());
    assert_eq!(
        verify_proof(&proof(&key, claims(old - 1, None)), request(None), NOW),
        Err(ProofError::Stale)
    );
    let future = NOW + PROOF_WINDOW_SECONDS;
    assert!(verify_proof(&proof(&key, claims(future, None)), request(None), NOW).is_ok());
    assert_eq!(
        verify_proof(&proof(&key, claims(future + 1, None)), request(None), NOW),
        Err(ProofError::Stale)
    );
    assert_eq!(
        verify_proof(&proof(&key, claims(NOW - 3600, None)), request(None), NOW),
        Err(ProofError::Stale),
        "an hour old"
    );
}

#[test]
fn a_presented_token_needs_its_hash() {
    let key = Key::ed(7);
    let without = proof(&key, claims(NOW, None));
    assert_eq!(
        verify_proof(&without, request(Some("lease")), NOW),
        Err(ProofError::WrongTokenHash)
    );
    let other = proof(&key, claims(NOW, Some("another lease")));
    assert_eq!(
        verify_proof(&other, request(Some("lease")), NOW),
        Err(ProofError::WrongTokenHash)
    );
}

#[test]
fn forged_and_foreign_proofs_are_refused() {
    let key = Key::ed(7);
    let good = proof(&key, claims(NOW, None));
    // Another key's signature over the same proof.
    let (input, _) = good.rsplit_once('.').expect("three parts");
    let forged = std::format!("{input}.{}", B64.encode(Key::ed(9).sign(input.as_bytes())));
    assert_eq!(
        verify_proof(&forged, request(None), NOW),
        Err(ProofError::BadSignature)
    );
    // A changed claim under the original signature.
    let (_, signature) = good.rsplit_once('.').expect("three parts");
    let mut c = claims(NOW, None);
    c["jti"] = "j-2".into();
    let header = serde_json::json!({ "typ": "dpop+jwt", "alg": "EdDSA", "jwk": key.jwk() });
    let tampered = std::format!(
        "{}.{}.{signature}",
        B64.encode(header.to_string()),
        B64.encode(c.to_string())
    );
    assert_eq!(
        verify_proof(&tampered, request(None), NOW),
        Err(ProofError::BadSignature)
    );
    // The wrong typ; an alg that does not match the key; HS256; `crit`; a private JWK.
    let cases = [
        (
            serde_json::json!({ "typ": "JWT", "alg": "EdDSA", "jwk": key.jwk() }),
            ProofError::WrongType,
        ),
        (
            serde_json::json!({ "alg": "EdDSA", "jwk": key.jwk() }),
            ProofError::WrongType,
        ),
        (
            serde_json::json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": key.jwk() }),
            ProofError::UnsupportedKey,
        ),
        (
            serde_json::json!({ "typ": "dpop+jwt", "alg": "HS256", "jwk": key.jwk() }),
            ProofError::UnsupportedKey,
        ),
        (
            serde_json::json!({ "typ": "dpop+jwt", "alg": "none", "jwk": key.jwk() }),
            ProofError::UnsupportedKey,
        ),
        // Critical extensions, none of which a verifier here understands (RFC 7515).
        (
            serde_json::json!({ "typ": "dpop+jwt", "alg": "EdDSA", "jwk": key.jwk(), "crit": ["b64"], "b64": false }),
            ProofError::Malformed,
        ),
    ];
    for (header, error) in cases {
        let p = proof_with(&key, header.clone(), claims(NOW, None));
        assert_eq!(verify_proof(&p, request(None), NOW), Err(error), "{header}");
    }
    let mut private = key.jwk();
    private["d"] = B64.encode([7u8; 32]).into();
    let header = serde_json::json!({ "typ": "dpop+jwt", "alg": "EdDSA", "jwk": private });
    let p = proof_with(&key, header, claims(NOW, None));
    assert_eq!(
        verify_proof(&p, request(None), NOW),
        Err(ProofError::UnsupportedKey)
    );
}

#[test]
fn malformed_proofs_are_refused_without_a_panic() {
    let key = Key::ed(7);
    let long_jti = {
        let mut c = claims(NOW, None);
        c["jti"] = "x".repeat(MAX_JTI_BYTES + 1).into();
        proof(&key, c)
    };
    let no_iat = proof(
        &key,
        serde_json::json!({ "jti": "a", "htm": "POST", "htu": URL }),
    );
    for p in [
        "".to_string(),
        "a.b".into(),
        "a.b.c.d".into(),
        "!!.!!.!!".into(),
        "x".repeat(MAX_PROOF_BYTES + 1),
        long_jti,
        no_iat,
    ] {
        assert!(
            matches!(
                verify_proof(&p, request(None), NOW),
                Err(ProofError::Malformed)
            ),
            "{p:.40}"
        );
    }
}
