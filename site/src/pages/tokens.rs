//! API tokens (seeds 000, 003): the grid (token, description, creation date, last used,
//! status, modules, actions), the create dialog (scope, description, modules), and the
//! show-once dialog with a copy button.

use leptos::prelude::*;
use tessera_engine::{
    ApiToken, CreateToken, CreatedToken, Module, TokenScope, TokenStatus, UpdateToken,
};

use crate::api::{self, ApiError};
use crate::components::error_box::ErrorBox;
use crate::components::modal::{Modal, ShowOnce, confirmed};
use crate::components::signed_in::SignedIn;
use crate::components::time;
use crate::session;

/// The API tokens page.
#[component]
pub(crate) fn Tokens() -> impl IntoView {
    view! {
        <SignedIn>
            <TokensInner />
        </SignedIn>
    }
}

/// A change to one token from the grid.
#[derive(Clone)]
enum Change {
    Describe(String, String),
    Status(String, TokenStatus),
    Delete(String),
}

#[component]
fn TokensInner() -> impl IntoView {
    let admin = session::may("tokens:admin");
    let all = RwSignal::new(false);
    let creating = RwSignal::new(false);
    let created = RwSignal::new(None::<CreatedToken>);
    let create = Action::new_local(move |request: &CreateToken| {
        let request = request.clone();
        async move {
            let result = api::create_token(&request).await;
            if let Ok(token) = &result {
                creating.set(false);
                created.set(Some(token.clone()));
            }
            result.map(|_| ())
        }
    });
    let change = Action::new_local(|change: &Change| {
        let change = change.clone();
        async move {
            match change {
                Change::Describe(id, description) => {
                    let update = UpdateToken {
                        description: Some(description),
                        status: None,
                    };
                    api::update_token(&id, &update).await.map(|_| ())
                }
                Change::Status(id, status) => {
                    let update = UpdateToken {
                        description: None,
                        status: Some(status),
                    };
                    api::update_token(&id, &update).await.map(|_| ())
                }
                Change::Delete(id) => api::delete_token(&id).await.map(|_| ()),
            }
        }
    });
    let list = LocalResource::new(move || {
        let everyone = all.get();
        create.version().get();
        change.version().get();
        async move { api::tokens(everyone).await }
    });
    view! {
        <section class="card">
            <div class="heading">
                <h1>"API tokens"</h1>
                {admin.then(|| view! {
                    <label class="check"><input type="checkbox" bind:checked=all /> "Everyone's tokens"</label>
                })}
                <button on:click=move |_| creating.set(true)>"Add"</button>
            </div>
            <p class="muted">
                "A token acts with your role as it is when the token is used, within the modules you pick. "
                "Tokens do not expire."
            </p>
            {move || change.value().get().and_then(Result::err).map(|e| view! { <ErrorBox error=e /> })}
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || list.get().map(|result| match result {
                    Ok(tokens) => view! { <TokenGrid tokens change /> }.into_any(),
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                })}
            </Transition>
        </section>
        <Show when=move || creating.get()>
            <CreateDialog admin create on_cancel=Callback::new(move |()| creating.set(false)) />
        </Show>
        {move || created.get().map(|c| view! {
            <ShowOnce
                title="API token created".to_string()
                secret=c.secret
                on_close=Callback::new(move |()| created.set(None))
            />
        })}
    }
}

/// "Unknown" for never, as seed 000's grid shows it.
fn last_used(t: &ApiToken) -> String {
    t.last_used_at
        .map_or_else(|| "Unknown".to_string(), time::format)
}

fn status_text(status: TokenStatus) -> &'static str {
    match status {
        TokenStatus::Active => "Active",
        TokenStatus::Disabled => "Disabled",
        TokenStatus::Deleted => "Deleted",
    }
}

/// Seed 003: the number of modules, or the module's name when there is one.
pub(crate) fn modules_text(modules: &[Module]) -> String {
    match modules {
        [] => "All".to_string(),
        [one] => one.as_str().to_string(),
        many => format!("{} modules", many.len()),
    }
}

#[component]
fn TokenGrid(tokens: Vec<ApiToken>, change: Action<Change, Result<(), ApiError>>) -> impl IntoView {
    if tokens.is_empty() {
        return view! { <p class="muted" data-testid="no-tokens">"No API tokens yet."</p> }
            .into_any();
    }
    let rows = tokens
        .into_iter()
        .map(|t| {
            let id = t.id.clone();
            let (edit_id, toggle_id, delete_id) = (id.clone(), id.clone(), id.clone());
            let old_description = t.description.clone();
            let status = t.status;
            let edit = move |_| {
                let answer = window()
                    .prompt_with_message_and_default("Description", &old_description)
                    .ok()
                    .flatten();
                if let Some(description) = answer {
                    change.dispatch(Change::Describe(edit_id.clone(), description));
                }
            };
            let toggle = move |_| {
                let (next, verb) = if status == TokenStatus::Active {
                    (TokenStatus::Disabled, "Disable")
                } else {
                    (TokenStatus::Active, "Enable")
                };
                if confirmed(&format!("{verb} this token?")) {
                    change.dispatch(Change::Status(toggle_id.clone(), next));
                }
            };
            let delete = move |_| {
                if confirmed("Delete this token? Anything using it is refused from now on.") {
                    change.dispatch(Change::Delete(delete_id.clone()));
                }
            };
            let live = status != TokenStatus::Deleted;
            view! {
                <tr data-token=id.clone()>
                    <td>
                        <a href=format!("/tokens/{id}")><code>{t.prefix.clone()} "…"</code></a>
                        {(t.scope == TokenScope::Agent).then(|| view! { <span class="badge">"Agent"</span> })}
                    </td>
                    <td data-col="description">{t.description.clone()}</td>
                    <td>{time::format(t.created_at)}</td>
                    <td data-col="last-used">{last_used(&t)}</td>
                    <td data-col="status" class=status_text(status).to_lowercase()>{status_text(status)}</td>
                    <td>{modules_text(&t.modules)}</td>
                    <td><div class="row-actions">
                        <Show when=move || live>
                            <button class="link" title="Edit description" on:click=edit.clone()>"Edit"</button>
                            <button class="link" on:click=toggle.clone()>
                                {if status == TokenStatus::Active { "Disable" } else { "Enable" }}
                            </button>
                            <button class="link danger-text" on:click=delete.clone()>"Delete"</button>
                        </Show>
                    </div></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table data-testid="tokens">
            <thead><tr>
                <th>"Token"</th><th>"Description"</th><th>"Creation date"</th><th>"Last used"</th>
                <th>"Status"</th><th>"Modules"</th><th>"Action"</th>
            </tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

#[component]
fn CreateDialog(
    admin: bool,
    create: Action<CreateToken, Result<(), ApiError>>,
    on_cancel: Callback<()>,
) -> impl IntoView {
    let scope = RwSignal::new("API".to_string());
    let description = RwSignal::new(String::new());
    let modules: Vec<(Module, RwSignal<bool>)> = Module::ALL
        .iter()
        .map(|m| (*m, RwSignal::new(false)))
        .collect();
    let picked = modules.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let request = CreateToken {
            scope: if scope.get_untracked() == "Agent" {
                TokenScope::Agent
            } else {
                TokenScope::Api
            },
            description: description.get_untracked(),
            modules: picked
                .iter()
                .filter(|(_, on)| on.get_untracked())
                .map(|(m, _)| *m)
                .collect(),
            expires_at: None,
        };
        create.dispatch(request);
    };
    view! {
        <Modal title="Create API token".to_string()>
            <form on:submit=submit>
                <label>"Scope"
                    <select name="scope" on:change=move |ev| scope.set(event_target_value(&ev))>
                        <option value="API" selected>"API"</option>
                        {admin.then(|| view! { <option value="Agent">"Agent"</option> })}
                    </select>
                </label>
                <p class="muted">
                    {move || if scope.get() == "Agent" {
                        "Agent: for the license-server agent only; administrators only."
                    } else {
                        "API: access to all endpoints your role allows."
                    }}
                </p>
                <label>"Description (optional)" <input name="description" bind:value=description /></label>
                <fieldset>
                    <legend>"Modules (none ticked: all)"</legend>
                    {modules.into_iter().map(|(m, on)| view! {
                        <label class="check"><input type="checkbox" name=m.as_str() bind:checked=on /> {m.as_str()}</label>
                    }).collect_view()}
                </fieldset>
                <div class="actions">
                    <button type="submit" disabled=move || create.pending().get()>"Save"</button>
                    <button type="button" class="secondary" on:click=move |_| on_cancel.run(())>"Cancel"</button>
                </div>
                {move || create.value().get().and_then(Result::err).map(|e| view! { <ErrorBox error=e /> })}
            </form>
        </Modal>
    }
}
