//! Settings: the vault access token (seeds 001/002). Generate it (shown once, with a
//! copy button); once one exists, "Generate new token" and "Delete token", each
//! confirmed in a dialog. The page shows whether one exists, never its value. Below it,
//! the License Vault API section links the API specification (Swagger UI, `/swagger/`).

use leptos::prelude::*;
use tessera_engine::{GeneratedVaultToken, VaultTokenInfo};

use crate::api;
use crate::components::error_box::ErrorBox;
use crate::components::modal::{Confirm, ShowOnce};
use crate::components::signed_in::SignedIn;
use crate::components::time;
use crate::session;

/// The settings page.
#[component]
pub(crate) fn Settings() -> impl IntoView {
    view! {
        <SignedIn>
            <section class="card">
                <h1>"API access token"</h1>
                {if session::may("vault:write") {
                    view! { <VaultToken /> }.into_any()
                } else {
                    view! { <p class="muted">"Only administrators manage the API access token."</p> }.into_any()
                }}
            </section>
            <section class="card">
                <h2>"License Vault API"</h2>
                // Full page loads (rel=external): the router must not take these.
                <p>
                    <a href="/swagger/" rel="external">"API specification"</a>
                    " (Swagger UI; the "
                    <a href="/api/openapi.json" rel="external">"OpenAPI document"</a>
                    ")"
                </p>
            </section>
        </SignedIn>
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Asking {
    Nothing,
    Regenerate,
    Delete,
}

#[component]
fn VaultToken() -> impl IntoView {
    let asking = RwSignal::new(Asking::Nothing);
    let shown = RwSignal::new(None::<GeneratedVaultToken>);
    let generate = Action::new_local(move |_: &()| async move {
        let result = api::generate_vault().await;
        if let Ok(g) = &result {
            shown.set(Some(g.clone()));
        }
        result.map(|_| ())
    });
    let delete = Action::new_local(|_: &()| async move { api::delete_vault().await.map(|_| ()) });
    let info = LocalResource::new(move || {
        generate.version().get();
        delete.version().get();
        async move { api::vault().await }
    });
    let describe = |i: &VaultTokenInfo| {
        format!(
            "A token exists: {}…, generated {} by {}.",
            i.prefix.clone().unwrap_or_default(),
            time::format(i.created_at.unwrap_or(0)),
            i.created_by.clone().unwrap_or_default()
        )
    };
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || info.get().map(|result| match result {
                Ok(i) if i.exists => view! {
                    <p data-testid="vault-status">{describe(&i)}</p>
                    <div class="actions">
                        <button on:click=move |_| asking.set(Asking::Regenerate)>"Generate new token"</button>
                        <button class="danger" on:click=move |_| asking.set(Asking::Delete)>"Delete token"</button>
                    </div>
                }.into_any(),
                Ok(_) => view! {
                    <p data-testid="vault-status">"No API access token has been generated."</p>
                    <button on:click=move |_| { generate.dispatch(()); }>"Generate token"</button>
                }.into_any(),
                Err(e) => view! { <ErrorBox error=e /> }.into_any(),
            })}
        </Transition>
        {move || generate.value().get().and_then(Result::err).map(|e| view! { <ErrorBox error=e /> })}
        {move || delete.value().get().and_then(Result::err).map(|e| view! { <ErrorBox error=e /> })}
        {move || match asking.get() {
            Asking::Nothing => None,
            Asking::Regenerate => Some(view! {
                <Confirm
                    title="Generate new token".to_string()
                    message="The current token stops working at once; anything using it must get the new one.".to_string()
                    confirm="Generate new token".to_string()
                    on_confirm=Callback::new(move |()| { asking.set(Asking::Nothing); generate.dispatch(()); })
                    on_cancel=Callback::new(move |()| asking.set(Asking::Nothing))
                />
            }.into_any()),
            Asking::Delete => Some(view! {
                <Confirm
                    title="Delete token".to_string()
                    message="The token stops working at once.".to_string()
                    confirm="Delete token".to_string()
                    on_confirm=Callback::new(move |()| { asking.set(Asking::Nothing); delete.dispatch(()); })
                    on_cancel=Callback::new(move |()| asking.set(Asking::Nothing))
                />
            }.into_any()),
        }}
        {move || shown.get().map(|g| view! {
            <ShowOnce
                title="API access token".to_string()
                secret=g.secret
                on_close=Callback::new(move |()| shown.set(None))
            />
        })}
    }
}
