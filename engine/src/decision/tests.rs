//! Decisions at their exact boundaries. `NOW` is fixed: no test reads the clock.

use alloc::string::ToString;
use alloc::vec;

use super::*;

const NOW: u64 = 1_800_000_000;

fn claims() -> LicenseClaims {
    LicenseClaims {
        jti: "t-1".to_string(),
        iss: "https://issuer.example".to_string(),
        sub: "https://app.example/".to_string(),
        iat: NOW - DAY,
        nbf: NOW - DAY,
        exp: NOW + 30 * DAY,
        lexp: NOW + 365 * DAY,
        lid: "lic-1".to_string(),
        prod: vec!["tessera-pro".to_string()],
        ..LicenseClaims::default()
    }
}

fn expect() -> Expectations {
    Expectations::default()
        .issuer("https://issuer.example")
        .product("tessera-pro")
        .instance("https://APP.example")
}

fn warnings_at(c: LicenseClaims, now: u64) -> Vec<Warning> {
    match check_claims(c, &Expectations::default(), now) {
        Decision::Allow(license) => license.warnings,
        Decision::Deny(code) => panic!("denied: {code}"),
    }
}

#[test]
fn allows_a_matching_license_without_warnings() {
    let decision = check_claims(claims(), &expect(), NOW);
    assert_eq!(
        decision,
        Decision::Allow(License {
            claims: claims(),
            warnings: vec![]
        })
    );
}

#[test]
fn identity_denials() {
    let c = claims();
    let cases = [
        (
            expect().issuer("https://other.example"),
            DenyCode::WrongIssuer,
        ),
        (
            expect().instance("https://other.example/"),
            DenyCode::WrongInstance,
        ),
        (
            expect().instance("http://app.example/"),
            DenyCode::WrongInstance,
        ),
        (expect().product("tessera-basic"), DenyCode::WrongProduct),
    ];
    for (e, code) in cases {
        assert_eq!(
            check_claims(c.clone(), &e, NOW),
            Decision::Deny(code),
            "{e:?}"
        );
    }
}

#[test]
fn identity_is_reported_before_time() {
    let expired = LicenseClaims {
        exp: NOW - 1,
        ..claims()
    };
    let e = expect().product("something-else");
    assert_eq!(
        check_claims(expired, &e, NOW).deny_code(),
        Some(DenyCode::WrongProduct)
    );
}

#[test]
fn not_before_boundary() {
    let c = LicenseClaims {
        nbf: NOW,
        ..claims()
    };
    assert!(check_claims(c.clone(), &expect(), NOW).is_allowed());
    assert_eq!(
        check_claims(c.clone(), &expect(), NOW - 1).deny_code(),
        Some(DenyCode::NotYetValid)
    );
    assert!(check_claims(c, &expect().leeway(60), NOW - 60).is_allowed());
}

#[test]
fn token_expiry_boundary() {
    let c = LicenseClaims {
        exp: NOW,
        ..claims()
    };
    assert_eq!(
        check_claims(c.clone(), &expect(), NOW).deny_code(),
        Some(DenyCode::Expired)
    );
    assert!(check_claims(c.clone(), &expect(), NOW - 1).is_allowed());
    assert!(check_claims(c.clone(), &expect().leeway(60), NOW + 59).is_allowed());
    assert_eq!(
        check_claims(c, &expect().leeway(60), NOW + 60).deny_code(),
        Some(DenyCode::Expired)
    );
}

#[test]
fn license_expiry_boundary_ignores_leeway() {
    let c = LicenseClaims {
        lexp: NOW,
        ..claims()
    };
    assert_eq!(
        check_claims(c.clone(), &expect().leeway(3600), NOW).deny_code(),
        Some(DenyCode::LicenseExpired)
    );
    assert!(check_claims(c, &expect(), NOW - 1).is_allowed());
}

#[test]
fn trial_expiry_applies_only_to_trials() {
    let trial = LicenseClaims {
        trial: true,
        trial_exp: NOW,
        ..claims()
    };
    assert_eq!(
        check_claims(trial.clone(), &expect(), NOW).deny_code(),
        Some(DenyCode::TrialExpired)
    );
    assert!(check_claims(trial.clone(), &expect(), NOW - 1).is_allowed());
    let not_trial = LicenseClaims {
        trial: false,
        ..trial
    };
    assert!(check_claims(not_trial, &expect(), NOW).is_allowed());
}

#[test]
fn license_expiring_warning_starts_exactly_n_days_before() {
    let c = LicenseClaims {
        lexp: NOW + 30 * DAY,
        exp: NOW + 30 * DAY,
        lic_exp_warn_days: 30,
        ..claims()
    };
    assert_eq!(
        warnings_at(c.clone(), NOW),
        vec![Warning::LicenseExpiring {
            at: NOW + 30 * DAY,
            days_left: 30
        }]
    );
    assert_eq!(warnings_at(c.clone(), NOW - 1), vec![]);
    // One second left still counts as a day left.
    assert_eq!(
        warnings_at(c, NOW + 30 * DAY - 1),
        vec![Warning::LicenseExpiring {
            at: NOW + 30 * DAY,
            days_left: 1
        }]
    );
}

#[test]
fn token_expiring_warning_starts_exactly_n_days_before() {
    let c = LicenseClaims {
        exp: NOW + 2 * DAY,
        tok_exp_warn_days: 2,
        ..claims()
    };
    assert_eq!(
        warnings_at(c.clone(), NOW),
        vec![Warning::TokenExpiring {
            at: NOW + 2 * DAY,
            days_left: 2
        }]
    );
    assert_eq!(warnings_at(c.clone(), NOW - 1), vec![]);
    assert_eq!(
        warnings_at(c, NOW + DAY + 1),
        vec![Warning::TokenExpiring {
            at: NOW + 2 * DAY,
            days_left: 1
        }]
    );
}

#[test]
fn renewal_due_exactly_update_days_after_issue() {
    let c = LicenseClaims {
        iat: NOW,
        nbf: NOW,
        update_days: 1,
        ..claims()
    };
    assert_eq!(warnings_at(c.clone(), NOW + DAY - 1), vec![]);
    assert_eq!(
        warnings_at(c.clone(), NOW + DAY),
        vec![Warning::RenewalDue { at: NOW + DAY }]
    );
    let no_cadence = LicenseClaims {
        update_days: 0,
        ..c
    };
    assert_eq!(warnings_at(no_cadence, NOW + 20 * DAY), vec![]);
}

#[test]
fn zero_warn_days_never_warn() {
    let c = LicenseClaims {
        exp: NOW + 1,
        lexp: NOW + 1,
        ..claims()
    };
    assert_eq!(warnings_at(c, NOW), vec![]);
}

#[test]
fn all_warnings_in_their_fixed_order() {
    let c = LicenseClaims {
        iat: NOW - 10 * DAY,
        exp: NOW + DAY,
        lexp: NOW + DAY,
        lic_exp_warn_days: 7,
        tok_exp_warn_days: 7,
        update_days: 7,
        ..claims()
    };
    let codes: Vec<&str> = warnings_at(c, NOW).iter().map(Warning::code).collect();
    assert_eq!(
        codes,
        vec!["LICENSE_EXPIRING", "TOKEN_EXPIRING", "RENEWAL_DUE"]
    );
}

#[test]
fn codes_are_stable_strings() {
    let codes: Vec<&str> = DenyCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(
        codes,
        vec![
            "MALFORMED",
            "WRONG_ALGORITHM",
            "UNKNOWN_KEY",
            "BAD_SIGNATURE",
            "WRONG_ISSUER",
            "WRONG_INSTANCE",
            "WRONG_PRODUCT",
            "NOT_YET_VALID",
            "EXPIRED",
            "LICENSE_EXPIRED",
            "TRIAL_EXPIRED",
            "REVOKED",
            "WRONG_INSTALLATION"
        ]
    );
}

#[cfg(feature = "serde")]
#[test]
fn wire_forms_match_the_codes() {
    for code in DenyCode::ALL {
        let json = serde_json::to_string(&code).expect("serialise");
        assert_eq!(json, alloc::format!("\"{}\"", code.as_str()));
    }
    let w = Warning::TokenExpiring {
        at: 5,
        days_left: 1,
    };
    assert_eq!(
        serde_json::to_string(&w).expect("serialise"),
        r#"{"code":"TOKEN_EXPIRING","at":5,"days_left":1}"#
    );
}
