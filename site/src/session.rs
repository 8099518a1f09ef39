//! Who is signed in: Basic credentials kept in `sessionStorage` for this tab, and the
//! user's `/api/me` answer, shared with every page through Leptos context.
//!
//! The password never leaves the tab's session storage and the Authorization header;
//! signing out (or closing the tab) forgets it.

use base64::Engine as _;
use leptos::prelude::*;
use tessera_engine::api::Me;

const STORAGE_KEY: &str = "tessera.basic";

/// A signed-in user.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Session {
    /// The `Authorization` header value.
    pub(crate) authorization: String,
    pub(crate) me: Me,
}

/// The signed-in user, if any; provided at the app's root.
pub(crate) type SessionSignal = RwSignal<Option<Session>>;

/// The session signal from context.
pub(crate) fn use_session() -> SessionSignal {
    use_context::<SessionSignal>().unwrap_or_else(|| RwSignal::new(None))
}

/// The `Authorization` header for a username and password.
pub(crate) fn basic(username: &str, password: &str) -> String {
    let pair = format!("{username}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

fn storage() -> Option<web_sys::Storage> {
    window().session_storage().ok().flatten()
}

/// The stored header, if this tab signed in before a reload.
pub(crate) fn stored_authorization() -> Option<String> {
    storage()?.get_item(STORAGE_KEY).ok().flatten()
}

/// Remember the header for this tab.
pub(crate) fn remember(authorization: &str) {
    if let Some(s) = storage() {
        let _ = s.set_item(STORAGE_KEY, authorization);
    }
}

/// Forget the header.
pub(crate) fn forget() {
    if let Some(s) = storage() {
        let _ = s.remove_item(STORAGE_KEY);
    }
}

/// The current header, for API calls ("" when signed out: the API answers 401).
pub(crate) fn authorization() -> String {
    use_session()
        .get_untracked()
        .map(|s| s.authorization)
        .unwrap_or_default()
}

/// Whether the signed-in caller has `permission` (`resource:action`).
pub(crate) fn may(permission: &str) -> bool {
    use_session()
        .get_untracked()
        .is_some_and(|s| s.me.permissions.iter().any(|p| p == permission))
}
