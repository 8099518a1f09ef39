//! One module per route; each owns its request and response types and its handler.

pub(crate) mod health;
