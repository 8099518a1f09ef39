//! The page for a path the console does not know.

use leptos::prelude::*;

/// Shown for unknown client-side routes.
#[component]
pub(crate) fn NotFound() -> impl IntoView {
    view! {
        <section class="card">
            <h1>"Not found"</h1>
            <p>"There is no page here. " <a href="/">"Back to the overview"</a></p>
        </section>
    }
}
