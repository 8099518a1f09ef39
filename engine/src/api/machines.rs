//! The machine routes' shapes: activating a node-locked license on an installation,
//! and the machines the vault lists.

use alloc::string::String;
#[cfg(feature = "openapi")]
use alloc::vec::Vec;

/// `POST /api/machines/activate`: the license to activate, and what the installation
/// says about itself (each optional, shown in the vault). The installation itself is the
/// key its DPoP proof is signed with.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivateRequest {
    /// The license token the app holds.
    pub license: String,
    /// A name for the machine (a host name, say).
    #[serde(default)]
    pub name: String,
    /// Its platform (`linux-x64`, say).
    #[serde(default)]
    pub platform: String,
    /// A fingerprint the app computes (a hashed hardware id), kept for the vendor's
    /// own checks.
    #[serde(default)]
    pub fingerprint: String,
}

/// One machine a license is activated on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MachineView {
    /// The machine id.
    pub id: String,
    /// The license.
    pub lid: String,
    /// The installation: the thumbprint of its key.
    pub thumbprint: String,
    /// The name it gave.
    pub name: String,
    /// The platform it gave.
    pub platform: String,
    /// When it was activated.
    pub activated_at: u64,
}

/// `POST /api/machines/activate`'s answer: the machine, and its machine token (`typ`
/// `machine+jwt`, bound to the installation's key) that the npm package checks offline.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActivateAnswer {
    /// The machine.
    pub machine: MachineView,
    /// The machine token.
    pub token: String,
}
