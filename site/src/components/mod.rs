//! Pieces shared by pages.

pub(crate) mod claims_table;
pub(crate) mod copy_button;
pub(crate) mod error_box;
pub(crate) mod grid;
pub(crate) mod modal;
pub(crate) mod signed_in;
pub(crate) mod time;
