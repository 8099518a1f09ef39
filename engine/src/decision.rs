//! Decisions over verified license claims: allow (with warnings) or deny (with a code).
//!
//! A denial is a value, not an error: every way a license can fail has a stable
//! SCREAMING code that the API, the console and the npm validator all report the same.
//! This module does not look at signatures — `token.rs` verifies first and calls
//! [`check_claims`] only on claims it has verified.

use alloc::string::String;
use alloc::vec::Vec;

use crate::claims::DAY;
use crate::claims::LicenseClaims;
use crate::instance::same_instance;

/// Why a license was refused. The codes are stable: clients match on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "SCREAMING_SNAKE_CASE"))]
#[non_exhaustive]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum DenyCode {
    /// Not a well-formed token: not three base64url parts, bad JSON, a missing required
    /// claim, a wrong claim type, empty or longer than [`MAX_TOKEN_BYTES`](crate::MAX_TOKEN_BYTES).
    Malformed,
    /// The header names an algorithm other than `EdDSA` (including `none`).
    WrongAlgorithm,
    /// The header's `kid` names no key this verifier trusts.
    UnknownKey,
    /// The signature does not verify against the named key.
    BadSignature,
    /// `iss` is not the expected issuer.
    WrongIssuer,
    /// `sub` is not the expected instance.
    WrongInstance,
    /// `prod` does not include the expected product.
    WrongProduct,
    /// `nbf` is in the future.
    NotYetValid,
    /// The token's `exp` has passed; the license may still be renewable.
    Expired,
    /// The license's `lexp` has passed; renewal cannot help.
    LicenseExpired,
    /// A trial license whose `trial_exp` has passed.
    TrialExpired,
    /// The issuer revoked the license. Only an online check (the API) can know this.
    Revoked,
    /// A lease or machine token bound (`cnf.jkt`) to another installation's key than
    /// the one expected: a copied token.
    WrongInstallation,
}

impl DenyCode {
    /// Every code, in the order [`check_claims`] and the token layer test them.
    pub const ALL: [DenyCode; 13] = [
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
        DenyCode::Revoked,
        DenyCode::WrongInstallation,
    ];

    /// The stable wire code, e.g. `"BAD_SIGNATURE"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            DenyCode::Malformed => "MALFORMED",
            DenyCode::WrongAlgorithm => "WRONG_ALGORITHM",
            DenyCode::UnknownKey => "UNKNOWN_KEY",
            DenyCode::BadSignature => "BAD_SIGNATURE",
            DenyCode::WrongIssuer => "WRONG_ISSUER",
            DenyCode::WrongInstance => "WRONG_INSTANCE",
            DenyCode::WrongProduct => "WRONG_PRODUCT",
            DenyCode::NotYetValid => "NOT_YET_VALID",
            DenyCode::Expired => "EXPIRED",
            DenyCode::LicenseExpired => "LICENSE_EXPIRED",
            DenyCode::TrialExpired => "TRIAL_EXPIRED",
            DenyCode::Revoked => "REVOKED",
            DenyCode::WrongInstallation => "WRONG_INSTALLATION",
        }
    }
}

impl core::fmt::Display for DenyCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something an allowed license's holder should act on soon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(tag = "code", rename_all = "SCREAMING_SNAKE_CASE")
)]
#[non_exhaustive]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Warning {
    /// The license expires within `lic_exp_warn_days`.
    LicenseExpiring {
        /// The license's `lexp`.
        at: u64,
        /// Whole days left, rounded up (1 means "less than a day").
        days_left: u64,
    },
    /// The token expires within `tok_exp_warn_days`: renew it.
    TokenExpiring {
        /// The token's `exp`.
        at: u64,
        /// Whole days left, rounded up.
        days_left: u64,
    },
    /// `update_days` have passed since the token was issued: renew it.
    RenewalDue {
        /// `iat + update_days` days.
        at: u64,
    },
}

impl Warning {
    /// The stable wire code, e.g. `"TOKEN_EXPIRING"`.
    pub const fn code(&self) -> &'static str {
        match self {
            Warning::LicenseExpiring { .. } => "LICENSE_EXPIRING",
            Warning::TokenExpiring { .. } => "TOKEN_EXPIRING",
            Warning::RenewalDue { .. } => "RENEWAL_DUE",
        }
    }
}

/// An allowed license: its claims and what to warn about.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct License {
    /// The verified claims.
    pub claims: LicenseClaims,
    /// Warnings in a fixed order: license, token, renewal.
    pub warnings: Vec<Warning>,
}

/// The outcome of validating a license.
// `Allow` is the common outcome; boxing it would cost an allocation per validation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// The license is valid now.
    Allow(License),
    /// The license is refused, and why.
    Deny(DenyCode),
}

impl Decision {
    /// Whether the license is allowed.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow(_))
    }

    /// The denial code, if denied.
    pub fn deny_code(&self) -> Option<DenyCode> {
        match self {
            Decision::Allow(_) => None,
            Decision::Deny(code) => Some(*code),
        }
    }
}

/// What a verifier requires of a license beyond a good signature.
///
/// Each `None` means "any". `leeway` tolerates clock skew on `nbf` and `exp` (seconds);
/// it never extends `lexp` or `trial_exp`, which are commercial dates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expectations {
    /// Required `iss`.
    pub issuer: Option<String>,
    /// A product that `prod` must include.
    pub product: Option<String>,
    /// Required instance (`sub`), compared in canonical form.
    pub instance: Option<String>,
    /// Allowed clock skew for `nbf` and `exp`, in seconds.
    pub leeway: u64,
    /// The installation a lease or machine token must be bound to (its key's
    /// thumbprint, `cnf.jkt`); licenses are not bound and ignore it.
    pub installation: Option<String>,
}

impl Expectations {
    /// Require this issuer.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Require this product.
    pub fn product(mut self, product: impl Into<String>) -> Self {
        self.product = Some(product.into());
        self
    }

    /// Require this instance.
    pub fn instance(mut self, instance: impl Into<String>) -> Self {
        self.instance = Some(instance.into());
        self
    }

    /// Require lease and machine tokens bound to this installation (a thumbprint).
    pub fn installation(mut self, jkt: impl Into<String>) -> Self {
        self.installation = Some(jkt.into());
        self
    }

    /// Tolerate this much clock skew on `nbf` and `exp`.
    pub fn leeway(mut self, seconds: u64) -> Self {
        self.leeway = seconds;
        self
    }
}

/// Decide on claims whose signature has already been verified.
///
/// Identity is checked before time (issuer, instance, product, then `nbf`, `exp`,
/// `lexp`, `trial_exp`), so a license for another product reports `WRONG_PRODUCT` even
/// when it has also expired: the more useful answer to whoever holds it.
///
/// A time `t` has passed when `now >= t`. A warning for "within N days" of `t` starts
/// at `t - N days` exactly.
pub fn check_claims(claims: LicenseClaims, expect: &Expectations, now: u64) -> Decision {
    match judge_claims(&claims, expect, now) {
        Ok(warnings) => Decision::Allow(License { claims, warnings }),
        Err(code) => Decision::Deny(code),
    }
}

/// [`check_claims`] without taking the claims: the warnings if allowed, the code if not.
/// For callers that show the claims of a refused license too.
pub fn judge_claims(
    claims: &LicenseClaims,
    expect: &Expectations,
    now: u64,
) -> Result<Vec<Warning>, DenyCode> {
    match deny_reason(claims, expect, now) {
        Some(code) => Err(code),
        None => Ok(warnings(claims, now)),
    }
}

fn deny_reason(c: &LicenseClaims, expect: &Expectations, now: u64) -> Option<DenyCode> {
    if expect.issuer.as_deref().is_some_and(|iss| iss != c.iss) {
        return Some(DenyCode::WrongIssuer);
    }
    if expect
        .instance
        .as_deref()
        .is_some_and(|inst| !same_instance(inst, &c.sub))
    {
        return Some(DenyCode::WrongInstance);
    }
    if expect
        .product
        .as_deref()
        .is_some_and(|p| !c.prod.iter().any(|have| have == p))
    {
        return Some(DenyCode::WrongProduct);
    }
    if now.saturating_add(expect.leeway) < c.nbf {
        return Some(DenyCode::NotYetValid);
    }
    if now >= c.exp.saturating_add(expect.leeway) {
        return Some(DenyCode::Expired);
    }
    if now >= c.lexp {
        return Some(DenyCode::LicenseExpired);
    }
    if c.trial && c.trial_exp != 0 && now >= c.trial_exp {
        return Some(DenyCode::TrialExpired);
    }
    None
}

fn warnings(c: &LicenseClaims, now: u64) -> Vec<Warning> {
    let mut out = Vec::new();
    if let Some(days_left) = within_days(c.lexp, c.lic_exp_warn_days, now) {
        out.push(Warning::LicenseExpiring {
            at: c.lexp,
            days_left,
        });
    }
    if let Some(days_left) = within_days(c.exp, c.tok_exp_warn_days, now) {
        out.push(Warning::TokenExpiring {
            at: c.exp,
            days_left,
        });
    }
    if c.update_days > 0 {
        let due = c.iat.saturating_add(u64::from(c.update_days) * DAY);
        if now >= due {
            out.push(Warning::RenewalDue { at: due });
        }
    }
    out
}

/// `Some(days left, rounded up)` when `now` is within `days` days before `at`.
fn within_days(at: u64, days: u32, now: u64) -> Option<u64> {
    if days == 0 || now >= at {
        return None;
    }
    let left = at - now;
    (left <= u64::from(days) * DAY).then(|| left.div_ceil(DAY))
}

#[cfg(test)]
mod tests;
