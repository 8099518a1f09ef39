//! The applied license (seed 004): its status, claims and warnings; apply a pasted
//! token, renew, remove.

use leptos::prelude::*;
use tessera_engine::AppliedView;

use crate::api;
use crate::components::claims_table::{ClaimsTable, Warnings};
use crate::components::error_box::ErrorBox;
use crate::components::modal::confirmed;
use crate::components::signed_in::SignedIn;
use crate::components::time;

/// The applied-license page.
#[component]
pub(crate) fn Licensing() -> impl IntoView {
    view! {
        <SignedIn>
            <LicensingInner />
        </SignedIn>
    }
}

#[component]
fn LicensingInner() -> impl IntoView {
    let token = RwSignal::new(String::new());
    // The outcome of the latest action, success or error, whichever action it was.
    let outcome = RwSignal::new(None::<Result<&'static str, api::ApiError>>);
    let report = move |result: Result<&'static str, api::ApiError>| {
        outcome.set(Some(result.clone()));
        result
    };
    let apply = Action::new_local(move |token: &String| {
        let token = token.clone();
        async move { report(api::apply(token).await.map(|_| "License applied.")) }
    });
    let renew = Action::new_local(move |_: &()| async move {
        report(
            api::renew()
                .await
                .map(|_| "License renewed: a fresh token is applied."),
        )
    });
    let remove = Action::new_local(move |instance: &String| {
        let instance = instance.clone();
        async move { report(api::remove(instance).await.map(|_| "License removed.")) }
    });
    let applied = LocalResource::new(move || {
        apply.version().get();
        renew.version().get();
        remove.version().get();
        async move { api::applied().await }
    });
    Effect::new(move |_| {
        if matches!(apply.value().get(), Some(Ok(_))) {
            token.set(String::new());
        }
    });
    view! {
        <section class="card">
            <h1>"Applied license"</h1>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || applied.get().map(|result| match result {
                    Ok(Some(view)) => view! { <AppliedCard view renew remove /> }.into_any(),
                    Ok(None) => view! { <p data-testid="license-status" class="muted">"No license is applied."</p> }.into_any(),
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                })}
            </Transition>
            {move || outcome.get().map(|r| match r {
                Ok(message) => view! { <p class="notice" data-testid="notice">{message}</p> }.into_any(),
                Err(e) => view! { <ErrorBox error=e /> }.into_any(),
            })}
        </section>
        <section class="card">
            <h1>"Apply a license"</h1>
            <form on:submit=move |ev| {
                ev.prevent_default();
                apply.dispatch(token.get_untracked().trim().to_string());
            }>
                <label>"License token" <textarea name="token" rows="4" bind:value=token required></textarea></label>
                <button type="submit" disabled=move || apply.pending().get()>"Apply"</button>
            </form>
        </section>
    }
}

#[component]
fn AppliedCard(
    view: AppliedView,
    renew: Action<(), Result<&'static str, api::ApiError>>,
    remove: Action<String, Result<&'static str, api::ApiError>>,
) -> impl IntoView {
    let instance = view.instance.clone();
    let status = if view.valid {
        "valid".to_string()
    } else {
        format!(
            "not valid: {}",
            view.code.map(|c| c.as_str()).unwrap_or("UNKNOWN")
        )
    };
    let confirm_remove = move |_| {
        if confirmed(&format!("Remove the license applied to {instance}?")) {
            remove.dispatch(instance.clone());
        }
    };
    view! {
        <p>
            "Instance " <code>{view.instance.clone()}</code> ": "
            <strong data-testid="license-status" class=if view.valid { "ok" } else { "bad" }>{status}</strong>
        </p>
        <p class="muted">"Applied " {time::format(view.applied_at)} " by " {view.applied_by}</p>
        {(!view.warnings.is_empty()).then(|| view! { <Warnings warnings=view.warnings.clone() /> })}
        {view.claims.map(|claims| view! { <ClaimsTable claims /> })}
        <div class="actions">
            <button on:click=move |_| { renew.dispatch(()); } disabled=move || renew.pending().get()>"Renew"</button>
            <button class="danger" on:click=confirm_remove>"Remove"</button>
        </div>
    }
}
