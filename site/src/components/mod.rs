//! Pieces shared by pages.

pub(crate) mod error_box;
