//! Sign-in: exchanges a username and password for a session (`POST /api/session`).

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use crate::api;
use crate::components::error_box::ErrorBox;
use crate::session::{Session, use_session};

/// The sign-in form.
#[component]
pub(crate) fn SignIn() -> impl IntoView {
    let session = use_session();
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let navigate = use_navigate();
    let sign_in = Action::new_local(move |(user, pass): &(String, String)| {
        let (user, pass) = (user.clone(), pass.clone());
        async move {
            let me = api::sign_in(&user, &pass).await?;
            Ok::<_, api::ApiError>(Session { me })
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(s)) = sign_in.value().get() {
            password.set(String::new());
            session.set(Some(s));
            navigate("/licenses", Default::default());
        }
    });
    view! {
        <section class="card narrow">
            <h1>"Sign in"</h1>
            <form on:submit=move |ev| {
                ev.prevent_default();
                sign_in.dispatch((username.get_untracked(), password.get_untracked()));
            }>
                <label>"Username" <input name="username" autocomplete="username" bind:value=username required /></label>
                <label>"Password" <input name="password" type="password" autocomplete="current-password" bind:value=password required /></label>
                <button type="submit" disabled=move || sign_in.pending().get()>"Sign in"</button>
            </form>
            {move || sign_in.value().get().and_then(Result::err).map(|e| view! { <ErrorBox error=e /> })}
        </section>
    }
}
