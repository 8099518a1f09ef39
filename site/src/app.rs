//! The router and the page frame.

use leptos::prelude::*;
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::path;

use crate::pages::{home::Home, not_found::NotFound};

/// The whole console.
#[component]
pub(crate) fn App() -> impl IntoView {
    view! {
        <Router>
            <header class="topbar">
                <A href="/">"Tessera"</A>
                <span class="tagline">"licensing, at the edge"</span>
            </header>
            <main>
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=Home />
                </Routes>
            </main>
        </Router>
    }
}
