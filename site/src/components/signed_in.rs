//! Pages that need a user render through this: it asks people to sign in first.

use leptos::prelude::*;

use crate::session::use_session;

/// Shows `children` when someone is signed in, else a link to sign in.
#[component]
pub(crate) fn SignedIn(children: ChildrenFn) -> impl IntoView {
    let session = use_session();
    view! {
        <Show
            when=move || session.with(Option::is_some)
            fallback=|| view! {
                <section class="card narrow">
                    <p>"Please " <a href="/sign-in">"sign in"</a> " first."</p>
                </section>
            }
        >
            {children()}
        </Show>
    }
}
