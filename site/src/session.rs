//! Who is signed in: the user's `/api/me` answer, shared with every page through Leptos
//! context.
//!
//! The console never holds a credential. Signing in posts the password once to
//! `POST /api/session`, which answers with an `HttpOnly` session cookie that page
//! scripts cannot read; the browser sends it with every API call. Signing out ends the
//! session on the server. A reload asks `GET /api/me` whether the session still stands.

use leptos::prelude::*;
use tessera_engine::api::Me;

/// A signed-in user.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Session {
    pub(crate) me: Me,
}

/// The signed-in user, if any; provided at the app's root.
pub(crate) type SessionSignal = RwSignal<Option<Session>>;

/// The session signal from context.
pub(crate) fn use_session() -> SessionSignal {
    use_context::<SessionSignal>().unwrap_or_else(|| RwSignal::new(None))
}

/// Whether the signed-in caller has `permission` (`resource:action`).
pub(crate) fn may(permission: &str) -> bool {
    use_session()
        .get_untracked()
        .is_some_and(|s| s.me.permissions.iter().any(|p| p == permission))
}
