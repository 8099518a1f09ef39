//! Users and API tokens: their wire shapes and the rules for changing them.
//!
//! Pure rules, no storage: the worker loads what a rule needs (the actor's role, the
//! target, how many server administrators remain) and asks. The rules:
//!
//! - only a server administrator may create, change or delete a server administrator,
//!   or make someone one (no escalation through `users:write`);
//! - the last active server administrator cannot be disabled, demoted or deleted;
//! - an Agent-scope token needs `tokens:admin` to create, and to edit its description;
//! - a deleted token stays deleted.
//!
//! Token secrets are generated from the caller's random bytes: `tsr_` (API and Agent
//! tokens) or `tsv_` (the vault token) and 43 base64url characters. Only the SHA-256 of
//! a secret is ever stored; its first 12 characters are kept as a visible prefix.

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::Error;
use crate::roles::{Module, Role};

/// Longest token description, in bytes.
pub const MAX_DESCRIPTION: usize = 200;

/// A user, as the API shows one (never with a password hash).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserView {
    /// The user's name.
    pub username: String,
    /// The user's role.
    pub role: Role,
    /// A disabled user cannot sign in, and their tokens stop working.
    #[serde(default)]
    pub disabled: bool,
    /// When the user was created, Unix seconds.
    pub created_at: u64,
}

/// `POST /api/users`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateUser {
    /// 1 to 64 of `a-z 0-9 . _ -`.
    pub username: String,
    /// At least 12 characters.
    pub password: String,
    /// The user's role.
    pub role: Role,
}

/// `PATCH /api/users/:username`: any subset.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateUser {
    /// A new role.
    #[serde(default)]
    pub role: Option<Role>,
    /// Disable (true) or enable (false).
    #[serde(default)]
    pub disabled: Option<bool>,
    /// A new password (at least 12 characters).
    #[serde(default)]
    pub password: Option<String>,
}

/// A token's scope (seed 000).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TokenScope {
    /// Everything the creator's role allows (within the token's modules).
    #[default]
    #[serde(rename = "API")]
    Api,
    /// Only the agent endpoints; administrators only.
    Agent,
}

/// A token's status (seed 003).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TokenStatus {
    /// Accepted.
    Active,
    /// Refused until enabled again.
    Disabled,
    /// Refused for good; kept in the list as a record.
    Deleted,
}

/// An API token, as the API shows it: never the secret, never its hash.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiToken {
    /// The token's id.
    pub id: String,
    /// The secret's first 12 characters, to recognise it by.
    pub prefix: String,
    /// What it is for.
    pub description: String,
    /// `API` or `Agent`.
    pub scope: TokenScope,
    /// The modules it is restricted to; empty means every module its scope allows.
    pub modules: Vec<Module>,
    /// The user who created it (and whose role it acts with).
    pub created_by: String,
    /// When it was created, Unix seconds.
    pub created_at: u64,
    /// When it was last used (to within a minute), if ever.
    pub last_used_at: Option<u64>,
    /// Active, Disabled or Deleted.
    pub status: TokenStatus,
    /// When it stops working, if it expires (tokens do not by default).
    pub expires_at: Option<u64>,
}

/// `POST /api/tokens`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateToken {
    /// `API` (default) or `Agent`.
    #[serde(default)]
    pub scope: TokenScope,
    /// Optional description.
    #[serde(default)]
    pub description: String,
    /// Optional module restriction.
    #[serde(default)]
    pub modules: Vec<Module>,
    /// Optional expiry, Unix seconds; none by default.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(maximum = 253_402_300_799_u64))]
    pub expires_at: Option<u64>,
}

/// `PATCH /api/tokens/:id`: a new description, and/or enable or disable.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateToken {
    /// A new description.
    #[serde(default)]
    pub description: Option<String>,
    /// `Active` or `Disabled` (delete with `DELETE`).
    #[serde(default)]
    pub status: Option<TokenStatus>,
}

/// The answer to creating a token: the token and, this once, its secret.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedToken {
    /// The token.
    pub token: ApiToken,
    /// The secret. Shown now and never again.
    pub secret: String,
}

/// What the settings page shows about the vault access token: never its value.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VaultTokenInfo {
    /// Whether one exists.
    pub exists: bool,
    /// Its first 12 characters.
    pub prefix: Option<String>,
    /// When, and by whom, it was generated.
    pub created_at: Option<u64>,
    /// The administrator who generated it.
    pub created_by: Option<String>,
}

/// The answer to generating the vault access token: shown once.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GeneratedVaultToken {
    /// About the new token.
    pub info: VaultTokenInfo,
    /// The secret. Shown now and never again.
    pub secret: String,
}

/// Whether an actor with `actor` may change a user whose role is `target` into
/// `new_role` (`None`: no role change).
pub fn may_manage(actor: Role, target: Role, new_role: Option<Role>) -> Result<(), Error> {
    let touches_server_admin = target == Role::ServerAdmin || new_role == Some(Role::ServerAdmin);
    if touches_server_admin && actor != Role::ServerAdmin {
        return Err(Error::Forbidden(
            "only a server administrator manages server administrators",
        ));
    }
    Ok(())
}

/// Refuse a change that would leave no active server administrator.
///
/// `active_server_admins` counts active server administrators now, the target
/// included; `target_active_server_admin` says whether the target is one of them;
/// `stays` whether it still is after the change.
pub fn keeps_a_server_admin(
    active_server_admins: usize,
    target_active_server_admin: bool,
    stays: bool,
) -> Result<(), Error> {
    if target_active_server_admin && !stays && active_server_admins <= 1 {
        return Err(Error::Conflict(
            "the last active server administrator cannot be removed, disabled or demoted",
        ));
    }
    Ok(())
}

/// Check a token request's fields against `now`.
pub fn check_create_token(
    req: &CreateToken,
    may_admin_tokens: bool,
    now: u64,
) -> Result<(), Error> {
    if req.scope == TokenScope::Agent && !may_admin_tokens {
        return Err(Error::Forbidden("Agent tokens are for administrators"));
    }
    check_description(&req.description)?;
    if req
        .expires_at
        .is_some_and(|t| t <= now || t > crate::claims::MAX_TIMESTAMP)
    {
        return Err(Error::Invalid {
            field: "expires_at",
            message: "must be in the future, and no later than 9999-12-31".into(),
        });
    }
    Ok(())
}

/// Check a new description.
pub fn check_description(description: &str) -> Result<(), Error> {
    if description.len() > MAX_DESCRIPTION {
        return Err(Error::Invalid {
            field: "description",
            message: alloc::format!("is longer than {MAX_DESCRIPTION} bytes"),
        });
    }
    Ok(())
}

/// Apply an update to a token, as an actor who may (`may_admin_tokens`) or may not
/// administer tokens.
pub fn update_token(
    token: &mut ApiToken,
    update: UpdateToken,
    may_admin_tokens: bool,
) -> Result<(), Error> {
    if token.status == TokenStatus::Deleted {
        return Err(Error::Conflict("a deleted token cannot be changed"));
    }
    if let Some(description) = update.description {
        if token.scope == TokenScope::Agent && !may_admin_tokens {
            return Err(Error::Forbidden("only administrators edit an Agent token"));
        }
        check_description(&description)?;
        token.description = description;
    }
    match update.status {
        None => {}
        Some(TokenStatus::Deleted) => {
            return Err(Error::Invalid {
                field: "status",
                message: "must be Active or Disabled; delete with DELETE".into(),
            });
        }
        Some(status) => token.status = status,
    }
    Ok(())
}

/// An untagged token secret from 32 random bytes: `tsr_…` (or `tsv_…` for the vault
/// token), as made before tags; new ones are `DeploymentSecret::token_secret`'s.
pub fn new_secret(vault: bool, random: &[u8; 32]) -> String {
    let mut secret = String::from(if vault { "tsv_" } else { "tsr_" });
    secret.push_str(&crate::password::b64_encode(random));
    secret
}

/// The visible prefix of a secret.
pub fn secret_prefix(secret: &str) -> String {
    secret.chars().take(12).collect()
}

/// Whether `text` has the shape of a Tessera token secret (cheap pre-check before any
/// lookup).
pub fn looks_like_secret(text: &str) -> bool {
    (text.starts_with("tsr_") || text.starts_with("tsv_"))
        && (text.len() == 47 || text.len() == 69)
        && text[4..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Who looks at a token: the viewer's user id and role (none for the vault token), and
/// whether they hold `tokens:admin`.
#[derive(Debug, Clone, Copy)]
pub struct TokenViewer<'a> {
    /// The viewer's user id.
    pub user_id: Option<&'a str>,
    /// The viewer's role now.
    pub role: Option<Role>,
    /// Whether they hold `tokens:admin`.
    pub tokens_admin: bool,
}

/// Whether `viewer` may see and manage a token made by `creator_id` (whose role is
/// `creator_role`, `None` if they are gone): their own, or, with `tokens:admin`, one
/// whose creator they may manage (an administrator cannot touch a server
/// administrator's tokens). Anyone else is told the token does not exist.
pub fn may_see_token(
    viewer: TokenViewer<'_>,
    creator_id: &str,
    creator_role: Option<Role>,
) -> bool {
    if viewer.user_id == Some(creator_id) {
        return true;
    }
    match (viewer.role, viewer.tokens_admin) {
        (Some(role), true) => creator_role.is_none_or(|c| may_manage(role, c, None).is_ok()),
        _ => false,
    }
}

/// Whether the vault access token stands: it is the deployment's, but a person made it
/// and saw it once, so it stops when that administrator is disabled or deleted, or their
/// role no longer lets them manage it (`vault:write`) — as their API tokens do. Another
/// administrator generates a new one. `creator` is their role and whether they are
/// enabled, if they still exist.
pub fn vault_token_stands(creator: Option<(Role, bool)>) -> bool {
    creator.is_some_and(|(role, enabled)| enabled && role.allows(crate::Permission::VaultWrite))
}

/// Whether a console session stands at `now`: not expired, its user still enabled, and
/// their password unchanged since it began (`stamp_matches`).
pub fn session_stands(expires_at: u64, now: u64, user_enabled: bool, stamp_matches: bool) -> bool {
    expires_at > now && user_enabled && stamp_matches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vault_token_stands_while_its_creator_may_manage_it() {
        assert!(vault_token_stands(Some((Role::Admin, true))));
        assert!(!vault_token_stands(Some((Role::Admin, false))), "disabled");
        assert!(!vault_token_stands(None), "deleted");
        assert!(!vault_token_stands(Some((Role::Viewer, true))), "demoted");
    }

    #[test]
    fn only_server_admins_touch_server_admins() {
        assert!(may_manage(Role::Admin, Role::Editor, Some(Role::Viewer)).is_ok());
        assert!(may_manage(Role::Admin, Role::ServerAdmin, None).is_err());
        assert!(may_manage(Role::Admin, Role::Viewer, Some(Role::ServerAdmin)).is_err());
        assert!(may_manage(Role::ServerAdmin, Role::ServerAdmin, Some(Role::Viewer)).is_ok());
    }

    #[test]
    fn the_last_server_admin_stays() {
        assert!(keeps_a_server_admin(1, true, false).is_err());
        assert!(keeps_a_server_admin(2, true, false).is_ok());
        assert!(keeps_a_server_admin(1, true, true).is_ok());
        assert!(keeps_a_server_admin(1, false, false).is_ok());
    }

    #[test]
    fn token_rules() {
        let agent = CreateToken {
            scope: TokenScope::Agent,
            ..CreateToken::default()
        };
        assert!(matches!(
            check_create_token(&agent, false, 10),
            Err(Error::Forbidden(_))
        ));
        assert!(check_create_token(&agent, true, 10).is_ok());
        let expired = CreateToken {
            expires_at: Some(10),
            ..CreateToken::default()
        };
        assert!(matches!(
            check_create_token(&expired, true, 10),
            Err(Error::Invalid {
                field: "expires_at",
                ..
            })
        ));
        // Past 9999 (2^63 here, found by schemathesis): not exact in JavaScript.
        let far = CreateToken {
            expires_at: Some(1 << 63),
            ..CreateToken::default()
        };
        assert!(matches!(
            check_create_token(&far, true, 10),
            Err(Error::Invalid {
                field: "expires_at",
                ..
            })
        ));
        assert!(
            check_create_token(
                &CreateToken {
                    expires_at: Some(crate::claims::MAX_TIMESTAMP),
                    ..CreateToken::default()
                },
                true,
                10
            )
            .is_ok()
        );

        let mut token = ApiToken {
            id: "t".into(),
            prefix: "tsr_abcdefgh".into(),
            description: String::new(),
            scope: TokenScope::Agent,
            modules: Vec::new(),
            created_by: "a".into(),
            created_at: 1,
            last_used_at: None,
            status: TokenStatus::Active,
            expires_at: None,
        };
        let describe = UpdateToken {
            description: Some("x".into()),
            status: None,
        };
        assert!(update_token(&mut token, describe.clone(), false).is_err());
        assert!(update_token(&mut token, describe, true).is_ok());
        let disable = UpdateToken {
            description: None,
            status: Some(TokenStatus::Disabled),
        };
        assert!(update_token(&mut token, disable, false).is_ok());
        assert_eq!(token.status, TokenStatus::Disabled);
        token.status = TokenStatus::Deleted;
        let enable = UpdateToken {
            description: None,
            status: Some(TokenStatus::Active),
        };
        assert!(matches!(
            update_token(&mut token, enable, true),
            Err(Error::Conflict(_))
        ));
    }

    #[test]
    fn secrets_have_a_recognisable_shape() {
        let s = new_secret(false, &[7; 32]);
        assert!(s.starts_with("tsr_") && looks_like_secret(&s), "{s}");
        assert_eq!(secret_prefix(&s).len(), 12);
        assert!(looks_like_secret(&new_secret(true, &[7; 32])));
        assert!(!looks_like_secret("tsr_short"));
        assert!(!looks_like_secret(&alloc::format!("xxx_{}", &s[4..])));
    }

    #[test]
    fn scopes_and_statuses_use_the_seeds_words() {
        assert_eq!(
            serde_json::to_string(&TokenScope::Api).ok().as_deref(),
            Some("\"API\"")
        );
        assert_eq!(
            serde_json::to_string(&TokenScope::Agent).ok().as_deref(),
            Some("\"Agent\"")
        );
        assert_eq!(
            serde_json::to_string(&TokenStatus::Disabled)
                .ok()
                .as_deref(),
            Some("\"Disabled\"")
        );
    }

    #[test]
    fn tokens_are_seen_by_their_creator_and_admins_who_may_manage_them() {
        let me = TokenViewer {
            user_id: Some("u1"),
            role: Some(Role::Viewer),
            tokens_admin: false,
        };
        assert!(may_see_token(me, "u1", Some(Role::Viewer)));
        assert!(!may_see_token(me, "u2", Some(Role::Viewer)));
        let admin = TokenViewer {
            user_id: Some("a1"),
            role: Some(Role::Admin),
            tokens_admin: true,
        };
        assert!(may_see_token(admin, "u2", Some(Role::Viewer)));
        assert!(
            may_see_token(admin, "gone", None),
            "a deleted creator's token"
        );
        assert!(!may_see_token(admin, "s1", Some(Role::ServerAdmin)));
        let server = TokenViewer {
            role: Some(Role::ServerAdmin),
            ..admin
        };
        assert!(may_see_token(server, "s1", Some(Role::ServerAdmin)));
        let vault = TokenViewer {
            user_id: None,
            role: None,
            tokens_admin: true,
        };
        assert!(!may_see_token(vault, "u1", Some(Role::Viewer)));
    }

    #[test]
    fn a_session_stands_until_its_end_while_its_user_is_unchanged() {
        assert!(session_stands(101, 100, true, true));
        assert!(!session_stands(100, 100, true, true), "ends at its time");
        assert!(!session_stands(101, 100, false, true), "user disabled");
        assert!(!session_stands(101, 100, true, false), "password changed");
    }
}
