//! The npm validator's wasm-bindgen surface: a key set and expectations parsed once,
//! then `validate(token, now)` many times.
//!
//! The result crosses to JavaScript as one JSON string (`{valid, code, claims,
//! warnings}`), which the package's wrapper (`npm/index.js`) parses: one boundary
//! crossing per validation, and no serde-wasm-bindgen in the binary. Inputs are checked
//! here and errors come back as `JsError`s with a message; nothing panics on bad input.
//!
//! An app validates the same licence over and over (at each start, each request), so a
//! validator remembers the last few tokens whose signature verified, with their claims.
//! A signature's validity under a fixed key set never changes, so a remembered token
//! skips only the Ed25519 check and the parse; every time-dependent and identity check
//! runs again at each call's `now`.

use core::cell::RefCell;
use std::string::{String, ToString};
use std::vec::Vec;

use wasm_bindgen::prelude::*;

use crate::claims::LicenseClaims;
use crate::decision::{DenyCode, Expectations, Warning, judge_claims};
use crate::keys::KeySet;
use crate::token::{LeaseClaims, judge_lease, verify, verify_lease};

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

#[derive(serde::Serialize)]
struct Outcome<'a> {
    valid: bool,
    code: Option<DenyCode>,
    /// Present whenever the signature verified, even if the licence was refused.
    claims: Option<&'a LicenseClaims>,
    warnings: &'a [Warning],
}

#[wasm_bindgen]
impl Validator {
    /// Parse `jwks` (a JWKS JSON string) and the expectations; `""` means "any".
    #[wasm_bindgen(constructor)]
    pub fn new(
        jwks: &str,
        issuer: &str,
        product: &str,
        instance: &str,
        leeway: u32,
    ) -> Result<Validator, JsError> {
        let keys = KeySet::from_jwks(jwks).map_err(|e| JsError::new(&e.to_string()))?;
        let some = |s: &str| (!s.is_empty()).then(|| String::from(s));
        let expect = Expectations {
            issuer: some(issuer),
            product: some(product),
            instance: some(instance),
            leeway: u64::from(leeway),
        };
        Ok(Validator {
            keys,
            expect,
            verified: RefCell::new(Vec::new()),
        })
    }

    /// Validate `token` at `now` (Unix seconds): the outcome as a JSON string.
    pub fn validate(&self, token: &str, now: f64) -> String {
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
            Err(code) => outcome(None, Err(code)),
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
    /// deployment's signature, `typ` `lease+jwt`, the issuer and product expected, and
    /// its expiry. The outcome as a JSON string, in the shape `validate` answers.
    #[wasm_bindgen(js_name = validateLease)]
    pub fn validate_lease(&self, token: &str, now: f64) -> String {
        let now = seconds(now);
        let (claims, judged) = match verify_lease(token, &self.keys) {
            Ok(claims) => {
                let judged = judge_lease(&claims, &self.expect, now);
                (Some(claims), judged)
            }
            Err(code) => (None, Err(code)),
        };
        #[derive(serde::Serialize)]
        struct LeaseOutcome<'a> {
            valid: bool,
            code: Option<DenyCode>,
            claims: Option<&'a LeaseClaims>,
            warnings: [(); 0],
        }
        let outcome = LeaseOutcome {
            valid: judged.is_ok(),
            code: judged.err(),
            claims: claims.as_ref(),
            warnings: [],
        };
        serde_json::to_string(&outcome).unwrap_or_default()
    }
}

fn seconds(now: f64) -> u64 {
    if now.is_finite() && now > 0.0 {
        now as u64
    } else {
        0
    }
}

fn outcome(claims: Option<&LicenseClaims>, judged: Result<Vec<Warning>, DenyCode>) -> String {
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
    serde_json::to_string(&outcome).unwrap_or_default()
}
