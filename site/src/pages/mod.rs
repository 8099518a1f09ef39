//! One page per file.

pub(crate) mod audit;
pub(crate) mod home;
pub(crate) mod licenses;
pub(crate) mod licensing;
pub(crate) mod machines;
pub(crate) mod not_found;
pub(crate) mod reports;
pub(crate) mod settings;
pub(crate) mod sign_in;
pub(crate) mod token_details;
pub(crate) mod tokens;
pub(crate) mod users;
pub(crate) mod vault;
