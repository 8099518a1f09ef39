//! Engine validation throughput on one core, against a bare Ed25519 verify of the same
//! bytes measured in the same run.
//!
//! `cargo bench -p tessera-engine --bench validate` prints validations per second for
//! `tessera_engine::validate` (JWT parsing, header and key lookup, signature, claim
//! checks and warnings) and for `ed25519_dalek::VerifyingKey::verify` (RFC 8032, as the
//! engine's provider uses) over the token's signing input with a pre-parsed key, then
//! the overhead as a ratio.
//! Target: the engine costs at most 1.25× the bare verify. Then signing: the engine's
//! `sign` (JSON, base64 and the table-based signature of `ed25519.rs`) against a bare
//! `ed25519_dalek::SigningKey::sign` of the same signing input.
#![allow(clippy::print_stdout, missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ed25519_dalek::Verifier as _;
use tessera_engine::{DAY, Expectations, KeySet, LicenseClaims, SigningKey, sign, validate};

const NOW: u64 = 1_800_000_000;
const ROUNDS: usize = 7;
const ROUND_TIME: Duration = Duration::from_millis(400);

/// Operations per second of `f`: the median of `ROUNDS` timed rounds.
fn rate(mut f: impl FnMut() -> bool) -> f64 {
    // Calibrate a batch that takes about 10 ms.
    let mut batch = 1u32;
    loop {
        let t = Instant::now();
        for _ in 0..batch {
            assert!(black_box(f()));
        }
        if t.elapsed() > Duration::from_millis(10) {
            break;
        }
        batch *= 2;
    }
    let mut rates: Vec<f64> = (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            let mut n = 0u64;
            while start.elapsed() < ROUND_TIME {
                for _ in 0..batch {
                    assert!(black_box(f()));
                }
                n += u64::from(batch);
            }
            n as f64 / start.elapsed().as_secs_f64()
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    rates[ROUNDS / 2]
}

fn main() {
    let key = SigningKey::from_seed(&[1; 32]).with_kid("bench");
    let mut keys = KeySet::new();
    keys.insert_signing_key(&key).expect("key");
    let claims = LicenseClaims {
        jti: "0b9f3c4e-6a52-4d9e-9d7f-2f1c7a7e3b11".into(),
        iss: "https://licenses.example".into(),
        sub: "https://app.example/".into(),
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
        prod: vec!["tessera-pro".into()],
        company: "Example Labs".into(),
        account: "acct-42".into(),
        slug: "example".into(),
        details_url: "https://licenses.example/l/lic-1".into(),
        ..LicenseClaims::default()
    };
    let token = sign(&claims, &key).expect("sign");
    let expect = Expectations::default()
        .issuer("https://licenses.example")
        .product("tessera-pro")
        .instance("https://app.example/");

    let (input, sig) = token.rsplit_once('.').expect("three parts");
    let sig = ed25519_dalek::Signature::from_slice(&B64.decode(sig).expect("b64")).expect("sig");
    let vk = ed25519_dalek::VerifyingKey::from_bytes(&key.public_bytes()).expect("key");

    let engine = rate(|| validate(black_box(&token), &keys, &expect, NOW).is_allowed());
    let bare = rate(|| vk.verify(black_box(input.as_bytes()), &sig).is_ok());

    println!("token: {} bytes", token.len());
    println!(
        "engine validate:           {engine:>10.0} /s  ({:.2} µs each)",
        1e6 / engine
    );
    println!(
        "bare ed25519-dalek verify: {bare:>10.0} /s  ({:.2} µs each)",
        1e6 / bare
    );
    println!(
        "engine cost / bare verify: {:.3}×  (target ≤ 1.25×)",
        bare / engine
    );

    let dalek_key = ed25519_dalek::SigningKey::from_bytes(&[1; 32]);
    let engine_sign = rate(|| !sign(black_box(&claims), &key).expect("sign").is_empty());
    let bare_sign = rate(|| {
        use ed25519_dalek::Signer as _;
        black_box(dalek_key.sign(black_box(input.as_bytes())));
        true
    });
    println!(
        "engine sign:               {engine_sign:>10.0} /s  ({:.2} µs each)",
        1e6 / engine_sign
    );
    println!(
        "bare ed25519-dalek sign:   {bare_sign:>10.0} /s  ({:.2} µs each)",
        1e6 / bare_sign
    );
    println!("engine sign / bare sign:   {:.3}×", bare_sign / engine_sign);
}
