//! Licenses: issue one (a form), list them, revoke one.

use leptos::prelude::*;
use tessera_engine::{IssueRequest, LicenseRecord, LicenseState};

use crate::api::{self, ApiError};
use crate::components::error_box::ErrorBox;
use crate::components::modal::confirmed;
use crate::components::signed_in::SignedIn;
use crate::components::time;

/// The licenses page.
#[component]
pub(crate) fn Licenses() -> impl IntoView {
    view! {
        <SignedIn>
            <LicensesInner />
        </SignedIn>
    }
}

#[component]
fn LicensesInner() -> impl IntoView {
    let issue = Action::new_local(|request: &IssueRequest| {
        let request = request.clone();
        async move { api::issue(&request).await }
    });
    let revoke = Action::new_local(|lid: &String| {
        let lid = lid.clone();
        async move { api::revoke(&lid).await }
    });
    let list = LocalResource::new(move || {
        issue.version().get();
        revoke.version().get();
        async move { api::licenses().await }
    });
    view! {
        <IssueForm issue />
        {move || issue.value().get().map(|result| match result {
            Ok(record) => view! { <Issued record /> }.into_any(),
            Err(e) => view! { <ErrorBox error=e /> }.into_any(),
        })}
        {move || revoke.value().get().and_then(Result::err).map(|e| view! { <ErrorBox error=e /> })}
        <section class="card">
            <h1>"Licenses"</h1>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || list.get().map(|result| match result {
                    Ok(page) => view! {
                        <LicenseTable records=page.items revoke />
                        {page.next_cursor.map(|_| view! { <p class="muted">"The first 1,000 licenses; the API lists them all, a page at a time."</p> })}
                    }.into_any(),
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn IssueForm(issue: Action<IssueRequest, Result<LicenseRecord, ApiError>>) -> impl IntoView {
    let company = RwSignal::new(String::new());
    let account = RwSignal::new(String::new());
    let instance = RwSignal::new(
        window()
            .location()
            .origin()
            .map(|o| format!("{o}/"))
            .unwrap_or_default(),
    );
    let products = RwSignal::new(String::from("tessera-pro"));
    let expires = RwSignal::new(String::new());
    let users = RwSignal::new(String::from("10"));
    let token_days = RwSignal::new(String::from("30"));
    let lease_minutes = RwSignal::new(String::from("20"));
    let per_user = RwSignal::new(String::from("1"));
    let machines = RwSignal::new(String::from("0"));
    let per_day = RwSignal::new(String::from("10"));
    let trial = RwSignal::new(false);
    let local_error = RwSignal::new(None::<ApiError>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let field = |name: &str, message: &str| {
            Some(ApiError {
                code: "INVALID_FIELD".into(),
                message: format!("{name} {message}"),
            })
        };
        let Some(expires_at) = time::end_of_day(&expires.get_untracked()) else {
            local_error.set(field("Expires", "needs a date"));
            return;
        };
        let Ok(included_users) = users.get_untracked().trim().parse() else {
            local_error.set(field("Included users", "must be a whole number"));
            return;
        };
        let Ok(days) = token_days.get_untracked().trim().parse() else {
            local_error.set(field("Token days", "must be a whole number"));
            return;
        };
        let Ok(lease_minutes) = lease_minutes.get_untracked().trim().parse::<u32>() else {
            local_error.set(field("Seat lease (minutes)", "must be a whole number"));
            return;
        };
        let whole = |signal: RwSignal<String>| signal.get_untracked().trim().parse::<u32>();
        let (Ok(per_user), Ok(machines), Ok(per_day)) =
            (whole(per_user), whole(machines), whole(per_day))
        else {
            local_error.set(field(
                "Machines per user, node-locked machines and activations per day",
                "must be whole numbers",
            ));
            return;
        };
        local_error.set(None);
        let request = IssueRequest {
            company: company.get_untracked(),
            account: account.get_untracked(),
            slug: String::new(),
            instance: instance.get_untracked(),
            products: products
                .get_untracked()
                .split(',')
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect(),
            expires_at,
            token_days: days,
            included_users,
            limit_by: "users".into(),
            lic_exp_warn_days: 30,
            tok_exp_warn_days: 2,
            update_days: 1,
            usage_billing: false,
            max_concurrent_user_sessions: per_user,
            max_machines: machines,
            max_activations_per_day: per_day,
            details_url: String::new(),
            trial: trial.get_untracked(),
            trial_exp: 0,
            anonymous_ratio: 0,
            lease_seconds: lease_minutes.saturating_mul(60),
        };
        issue.dispatch(request);
    };
    view! {
        <section class="card">
            <h1>"Issue a license"</h1>
            <form class="grid" on:submit=submit data-testid="issue-form">
                <label>"Company" <input name="company" bind:value=company required /></label>
                <label>"Account" <input name="account" bind:value=account /></label>
                <label>"Instance URL" <input name="instance" bind:value=instance required /></label>
                <label>"Products (comma-separated)" <input name="products" bind:value=products required /></label>
                <label>"Expires" <input name="expires" type="date" bind:value=expires required /></label>
                <label>"Included users" <input name="included_users" inputmode="numeric" bind:value=users /></label>
                <label>"Token days" <input name="token_days" inputmode="numeric" bind:value=token_days /></label>
                <label>"Seat lease (minutes)" <input name="lease_minutes" inputmode="numeric" bind:value=lease_minutes /></label>
                <label title="0: any number">"Machines per user" <input name="max_concurrent_user_sessions" inputmode="numeric" bind:value=per_user /></label>
                <label title="0: not node-locked">"Node-locked machines" <input name="max_machines" inputmode="numeric" bind:value=machines /></label>
                <label title="0: no limit">"Activations per day" <input name="max_activations_per_day" inputmode="numeric" bind:value=per_day /></label>
                <label class="check"><input name="trial" type="checkbox" bind:checked=trial /> "Trial"</label>
                <button type="submit" disabled=move || issue.pending().get()>"Issue license"</button>
            </form>
            {move || local_error.get().map(|e| view! { <ErrorBox error=e /> })}
        </section>
    }
}

#[component]
fn Issued(record: LicenseRecord) -> impl IntoView {
    view! {
        <section class="card ok-card" data-testid="issued">
            <h1>"License issued"</h1>
            <p>"License " <code data-testid="issued-lid">{record.lid}</code> " for " {record.claims.company} ". Its token:"</p>
            <textarea readonly rows="4" data-testid="issued-token">{record.token}</textarea>
        </section>
    }
}

#[component]
fn LicenseTable(
    records: Vec<LicenseRecord>,
    revoke: Action<String, Result<LicenseRecord, ApiError>>,
) -> impl IntoView {
    if records.is_empty() {
        return view! { <p class="muted" data-testid="no-licenses">"No licenses yet."</p> }
            .into_any();
    }
    let rows = records
        .into_iter()
        .map(|r| {
            let lid = r.lid.clone();
            let revoked = r.state == LicenseState::Revoked;
            let confirm_revoke = move |_| {
                if confirmed(&format!(
                    "Revoke license {lid}? Instances using it stop being licensed."
                )) {
                    revoke.dispatch(lid.clone());
                }
            };
            view! {
                <tr data-lid=r.lid.clone()>
                    <td><code>{r.lid.clone()}</code></td>
                    <td>{r.claims.company.clone()}</td>
                    <td>{r.claims.sub.clone()}</td>
                    <td>{r.claims.prod.join(", ")}</td>
                    <td>{time::format(r.claims.lexp)}</td>
                    <td data-testid="state">{if revoked { "revoked" } else { "active" }}</td>
                    <td>
                        <a href=format!("/licenses/{}/machines", r.lid) data-testid="machines-link">"Machines"</a>
                        " "
                        <Show when=move || !revoked>
                            <button class="danger" on:click=confirm_revoke.clone()>"Revoke"</button>
                        </Show>
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table data-testid="licenses">
            <thead><tr><th>"License"</th><th>"Company"</th><th>"Instance"</th><th>"Products"</th><th>"Expires"</th><th>"State"</th><th></th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}
