//! License records and requests: the shapes issuing and seed 004 store and send.
//!
//! Shared by the worker (which stores and serialises them) and the console (which
//! reads them), so the two cannot disagree. Building claims from an [`IssueRequest`]
//! lives here too: it is pure validation. Signing and storage are `licensing.rs`'s.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::claims::DAY;
use crate::claims::LicenseClaims;
use crate::decision::{DenyCode, Warning};
use crate::error::Error;
use crate::instance::normalize_instance;

/// Longest free-text field accepted when issuing, in bytes.
pub(crate) const MAX_TEXT: usize = 200;
/// Most products one license may list.
const MAX_PRODUCTS: usize = 32;

/// `POST /api/licenses`: what an administrator fills in to issue a license.
///
/// Claim names are kept where a claim is copied as is; `instance`, `products`,
/// `expires_at` and `token_days` are the friendlier inputs behind `sub`, `prod`,
/// `lexp` and `exp`. Unknown fields are refused, so a typo cannot silently drop a term.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IssueRequest {
    /// The customer's company name (required).
    pub company: String,
    /// The customer's account id.
    #[serde(default)]
    pub account: String,
    /// The customer's short name.
    #[serde(default)]
    pub slug: String,
    /// The licensed instance's root URL (becomes `sub`).
    pub instance: String,
    /// Products the license covers (becomes `prod`; at least one).
    pub products: Vec<String>,
    /// When the license expires, Unix seconds (becomes `lexp`).
    #[cfg_attr(feature = "openapi", schema(maximum = 253_402_300_799_u64))]
    pub expires_at: u64,
    /// Lifetime of each token, in days (default 30); renewal issues another.
    #[serde(default = "default_token_days")]
    pub token_days: u32,
    /// Users included.
    #[serde(default)]
    pub included_users: u32,
    /// What the license counts (default `"users"`).
    #[serde(default = "default_limit_by")]
    pub limit_by: String,
    /// Warn this many days before the license expires (default 30).
    #[serde(default = "default_lic_warn")]
    pub lic_exp_warn_days: u32,
    /// Warn this many days before a token expires (default 2).
    #[serde(default = "default_tok_warn")]
    pub tok_exp_warn_days: u32,
    /// Renewal cadence in days (default 1).
    #[serde(default = "default_update_days")]
    pub update_days: u32,
    /// Whether usage beyond the included users is billed.
    #[serde(default)]
    pub usage_billing: bool,
    /// Installations one user may hold a product from at once (default 1: a seat is one
    /// machine at a time; 0: unlimited, as licenses issued before installations were).
    #[serde(default = "default_sessions")]
    pub max_concurrent_user_sessions: u32,
    /// Machines the license may be activated on at once (default 0: not node-locked).
    #[serde(default)]
    pub max_machines: u32,
    /// Activations per rolling day (default 10; 0: no limit).
    #[serde(default = "default_activations_per_day")]
    pub max_activations_per_day: u32,
    /// Where a person reads more about this license.
    #[serde(default)]
    pub details_url: String,
    /// A trial license?
    #[serde(default)]
    pub trial: bool,
    /// When the trial ends (default: the license's expiry).
    #[serde(default)]
    pub trial_exp: u64,
    /// Anonymous users per included user.
    #[serde(default, rename = "anonymousRatio")]
    pub anonymous_ratio: u32,
    /// How long a seat's session lasts without a heartbeat, seconds (60 to 604 800;
    /// default 1 200). Not a claim: the license's live state keeps it.
    #[serde(default = "default_lease_seconds")]
    pub lease_seconds: u32,
}

pub(crate) fn default_lease_seconds() -> u32 {
    crate::seats::DEFAULT_LEASE_SECONDS
}

/// A new license's installations per user: one machine at a time holds a user's seat.
pub const DEFAULT_SESSIONS: u32 = 1;
/// A new license's activations per rolling day.
pub const DEFAULT_ACTIVATIONS_PER_DAY: u32 = 10;

fn default_sessions() -> u32 {
    DEFAULT_SESSIONS
}

fn default_activations_per_day() -> u32 {
    DEFAULT_ACTIVATIONS_PER_DAY
}

fn default_token_days() -> u32 {
    30
}
fn default_limit_by() -> String {
    "users".into()
}
fn default_lic_warn() -> u32 {
    30
}
fn default_tok_warn() -> u32 {
    2
}
fn default_update_days() -> u32 {
    1
}

/// Whether an issued license still stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum LicenseState {
    /// In force (until `lexp`).
    Active,
    /// Revoked by an administrator: check answers false, renewal is refused.
    Revoked,
}

/// An issued license, as stored and as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LicenseRecord {
    /// License id (the tokens' `lid`).
    pub lid: String,
    /// Active or revoked.
    pub state: LicenseState,
    /// The claims of the latest token.
    pub claims: LicenseClaims,
    /// The latest token issued for this license: a seat credential, so the API shows
    /// it only to callers who may issue licenses (`licenses:write`); lists never do.
    /// Absent (empty) where withheld ([`LicenseRecord::without_token`]).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub token: String,
    /// When it was issued, and by whom.
    pub created_at: u64,
    /// The issuing user.
    pub created_by: String,
    /// When it was revoked, if it was.
    #[serde(default)]
    pub revoked_at: Option<u64>,
    /// Who revoked it, if anyone.
    #[serde(default)]
    pub revoked_by: Option<String>,
    /// A seat's session lifetime without a heartbeat, seconds.
    #[serde(default = "default_lease_seconds")]
    pub lease_seconds: u32,
}

impl LicenseRecord {
    /// The record with its token withheld (for a caller who may read licenses but not
    /// hand them out, and for lists).
    pub fn without_token(mut self) -> LicenseRecord {
        self.token = String::new();
        self
    }
}

/// The license applied to an instance.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AppliedLicense {
    /// The instance's canonical root URL.
    pub instance: String,
    /// The applied token.
    pub token: String,
    /// When, and by whom.
    pub applied_at: u64,
    /// The applying user.
    pub applied_by: String,
}

/// Seed 004's answer to apply and renew: the claims, plus `status` and `warnings`.
///
/// `status` is `0` for a valid license with nothing to do, `1` for a valid license
/// with warnings to act on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LicenseStatus {
    /// 0: valid; 1: valid, see `warnings`.
    pub status: u8,
    /// The license's claims, at the top level as seed 004 shows them.
    #[serde(flatten)]
    pub claims: LicenseClaims,
    /// What to act on soon.
    pub warnings: Vec<Warning>,
    /// The token (renewal's fresh one), for instances that validate offline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl LicenseStatus {
    /// The status for an allowed license.
    pub fn new(claims: LicenseClaims, warnings: Vec<Warning>, token: Option<String>) -> Self {
        LicenseStatus {
            status: u8::from(!warnings.is_empty()),
            claims,
            warnings,
            token,
        }
    }
}

/// What the console shows about an instance's applied license, valid or not.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppliedView {
    /// The instance's canonical root URL.
    pub instance: String,
    /// Whether the applied license is valid now (what `check` answers).
    pub valid: bool,
    /// Why not, when not valid.
    pub code: Option<DenyCode>,
    /// The claims, when the signature verifies.
    pub claims: Option<LicenseClaims>,
    /// Warnings, when valid.
    pub warnings: Vec<Warning>,
    /// When and by whom it was applied.
    pub applied_at: u64,
    /// The applying user.
    pub applied_by: String,
}

fn invalid(field: &'static str, message: impl Into<String>) -> Error {
    Error::Invalid {
        field,
        message: message.into(),
    }
}

/// Whether `id` could be a record id this service made: 1 to 64 of `A-Z a-z 0-9 - _`.
/// Anything else is looked up as nothing, and never reaches storage.
pub fn plausible_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The canonical form of an instance URL, or an `Invalid` error naming `field`.
pub fn instance_field(field: &'static str, url: &str) -> Result<String, Error> {
    normalize_instance(url).ok_or_else(|| {
        invalid(
            field,
            "must be an http(s) root URL such as https://app.example.com/",
        )
    })
}

fn text(field: &'static str, value: &str, required: bool) -> Result<(), Error> {
    if required && value.trim().is_empty() {
        return Err(invalid(field, "is required"));
    }
    if value.len() > MAX_TEXT {
        return Err(invalid(
            field,
            alloc::format!("is longer than {MAX_TEXT} bytes"),
        ));
    }
    Ok(())
}

impl IssueRequest {
    /// Check every field and build the first token's claims.
    pub fn into_claims(
        self,
        issuer: &str,
        lid: String,
        jti: String,
        now: u64,
    ) -> Result<LicenseClaims, Error> {
        text("company", &self.company, true)?;
        text("account", &self.account, false)?;
        text("slug", &self.slug, false)?;
        text("limit_by", &self.limit_by, false)?;
        let sub = instance_field("instance", &self.instance)?;
        if self.products.is_empty() || self.products.len() > MAX_PRODUCTS {
            return Err(invalid(
                "products",
                alloc::format!("must list 1 to {MAX_PRODUCTS} products"),
            ));
        }
        let mut identities: Vec<String> = Vec::with_capacity(self.products.len());
        for p in &self.products {
            text("products", p, true)?;
            let id = crate::identity::identity(p);
            if id.is_empty() || identities.contains(&id) {
                return Err(invalid(
                    "products",
                    "must name each product once (names that differ only in case, width or spacing are one product)",
                ));
            }
            identities.push(id);
        }
        if self.expires_at <= now || self.expires_at > crate::claims::MAX_TIMESTAMP {
            return Err(invalid(
                "expires_at",
                "must be in the future, and no later than 9999-12-31",
            ));
        }
        if !(1..=3650).contains(&self.token_days) {
            return Err(invalid("token_days", "must be 1 to 3650"));
        }
        let web_url = ["https://", "http://"]
            .iter()
            .any(|scheme| self.details_url.starts_with(scheme));
        if !self.details_url.is_empty() && !web_url {
            return Err(invalid("details_url", "must be an http(s) URL"));
        }
        if self.details_url.len() > 2048 {
            return Err(invalid("details_url", "is longer than 2048 bytes"));
        }
        crate::seats::check_lease_seconds(self.lease_seconds)?;
        if self.max_machines as usize > crate::seats::MAX_MACHINES {
            return Err(invalid(
                "max_machines",
                alloc::format!("must be at most {}", crate::seats::MAX_MACHINES),
            ));
        }
        let trial_exp = match (self.trial, self.trial_exp) {
            (false, 0) => 0,
            (false, _) => return Err(invalid("trial_exp", "is only for trial licenses")),
            (true, 0) => self.expires_at,
            (true, t) if t <= now || t > self.expires_at => {
                return Err(invalid(
                    "trial_exp",
                    "must be in the future and no later than expires_at",
                ));
            }
            (true, t) => t,
        };
        Ok(LicenseClaims {
            jti,
            iss: issuer.to_string(),
            sub,
            iat: now,
            nbf: now,
            exp: now
                .saturating_add(u64::from(self.token_days) * DAY)
                .min(self.expires_at),
            lexp: self.expires_at,
            lid,
            limit_by: self.limit_by,
            included_users: self.included_users,
            lic_exp_warn_days: self.lic_exp_warn_days,
            tok_exp_warn_days: self.tok_exp_warn_days,
            update_days: self.update_days,
            prod: self.products,
            company: self.company,
            account: self.account,
            slug: self.slug,
            usage_billing: self.usage_billing,
            max_concurrent_user_sessions: self.max_concurrent_user_sessions,
            max_machines: self.max_machines,
            max_activations_per_day: self.max_activations_per_day,
            details_url: self.details_url,
            trial: self.trial,
            trial_exp,
            anonymous_ratio: self.anonymous_ratio,
        })
    }
}
