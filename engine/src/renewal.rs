//! Renewal: the claims of a fresh token for the same license.
//!
//! A renewed token keeps everything that describes the license (`lid`, `lexp`, the
//! customer, products, limits) and gets a new `jti`, `iat`, `nbf` and `exp`. It keeps
//! the old token's lifetime (`exp - iat`), but never outlives the license. This module
//! only computes claims; signing is `token.rs`'s job and revocation the worker's.

use alloc::string::String;

use crate::claims::LicenseClaims;
use crate::decision::DenyCode;

/// The claims for a fresh token of `claims`' license, issued at `now` with id `jti`.
///
/// Refused with [`DenyCode::LicenseExpired`] once the license itself has expired, and
/// with [`DenyCode::TrialExpired`] once a trial has ended: renewal extends a token,
/// never a license.
pub fn renew(claims: &LicenseClaims, jti: String, now: u64) -> Result<LicenseClaims, DenyCode> {
    if now >= claims.lexp {
        return Err(DenyCode::LicenseExpired);
    }
    if claims.trial && claims.trial_exp != 0 && now >= claims.trial_exp {
        return Err(DenyCode::TrialExpired);
    }
    let lifetime = claims.exp.saturating_sub(claims.iat);
    Ok(LicenseClaims {
        jti,
        iat: now,
        nbf: now,
        exp: now.saturating_add(lifetime).min(claims.lexp),
        ..claims.clone()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::DAY;
    use alloc::string::ToString;

    const NOW: u64 = 1_800_000_000;

    fn license() -> LicenseClaims {
        LicenseClaims {
            jti: "1".to_string(),
            lid: "lic-1".to_string(),
            iat: NOW - 10 * DAY,
            nbf: NOW - 10 * DAY,
            exp: NOW + 20 * DAY,
            lexp: NOW + 365 * DAY,
            ..LicenseClaims::default()
        }
    }

    #[test]
    fn keeps_the_license_and_moves_the_token() {
        let old = license();
        let new = renew(&old, "2".to_string(), NOW).expect("renewable");
        assert_eq!(new.jti, "2");
        assert_eq!((new.iat, new.nbf), (NOW, NOW));
        assert_eq!(new.exp, NOW + 30 * DAY, "same 30-day lifetime");
        assert_eq!(new.lid, old.lid);
        assert_eq!(new.lexp, old.lexp);
    }

    #[test]
    fn never_outlives_the_license() {
        let old = LicenseClaims {
            lexp: NOW + DAY,
            ..license()
        };
        let new = renew(&old, "2".to_string(), NOW).expect("renewable");
        assert_eq!(new.exp, old.lexp);
    }

    #[test]
    fn refused_once_the_license_has_expired() {
        let old = LicenseClaims {
            lexp: NOW,
            ..license()
        };
        assert_eq!(
            renew(&old, "2".to_string(), NOW),
            Err(DenyCode::LicenseExpired)
        );
        assert!(renew(&old, "2".to_string(), NOW - 1).is_ok());
    }

    #[test]
    fn refused_once_a_trial_has_ended() {
        let old = LicenseClaims {
            trial: true,
            trial_exp: NOW,
            ..license()
        };
        assert_eq!(
            renew(&old, "2".to_string(), NOW),
            Err(DenyCode::TrialExpired)
        );
    }
}
