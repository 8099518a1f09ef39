//! One token's details page (seed 003): name, id and status, and the tabs General
//! (description; show, hide and copy the values), Modules, and Details (dates).

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use tessera_engine::{ApiToken, TokenScope, TokenStatus};

use crate::api;
use crate::components::copy_button::CopyButton;
use crate::components::error_box::ErrorBox;
use crate::components::signed_in::SignedIn;
use crate::components::time;

/// The token details page.
#[component]
pub(crate) fn TokenDetails() -> impl IntoView {
    view! {
        <SignedIn>
            <DetailsInner />
        </SignedIn>
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Tab {
    General,
    Modules,
    Details,
}

#[component]
fn DetailsInner() -> impl IntoView {
    let params = use_params_map();
    let token = LocalResource::new(move || {
        let id = params.read().get("id").unwrap_or_default();
        async move { api::token(&id).await }
    });
    view! {
        <p><a href="/tokens">"← API tokens"</a></p>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || token.get().map(|result| match result {
                Ok(t) => view! { <Details token=t /> }.into_any(),
                Err(e) => view! { <ErrorBox error=e /> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn Details(token: ApiToken) -> impl IntoView {
    let tab = RwSignal::new(Tab::General);
    let shown = RwSignal::new(false);
    let status = match token.status {
        TokenStatus::Active => "Active",
        TokenStatus::Disabled => "Disabled",
        TokenStatus::Deleted => "Deleted",
    };
    let scope = if token.scope == TokenScope::Agent {
        "Agent"
    } else {
        "API"
    };
    let tab_button = move |t: Tab, label: &'static str| {
        view! {
            <button
                role="tab"
                class=move || if tab.get() == t { "tab active" } else { "tab" }
                aria-selected=move || (tab.get() == t).to_string()
                on:click=move |_| tab.set(t)
            >
                {label}
            </button>
        }
    };
    let general = {
        let t = token.clone();
        move || {
            let values = [("Token id", t.id.clone()), ("Prefix", t.prefix.clone())];
            view! {
                <dl class="facts">
                    <dt>"Description"</dt><dd data-testid="details-description">{t.description.clone()}</dd>
                    {values.into_iter().map(|(label, value)| {
                        let masked = "•".repeat(value.chars().count().min(16));
                        let copy = value.clone();
                        view! {
                            <dt>{label}</dt>
                            <dd>
                                <code>{move || if shown.get() { value.clone() } else { masked.clone() }}</code>
                                " " <CopyButton value=copy />
                            </dd>
                        }
                    }).collect_view()}
                </dl>
                <button class="secondary" on:click=move |_| shown.update(|s| *s = !*s)>
                    {move || if shown.get() { "Hide values" } else { "Show values" }}
                </button>
                <p class="muted">"The secret itself was shown once, when the token was created."</p>
            }
        }
    };
    let modules = token.modules.clone();
    let details = {
        let t = token.clone();
        move || {
            view! {
                <dl class="facts">
                    <dt>"Created"</dt><dd>{time::format(t.created_at)}</dd>
                    <dt>"Created by"</dt><dd>{t.created_by.clone()}</dd>
                    <dt>"Last used"</dt><dd>{t.last_used_at.map_or_else(|| "Unknown".to_string(), time::format)}</dd>
                    <dt>"Expires"</dt><dd>{t.expires_at.map_or_else(|| "Never".to_string(), time::format)}</dd>
                </dl>
            }
        }
    };
    view! {
        <section class="card">
            <h1>{if token.description.is_empty() { "API token".to_string() } else { token.description.clone() }}</h1>
            <p>
                <code>{token.id.clone()}</code> " · " {scope} " · "
                <strong data-testid="details-status">{status}</strong>
            </p>
            <div role="tablist" class="tabs">
                {tab_button(Tab::General, "General")}
                {tab_button(Tab::Modules, "Modules")}
                {tab_button(Tab::Details, "Details")}
            </div>
            <div role="tabpanel" data-testid="tabpanel">
                {move || match tab.get() {
                    Tab::General => general.clone()().into_any(),
                    Tab::Modules => if modules.is_empty() {
                        view! { <p>"All modules its scope allows."</p> }.into_any()
                    } else {
                        view! { <ul>{modules.iter().map(|m| view! { <li>{m.as_str()}</li> }).collect_view()}</ul> }.into_any()
                    },
                    Tab::Details => details.clone()().into_any(),
                }}
            </div>
        </section>
    }
}
