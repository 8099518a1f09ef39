//! A license's machines and installation limits: how many machines one user may hold
//! it from, whether it is node-locked and on which machines, the day's activation limit
//! — and deactivating a machine (its seats end at once).

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;
use tessera_engine::api::{LicensePool, MachineView, Page};

use crate::api::{self, ApiError};
use crate::components::error_box::ErrorBox;
use crate::components::modal::confirmed;
use crate::components::signed_in::SignedIn;
use crate::components::time;

/// The machines page, `/licenses/:lid/machines`.
#[component]
pub(crate) fn Machines() -> impl IntoView {
    view! {
        <SignedIn>
            <MachinesInner />
        </SignedIn>
    }
}

#[component]
fn MachinesInner() -> impl IntoView {
    let params = use_params_map();
    let lid = move || params.read().get("lid").unwrap_or_default();
    let deactivate = Action::new_local(|id: &String| {
        let id = id.clone();
        async move { api::deactivate_machine(&id).await }
    });
    let data = LocalResource::new(move || {
        let lid = lid();
        let _ = deactivate.version().get();
        async move {
            Ok::<_, ApiError>((
                api::vault_license(&lid).await?,
                api::license_machines(&lid).await?,
            ))
        }
    });
    view! {
        <p><a href="/licenses">"← Licenses"</a></p>
        {move || deactivate.value().get().and_then(Result::err).map(|e| view! { <ErrorBox error=e /> })}
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || data.get().map(|result| match result {
                Ok((pool, machines)) => view! { <Limits pool=pool /> <MachineTable page=machines deactivate=deactivate /> }.into_any(),
                Err(e) => view! { <ErrorBox error=e /> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn Limits(pool: LicensePool) -> impl IntoView {
    let any = |n: u32, none: &'static str| match n {
        0 => none.to_string(),
        n => n.to_string(),
    };
    view! {
        <section class="card">
            <h1>"Machines of " <code>{pool.lid.clone()}</code></h1>
            <dl class="facts" data-testid="limits">
                <dt>"Company"</dt><dd>{pool.company.clone()}</dd>
                <dt>"Machines per user"</dt><dd data-testid="max-sessions">{any(pool.max_sessions, "any number")}</dd>
                <dt>"Node-locked machines"</dt><dd data-testid="max-machines">{any(pool.max_machines, "not node-locked")}</dd>
                <dt>"Activations per day"</dt><dd>{any(pool.activations_per_day, "no limit")}</dd>
                <dt>"Active machines"</dt><dd data-testid="machine-count">{pool.machines}</dd>
                <dt>"Denials not logged today"</dt><dd>{pool.denials_suppressed_today}</dd>
            </dl>
        </section>
    }
}

#[component]
fn MachineTable(
    page: Page<MachineView>,
    deactivate: Action<String, Result<MachineView, ApiError>>,
) -> impl IntoView {
    if page.items.is_empty() {
        return view! { <p class="muted" data-testid="no-machines">"No machine is activated."</p> }
            .into_any();
    }
    let rows = page
        .items
        .into_iter()
        .map(|m| {
            let id = m.id.clone();
            let confirm = move |_| {
                if confirmed(&format!("Deactivate machine {id}? Its seats end now.")) {
                    deactivate.dispatch(id.clone());
                }
            };
            view! {
                <tr data-machine=m.id.clone()>
                    <td>{m.name.clone()}</td>
                    <td>{m.platform.clone()}</td>
                    <td><code title=m.thumbprint.clone()>{m.thumbprint.chars().take(12).collect::<String>()}"…"</code></td>
                    <td>{time::format(m.activated_at)}</td>
                    <td><button class="danger" on:click=confirm>"Deactivate"</button></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table data-testid="machines">
            <thead><tr><th>"Name"</th><th>"Platform"</th><th>"Installation"</th><th>"Activated"</th><th></th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}
