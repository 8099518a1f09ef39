//! The audit log: every change made through the API, newest first — who (and through
//! which token), what, which object, when and from where — with filters and a CSV
//! download of what is shown. For administrators (`audit:read`).

use leptos::prelude::*;

use crate::api;
use crate::components::error_box::ErrorBox;
use crate::components::grid::Grid;
use crate::components::signed_in::SignedIn;
use crate::components::time;

/// The audit log page.
#[component]
pub(crate) fn Audit() -> impl IntoView {
    view! {
        <SignedIn>
            <AuditInner />
        </SignedIn>
    }
}

#[component]
fn AuditInner() -> impl IntoView {
    let actor = RwSignal::new(String::new());
    let action = RwSignal::new(String::new());
    let query = Memo::new(move |_| {
        let mut q = String::from("limit=200");
        for (name, value) in [("actor", actor.get()), ("action", action.get())] {
            if !value.trim().is_empty() {
                q.push_str(&format!("&{name}={}", api::segment(value.trim())));
            }
        }
        q
    });
    let log = LocalResource::new(move || {
        let q = query.get();
        async move { api::audit_log(&q).await }
    });
    view! {
        <section class="card">
            <div class="heading">
                <h1>"Audit log"</h1>
                <a class="button secondary" data-testid="audit-csv" download=""
                    href=move || format!("/api/audit?{}&format=csv", query.get())>"Download CSV"</a>
            </div>
            <div class="filters">
                <label>"User"<input type="text" on:change=move |ev| actor.set(event_target_value(&ev)) /></label>
                <label>"Action"<input type="text" placeholder="e.g. license.issue" on:change=move |ev| action.set(event_target_value(&ev)) /></label>
            </div>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || log.get().map(|r| match r {
                    Ok(page) => {
                        let rows = page.items.into_iter().map(|e| {
                            let cells = vec![
                                time::format(e.at),
                                e.actor,
                                e.token_id.map_or(e.via, |id| format!("token {id}")),
                                e.action.clone(),
                                e.object.unwrap_or_default(),
                                e.address.unwrap_or_default(),
                            ];
                            (e.action, cells)
                        }).collect();
                        view! { <Grid testid="audit" head=&["Time", "User", "Via", "Action", "Object", "Address"] rows /> }.into_any()
                    }
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                })}
            </Transition>
        </section>
    }
}
