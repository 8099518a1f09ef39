//! Roles and the `resource:action` permissions each one grants.
//!
//! Every route names one permission; a caller passes when their role grants it. The
//! table here is the single source of truth for who may do what, and the README's
//! permission table is generated from the same data by a test.

/// A user's role, from most to least powerful.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Role {
    /// Everything, including the licensing endpoints of seed 004 and signing keys.
    ServerAdmin,
    /// Manages users and licences.
    Admin,
    /// Issues and revokes licences.
    Editor,
    /// Reads licences.
    Viewer,
}

/// One thing a caller may do, written `resource:action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Permission {
    /// `GET /api/licensing/check`.
    LicensingRead,
    /// Apply or renew the applied licence.
    LicensingWrite,
    /// Remove the applied licence.
    LicensingDelete,
    /// Read issued licences.
    LicensesRead,
    /// Issue and revoke licences.
    LicensesWrite,
    /// List signing keys.
    KeysRead,
    /// Rotate signing keys.
    KeysWrite,
    /// List users.
    UsersRead,
    /// Create users.
    UsersWrite,
}

impl Permission {
    /// Every permission.
    pub const ALL: [Permission; 9] = [
        Permission::LicensingRead,
        Permission::LicensingWrite,
        Permission::LicensingDelete,
        Permission::LicensesRead,
        Permission::LicensesWrite,
        Permission::KeysRead,
        Permission::KeysWrite,
        Permission::UsersRead,
        Permission::UsersWrite,
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
        }
    }
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [Role::ServerAdmin, Role::Admin, Role::Editor, Role::Viewer];

    /// What this role may do.
    pub const fn permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Role::ServerAdmin => &Permission::ALL,
            Role::Admin => &[LicensesRead, LicensesWrite, KeysRead, UsersRead, UsersWrite],
            Role::Editor => &[LicensesRead, LicensesWrite, KeysRead],
            Role::Viewer => &[LicensesRead, KeysRead],
        }
    }

    /// Whether this role grants `permission`.
    pub fn allows(self, permission: Permission) -> bool {
        self.permissions().contains(&permission)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_server_admins_touch_the_applied_licence_or_keys() {
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
    fn every_permission_is_granted_to_someone() {
        for p in Permission::ALL {
            assert!(Role::ServerAdmin.allows(p), "{}", p.as_str());
        }
    }
}
