//! The claims of a Tessera license token (seed 004), with their exact JSON names.
//!
//! This module only describes the data; what the claims *mean* for a decision lives in
//! `decision.rs`, and how they are signed in `token.rs`.

use alloc::string::String;
use alloc::vec::Vec;

/// Seconds in a day: every `*_days` claim is counted in these.
pub const DAY: u64 = 86_400;

/// The latest time a request may name (9999-12-31T23:59:59Z): later ones are refused,
/// so every time the API hands out stays exact in JavaScript (below 2^53).
pub const MAX_TIMESTAMP: u64 = 253_402_300_799;

/// The payload of a license token.
///
/// Field names are the JSON names of seed 004, including its one camel-cased field,
/// `anonymousRatio`. Times are Unix seconds. Unknown claims are ignored when a token is
/// read, so issuers can add claims without breaking older validators. `iss`, `sub`,
/// `iat`, `exp`, `lexp` and `lid` are required; every other claim defaults to its zero
/// value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LicenseClaims {
    /// Unique id of this token; a renewal gets a new one.
    #[cfg_attr(feature = "serde", serde(default))]
    pub jti: String,
    /// Issuer: who signed the license (the issuing deployment's URL).
    pub iss: String,
    /// Subject: the licensed instance, as its root URL.
    pub sub: String,
    /// When this token was issued.
    pub iat: u64,
    /// When this token expires. A renewal extends it, up to [`lexp`](Self::lexp).
    pub exp: u64,
    /// The token is not valid before this time.
    #[cfg_attr(feature = "serde", serde(default))]
    pub nbf: u64,
    /// When the license itself expires; renewal never moves it.
    pub lexp: u64,
    /// License id: stable across every token of the same license.
    pub lid: String,
    /// What the license counts (for example `"users"`).
    #[cfg_attr(feature = "serde", serde(default))]
    pub limit_by: String,
    /// Users the license includes.
    #[cfg_attr(feature = "serde", serde(default))]
    pub included_users: u32,
    /// Warn this many days before the license expires (0: never).
    #[cfg_attr(feature = "serde", serde(default))]
    pub lic_exp_warn_days: u32,
    /// Warn this many days before the token expires (0: never).
    #[cfg_attr(feature = "serde", serde(default))]
    pub tok_exp_warn_days: u32,
    /// Renew the token every this many days (0: no cadence).
    #[cfg_attr(feature = "serde", serde(default))]
    pub update_days: u32,
    /// Products the license covers. Seed 004 shows `null` for none; it reads as empty.
    #[cfg_attr(feature = "serde", serde(default, deserialize_with = "null_as_empty"))]
    pub prod: Vec<String>,
    /// The customer's company name.
    #[cfg_attr(feature = "serde", serde(default))]
    pub company: String,
    /// The customer's account id.
    #[cfg_attr(feature = "serde", serde(default))]
    pub account: String,
    /// The customer's short name.
    #[cfg_attr(feature = "serde", serde(default))]
    pub slug: String,
    /// Whether usage beyond the included users is billed rather than refused.
    #[cfg_attr(feature = "serde", serde(default))]
    pub usage_billing: bool,
    /// Installations a single user may hold a product from at once (0: unlimited).
    #[cfg_attr(feature = "serde", serde(default))]
    pub max_concurrent_user_sessions: u32,
    /// Where a person reads more about this license.
    #[cfg_attr(feature = "serde", serde(default))]
    pub details_url: String,
    /// Whether this is a trial license.
    #[cfg_attr(feature = "serde", serde(default))]
    pub trial: bool,
    /// When the trial ends (0: not set; only read when `trial` is true).
    #[cfg_attr(feature = "serde", serde(default))]
    pub trial_exp: u64,
    /// Anonymous users allowed per included user.
    #[cfg_attr(feature = "serde", serde(default, rename = "anonymousRatio"))]
    pub anonymous_ratio: u32,
    /// Machines the license may be activated on at once (0: not node-locked). Tessera's
    /// own claim, beyond seed 004's; written only when set, so a license that is not
    /// node-locked carries exactly seed 004's claims.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "is_zero"))]
    pub max_machines: u32,
    /// Activations per rolling day (0: no limit). Tessera's own claim, written only when
    /// set.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "is_zero"))]
    pub max_activations_per_day: u32,
}

#[cfg(feature = "serde")]
#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[cfg(feature = "serde")]
fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    use serde::Deserialize;
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

#[cfg(all(test, feature = "serde"))]
mod tests {
    use super::*;

    /// The field list of seed 004, in its order.
    const SEED_FIELDS: [&str; 23] = [
        "jti",
        "iss",
        "sub",
        "iat",
        "exp",
        "nbf",
        "lexp",
        "lid",
        "limit_by",
        "included_users",
        "lic_exp_warn_days",
        "tok_exp_warn_days",
        "update_days",
        "prod",
        "company",
        "account",
        "slug",
        "usage_billing",
        "max_concurrent_user_sessions",
        "details_url",
        "trial",
        "trial_exp",
        "anonymousRatio",
    ];

    #[test]
    fn serialises_with_exactly_the_seed_names() {
        let value = serde_json::to_value(LicenseClaims::default()).expect("serialise");
        let object = value.as_object().expect("an object");
        let mut names: Vec<&str> = object.keys().map(String::as_str).collect();
        let mut expected = SEED_FIELDS.to_vec();
        names.sort_unstable();
        expected.sort_unstable();
        assert_eq!(names, expected);
    }

    #[test]
    fn reads_null_prod_as_empty_and_ignores_unknown_claims() {
        let json = r#"{"iss":"i","sub":"s","iat":1,"exp":2,"lexp":3,"lid":"l",
                       "prod":null,"future_claim":{"x":1}}"#;
        let claims: LicenseClaims = serde_json::from_str(json).expect("parse");
        assert!(claims.prod.is_empty());
        assert_eq!(claims.lexp, 3);
    }

    #[test]
    fn requires_the_identity_and_time_claims() {
        for missing in ["iss", "sub", "iat", "exp", "lexp", "lid"] {
            let mut value = serde_json::to_value(LicenseClaims::default()).expect("serialise");
            value.as_object_mut().expect("object").remove(missing);
            assert!(
                serde_json::from_value::<LicenseClaims>(value).is_err(),
                "{missing} should be required"
            );
        }
    }
}
