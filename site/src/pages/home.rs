//! The overview: the API's health, read from `GET /api/health`.

use leptos::prelude::*;

use crate::api;
use crate::components::error_box::ErrorBox;
use crate::components::time;

/// The console's first page.
#[component]
pub(crate) fn Home() -> impl IntoView {
    let health = LocalResource::new(api::health);
    view! {
        <section class="card">
            <h1>"API health"</h1>
            <Transition fallback=|| view! { <p class="muted">"Checking the API…"</p> }>
                {move || {
                    health
                        .get()
                        .map(|result| match result {
                            Ok(h) => {
                                view! {
                                    <dl class="facts" data-testid="health">
                                        <dt>"Status"</dt>
                                        <dd data-testid="health-status" class="ok">{h.status}</dd>
                                        <dt>"Version"</dt>
                                        <dd data-testid="health-version">{h.version}</dd>
                                        <dt>"KV"</dt>
                                        <dd data-testid="health-kv">
                                            {if h.kv { "reachable" } else { "unreachable" }}
                                        </dd>
                                        <dt>"Server time"</dt>
                                        <dd data-testid="health-time">{time::format(h.time)}</dd>
                                    </dl>
                                }
                                    .into_any()
                            }
                            Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                        })
                }}
            </Transition>
        </section>
    }
}
