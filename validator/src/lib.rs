//! The npm package `tessera-license`'s WebAssembly: the engine's verify-only half behind
//! a wasm-bindgen surface — a key set and expectations parsed once, then
//! `validate(token, now)` many times.
//!
//! Its own crate so that the engine stays an ordinary library and this binary links
//! only what verifying needs (the engine's `verify` feature: no signing, no key sealing,
//! no `jsonwebtoken`); `./scripts/build` prints its size.
//!
//! Values cross the boundary as JavaScript values through `serde-wasm-bindgen`: the key
//! set (a JWKS object) and the expectations (`{issuer, product, instance, leeway}`) in,
//! the outcome (`{valid, code, claims, warnings}`, `null` where JSON would have it) out,
//! so neither side writes or parses JSON text for the other. The package's wrapper
//! (`npm/index.js`) checks types first, to throw `TypeError`s that name the argument;
//! what it passes is checked again here, and errors come back as `JsError`s with a
//! message. Nothing panics on bad input.
//!
//! An app validates the same license over and over (at each start, each request), so a
//! validator remembers the last few tokens whose signature verified, with their claims.
//! A signature's validity under a fixed key set never changes, so a remembered token
//! skips only the Ed25519 check and the parse; every time-dependent and identity check
//! runs again at each call's `now`.

#![forbid(unsafe_code)]

use std::cell::RefCell;

use tessera_engine::{
    DenyCode, Expectations, InstallationKey, Jwks, KeySet, LicenseClaims, PublicJwk, Warning,
    judge_claims, judge_lease, judge_machine, verify, verify_lease, verify_machine,
};
use wasm_bindgen::prelude::*;

/// A validator for one key set and one set of expectations.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Validator {
    keys: KeySet,
    expect: Expectations,
    /// Tokens whose signature verified, with their claims; newest last.
    verified: RefCell<Vec<(String, LicenseClaims)>>,
}

/// How many verified tokens a validator remembers.
const VERIFIED_TOKENS: usize = 8;

/// What a license must say beyond a good signature, as the wrapper passes it: each
/// member absent, `null` or `""` means "any".
#[derive(serde::Deserialize)]
struct ExpectationsIn {
    #[serde(default)]
    issuer: Option<String>,
    #[serde(default)]
    product: Option<String>,
    #[serde(default)]
    instance: Option<String>,
    /// Allowed clock skew in seconds.
    #[serde(default)]
    leeway: Option<u32>,
}

/// What `validate` and `validateLease` answer; `C` is the token's claims.
#[derive(serde::Serialize)]
struct Outcome<'a, C> {
    valid: bool,
    code: Option<DenyCode>,
    /// Present whenever the signature verified, even if the token was refused.
    claims: Option<&'a C>,
    warnings: &'a [Warning],
}

#[wasm_bindgen]
impl Validator {
    /// Read `jwks` (a JWKS object, `{keys: [...]}`) and `expectations`.
    #[wasm_bindgen(constructor)]
    pub fn new(jwks: JsValue, expectations: JsValue) -> Result<Validator, JsError> {
        let jwks: Jwks =
            serde_wasm_bindgen::from_value(jwks).map_err(|e| JsError::new(&e.to_string()))?;
        let keys = KeySet::from_jwks_document(&jwks).map_err(|e| JsError::new(&e.to_string()))?;
        let expect: ExpectationsIn = serde_wasm_bindgen::from_value(expectations)
            .map_err(|e| JsError::new(&format!("not usable expectations: {e}")))?;
        let some = |s: Option<String>| s.filter(|s| !s.is_empty());
        let expect = Expectations {
            issuer: some(expect.issuer),
            product: some(expect.product),
            instance: some(expect.instance),
            leeway: u64::from(expect.leeway.unwrap_or(0)),
            installation: None,
        };
        Ok(Validator {
            keys,
            expect,
            verified: RefCell::new(Vec::new()),
        })
    }

    /// Validate `token` at `now` (Unix seconds): the outcome.
    pub fn validate(&self, token: &str, now: f64) -> JsValue {
        let now = seconds(now);
        let mut verified = self.verified.borrow_mut();
        let index = match verified.iter().position(|(t, _)| t == token) {
            Some(i) => Ok(i),
            None => verify(token, &self.keys).map(|claims| {
                if verified.len() == VERIFIED_TOKENS {
                    verified.remove(0);
                }
                verified.push((token.to_string(), claims));
                verified.len() - 1
            }),
        };
        match index {
            Err(code) => outcome::<LicenseClaims>(None, Err(code)),
            Ok(i) => {
                let claims = &verified[i].1;
                outcome(Some(claims), judge_claims(claims, &self.expect, now))
            }
        }
    }
}

#[wasm_bindgen]
impl Validator {
    /// Validate a lease token from `POST /api/seats/checkout` at `now`: the
    /// deployment's signature, `typ` `lease+jwt`, the issuer and product expected, the
    /// installation it must be bound to (`installation`, a key thumbprint; "" for any),
    /// and its expiry. The outcome, in the shape `validate` answers.
    #[wasm_bindgen(js_name = validateLease)]
    pub fn validate_lease(&self, token: &str, now: f64, installation: &str) -> JsValue {
        let verified = verify_lease(token, &self.keys);
        self.judge_bound(verified, judge_lease, now, installation)
    }

    /// Validate a machine token from `POST /api/machines/activate` at `now`: the
    /// signature, `typ` `machine+jwt`, the issuer and product expected, the
    /// installation it must be bound to, and the license's end.
    #[wasm_bindgen(js_name = validateMachine)]
    pub fn validate_machine(&self, token: &str, now: f64, installation: &str) -> JsValue {
        let verified = verify_machine(token, &self.keys);
        self.judge_bound(verified, judge_machine, now, installation)
    }
}

impl Validator {
    /// The outcome for a token bound to an installation: `verified`'s claims judged at
    /// `now` against the expectations, bound to `installation` if one is named.
    fn judge_bound<C: serde::Serialize>(
        &self,
        verified: Result<C, DenyCode>,
        judge: fn(&C, &Expectations, u64) -> Result<(), DenyCode>,
        now: f64,
        installation: &str,
    ) -> JsValue {
        let expect = match installation {
            "" => self.expect.clone(),
            jkt => self.expect.clone().installation(jkt),
        };
        match verified {
            Ok(claims) => {
                let judged = judge(&claims, &expect, seconds(now));
                outcome(Some(&claims), judged.map(|()| Vec::new()))
            }
            Err(code) => outcome::<C>(None, Err(code)),
        }
    }
}

/// The RFC 7638 thumbprint of an installation's public JWK (Ed25519 `OKP` or P-256
/// `EC`): the identity tokens are bound to (`cnf.jkt`).
#[wasm_bindgen(js_name = jwkThumbprint)]
pub fn jwk_thumbprint(jwk: JsValue) -> Result<String, JsError> {
    let jwk: PublicJwk =
        serde_wasm_bindgen::from_value(jwk).map_err(|e| JsError::new(&e.to_string()))?;
    InstallationKey::from_jwk(&jwk)
        .map(|key| key.thumbprint())
        .ok_or_else(|| JsError::new("not an Ed25519 or P-256 public JWK"))
}

fn seconds(now: f64) -> u64 {
    if now.is_finite() && now > 0.0 {
        now as u64
    } else {
        0
    }
}

fn outcome<C: serde::Serialize>(
    claims: Option<&C>,
    judged: Result<Vec<Warning>, DenyCode>,
) -> JsValue {
    let outcome = match &judged {
        Ok(warnings) => Outcome {
            valid: true,
            code: None,
            claims,
            warnings,
        },
        Err(code) => Outcome {
            valid: false,
            code: Some(*code),
            claims,
            warnings: &[],
        },
    };
    to_js(&outcome)
}

/// `value` as a JavaScript value shaped as `JSON.parse` would make it (plain objects,
/// `null` for `None`). A number beyond 2^53 cannot be a JS number exactly: then the
/// value goes as JSON text, which rounds it as `JSON.parse` does (a signed license
/// never carries one, but what the issuer signed is still shown rather than refused).
fn to_js<T: serde::Serialize>(value: &T) -> JsValue {
    serde::Serialize::serialize(value, &serde_wasm_bindgen::Serializer::json_compatible())
        .or_else(|_| {
            let json = serde_json::to_string(value).unwrap_or_default();
            js_sys::JSON::parse(&json)
        })
        .unwrap_or(JsValue::NULL)
}
