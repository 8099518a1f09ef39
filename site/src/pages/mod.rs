//! One page per file.

pub(crate) mod home;
pub(crate) mod not_found;
