//! Roles, the `resource:action` permissions each one grants, and how the way a caller
//! signed in (password, API token, Agent token, vault token) narrows them.
//!
//! Every route names one permission. A caller passes when [`allows`] says so: the
//! role's grant, cut down by the credential. An API token acts with its creator's role
//! *at the time of use* (the worker loads the creator on every request), limited to its
//! modules if it has any, and never to make or change credentials; an Agent token only
//! reaches the agent endpoints; the vault access token reads license data and manages
//! seats, and nothing else. This table is the single source of
//! truth for who may do what; the README's table follows it.

#[cfg(feature = "openapi")]
use alloc::{string::String, vec::Vec};

/// A user's role, from most to least powerful.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Role {
    /// Everything, including the licensing endpoints of seed 004 and signing keys.
    ServerAdmin,
    /// Manages users, everyone's API tokens, the vault token, and licenses.
    Admin,
    /// Issues and revokes licenses.
    Editor,
    /// Reads licenses.
    Viewer,
}

/// A part of the API a token can be restricted to (seed 003's "modules"): the
/// resource half of a permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Module {
    /// Seed 004's applied-license endpoints.
    Licensing,
    /// Issued licenses.
    Licenses,
    /// Signing keys.
    Keys,
    /// Users.
    Users,
    /// API tokens.
    Tokens,
    /// The vault access token.
    Vault,
    /// Agent ingestion endpoints.
    Agent,
    /// Floating seats: the license vault's leases, blocks and products.
    Seats,
    /// The usage and denials reports.
    Reports,
    /// The audit log.
    Audit,
}

impl Module {
    /// Every module.
    pub const ALL: [Module; 10] = [
        Module::Licensing,
        Module::Licenses,
        Module::Keys,
        Module::Users,
        Module::Tokens,
        Module::Vault,
        Module::Agent,
        Module::Seats,
        Module::Reports,
        Module::Audit,
    ];

    /// The module's name, as in permissions.
    pub const fn as_str(self) -> &'static str {
        match self {
            Module::Licensing => "licensing",
            Module::Licenses => "licenses",
            Module::Keys => "keys",
            Module::Users => "users",
            Module::Tokens => "tokens",
            Module::Vault => "vault",
            Module::Agent => "agent",
            Module::Seats => "seats",
            Module::Reports => "reports",
            Module::Audit => "audit",
        }
    }
}

/// One thing a caller may do, written `resource:action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Permission {
    /// `GET /api/licensing/check`.
    LicensingRead,
    /// Apply or renew the applied license.
    LicensingWrite,
    /// Remove the applied license.
    LicensingDelete,
    /// Read issued licenses.
    LicensesRead,
    /// Issue and revoke licenses.
    LicensesWrite,
    /// List signing keys.
    KeysRead,
    /// Rotate signing keys.
    KeysWrite,
    /// List users.
    UsersRead,
    /// Create, edit, disable and delete users.
    UsersWrite,
    /// Manage one's own API tokens.
    TokensWrite,
    /// See and manage everyone's API tokens, and create Agent tokens.
    TokensAdmin,
    /// See whether a vault access token exists.
    VaultRead,
    /// Generate, regenerate and delete the vault access token.
    VaultWrite,
    /// Push data through the agent endpoints.
    AgentWrite,
    /// See who holds which seat, free and allocated seats, blocks.
    SeatsRead,
    /// Revoke seats, block and unblock users, disconnect and connect products.
    SeatsWrite,
    /// Read the usage and denials reports.
    ReportsRead,
    /// Read the audit log.
    AuditRead,
}

impl Permission {
    /// Every permission.
    pub const ALL: [Permission; 18] = [
        Permission::LicensingRead,
        Permission::LicensingWrite,
        Permission::LicensingDelete,
        Permission::LicensesRead,
        Permission::LicensesWrite,
        Permission::KeysRead,
        Permission::KeysWrite,
        Permission::UsersRead,
        Permission::UsersWrite,
        Permission::TokensWrite,
        Permission::TokensAdmin,
        Permission::VaultRead,
        Permission::VaultWrite,
        Permission::AgentWrite,
        Permission::SeatsRead,
        Permission::SeatsWrite,
        Permission::ReportsRead,
        Permission::AuditRead,
    ];

    /// The `resource:action` string.
    pub const fn as_str(self) -> &'static str {
        match self {
            Permission::LicensingRead => "licensing:read",
            Permission::LicensingWrite => "licensing:write",
            Permission::LicensingDelete => "licensing:delete",
            Permission::LicensesRead => "licenses:read",
            Permission::LicensesWrite => "licenses:write",
            Permission::KeysRead => "keys:read",
            Permission::KeysWrite => "keys:write",
            Permission::UsersRead => "users:read",
            Permission::UsersWrite => "users:write",
            Permission::TokensWrite => "tokens:write",
            Permission::TokensAdmin => "tokens:admin",
            Permission::VaultRead => "vault:read",
            Permission::VaultWrite => "vault:write",
            Permission::AgentWrite => "agent:write",
            Permission::SeatsRead => "seats:read",
            Permission::SeatsWrite => "seats:write",
            Permission::ReportsRead => "reports:read",
            Permission::AuditRead => "audit:read",
        }
    }

    /// Whether this permission makes or changes credentials (passwords, tokens, the
    /// vault token, the signing keys). Those need a password sign-in: a token, however
    /// broad, cannot mint a broader or longer-lived token, re-enable one, reset its
    /// creator's password or rotate the keys every license is checked with, so a module
    /// restriction or an expiry cannot be escaped.
    pub const fn manages_credentials(self) -> bool {
        matches!(
            self,
            Permission::UsersWrite
                | Permission::TokensWrite
                | Permission::TokensAdmin
                | Permission::VaultWrite
                | Permission::KeysWrite
        )
    }

    /// The module this permission belongs to.
    pub const fn module(self) -> Module {
        match self {
            Permission::LicensingRead
            | Permission::LicensingWrite
            | Permission::LicensingDelete => Module::Licensing,
            Permission::LicensesRead | Permission::LicensesWrite => Module::Licenses,
            Permission::KeysRead | Permission::KeysWrite => Module::Keys,
            Permission::UsersRead | Permission::UsersWrite => Module::Users,
            Permission::TokensWrite | Permission::TokensAdmin => Module::Tokens,
            Permission::VaultRead | Permission::VaultWrite => Module::Vault,
            Permission::AgentWrite => Module::Agent,
            Permission::SeatsRead | Permission::SeatsWrite => Module::Seats,
            Permission::ReportsRead => Module::Reports,
            Permission::AuditRead => Module::Audit,
        }
    }
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [Role::ServerAdmin, Role::Admin, Role::Editor, Role::Viewer];

    /// The role's name, as in JSON (`server_admin`, `admin`, `editor`, `viewer`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::ServerAdmin => "server_admin",
            Role::Admin => "admin",
            Role::Editor => "editor",
            Role::Viewer => "viewer",
        }
    }

    /// What this role may do.
    pub const fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Role::ServerAdmin => &Permission::ALL,
            Role::Admin => &[
                LicensesRead,
                LicensesWrite,
                KeysRead,
                UsersRead,
                UsersWrite,
                TokensWrite,
                TokensAdmin,
                VaultRead,
                VaultWrite,
                AgentWrite,
                SeatsRead,
                SeatsWrite,
                ReportsRead,
                AuditRead,
            ],
            Role::Editor => &[
                LicensesRead,
                LicensesWrite,
                KeysRead,
                TokensWrite,
                SeatsRead,
                SeatsWrite,
                ReportsRead,
            ],
            Role::Viewer => &[LicensesRead, KeysRead, TokensWrite, SeatsRead, ReportsRead],
        }
    }

    /// Whether this role grants `permission`.
    pub fn allows(self, permission: Permission) -> bool {
        self.permissions().contains(&permission)
    }
}

/// How a caller proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential<'a> {
    /// A user's password (Basic auth): the role, whole.
    Password,
    /// An `API`-scope token: the creator's role, within `modules` if any are listed.
    ApiToken {
        /// The modules the token is restricted to; empty means all.
        modules: &'a [Module],
    },
    /// An `Agent`-scope token: the agent endpoints only, and only if the creator's
    /// role still grants them.
    AgentToken {
        /// The modules the token is restricted to; empty means all.
        modules: &'a [Module],
    },
    /// The installation's vault access token (seeds 001/002): the key to the license
    /// vault — license data and seats.
    VaultToken,
}

/// Permissions the vault access token grants, whoever generated it: seeds 001/002's
/// "full access via the API to the license usage data" and its management (seats).
pub const VAULT_TOKEN_PERMISSIONS: [Permission; 4] = [
    Permission::LicensesRead,
    Permission::SeatsRead,
    Permission::SeatsWrite,
    Permission::ReportsRead,
];

/// Whether a caller with `role` (none for the vault token) signed in with `credential`
/// may use `permission`.
pub fn allows(role: Option<Role>, credential: Credential<'_>, permission: Permission) -> bool {
    let within = |modules: &[Module]| modules.is_empty() || modules.contains(&permission.module());
    match (credential, role) {
        (Credential::VaultToken, _) => VAULT_TOKEN_PERMISSIONS.contains(&permission),
        (_, None) => false,
        (Credential::Password, Some(role)) => role.allows(permission),
        (Credential::ApiToken { modules }, Some(role)) => {
            role.allows(permission) && within(modules) && !permission.manages_credentials()
        }
        (Credential::AgentToken { modules }, Some(role)) => {
            permission == Permission::AgentWrite && role.allows(permission) && within(modules)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "serde")]
    #[test]
    fn role_names_are_their_json() {
        for role in Role::ALL {
            let json = serde_json::to_string(&role).expect("serializes");
            assert_eq!(json, alloc::format!("\"{}\"", role.as_str()));
        }
    }

    #[test]
    fn only_server_admins_touch_the_applied_license_or_keys() {
        for p in [
            Permission::LicensingRead,
            Permission::LicensingWrite,
            Permission::LicensingDelete,
            Permission::KeysWrite,
        ] {
            let holders: alloc::vec::Vec<Role> =
                Role::ALL.into_iter().filter(|r| r.allows(p)).collect();
            assert_eq!(holders, [Role::ServerAdmin], "{}", p.as_str());
        }
    }

    #[test]
    fn roles_are_nested() {
        for pair in Role::ALL.windows(2) {
            for p in pair[1].permissions() {
                assert!(pair[0].allows(*p), "{:?} lacks {}", pair[0], p.as_str());
            }
        }
    }

    #[test]
    fn every_permission_is_granted_to_someone_and_named_by_its_module() {
        for p in Permission::ALL {
            assert!(Role::ServerAdmin.allows(p), "{}", p.as_str());
            assert!(
                p.as_str().starts_with(p.module().as_str()),
                "{}",
                p.as_str()
            );
        }
    }

    #[test]
    fn credentials_narrow_the_role() {
        use Permission::*;
        let admin = Some(Role::Admin);
        assert!(allows(admin, Credential::Password, UsersWrite));
        assert!(allows(
            admin,
            Credential::ApiToken { modules: &[] },
            UsersRead
        ));
        // Tokens never make or change credentials, whatever the role.
        for p in [UsersWrite, TokensWrite, TokensAdmin, VaultWrite, KeysWrite] {
            assert!(!allows(
                Some(Role::ServerAdmin),
                Credential::ApiToken { modules: &[] },
                p
            ));
        }
        let licenses_only = [Module::Licenses];
        assert!(allows(
            admin,
            Credential::ApiToken {
                modules: &licenses_only
            },
            LicensesWrite
        ));
        assert!(!allows(
            admin,
            Credential::ApiToken {
                modules: &licenses_only
            },
            UsersWrite
        ));
        assert!(allows(
            admin,
            Credential::AgentToken { modules: &[] },
            AgentWrite
        ));
        assert!(!allows(
            admin,
            Credential::AgentToken { modules: &[] },
            LicensesRead
        ));
        // A demoted creator's Agent token stops working.
        assert!(!allows(
            Some(Role::Editor),
            Credential::AgentToken { modules: &[] },
            AgentWrite
        ));
        assert!(allows(None, Credential::VaultToken, LicensesRead));
        assert!(allows(None, Credential::VaultToken, SeatsRead));
        assert!(allows(None, Credential::VaultToken, SeatsWrite));
        assert!(!allows(None, Credential::VaultToken, LicensesWrite));
        assert!(!allows(None, Credential::VaultToken, VaultWrite));
        assert!(!allows(None, Credential::Password, LicensesRead));
    }
}
