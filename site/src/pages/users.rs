//! Users and roles: create a user, change a role, disable or enable, delete.

use leptos::prelude::*;
use tessera_engine::{CreateUser, Role, UpdateUser, UserView};

use crate::api::{self, ApiError};
use crate::components::error_box::ErrorBox;
use crate::components::modal::confirmed;
use crate::components::signed_in::SignedIn;
use crate::components::time;

/// The users page.
#[component]
pub(crate) fn Users() -> impl IntoView {
    view! {
        <SignedIn>
            <UsersInner />
        </SignedIn>
    }
}

fn role_from(name: &str) -> Role {
    Role::ALL
        .into_iter()
        .find(|r| r.as_str() == name)
        .unwrap_or(Role::Viewer)
}

/// What each role may do, for the page's legend (the API's table, in words).
const ROLE_HELP: [(&str, &str); 4] = [
    (
        "server_admin",
        "everything, including the applied license (seed 004) and signing keys",
    ),
    (
        "admin",
        "users, everyone's API tokens, Agent tokens, the vault token, licenses",
    ),
    ("editor", "issue and revoke licenses; own API tokens"),
    ("viewer", "read licenses and keys; own API tokens"),
];

#[derive(Clone)]
enum Change {
    Create(CreateUser),
    Update(String, UpdateUser),
    Delete(String),
}

#[component]
fn UsersInner() -> impl IntoView {
    let change = Action::new_local(|c: &Change| {
        let c = c.clone();
        async move {
            match c {
                Change::Create(req) => api::create_user(&req).await.map(|_| ()),
                Change::Update(name, update) => api::update_user(&name, &update).await.map(|_| ()),
                Change::Delete(name) => api::delete_user(&name).await.map(|_| ()),
            }
        }
    });
    let list = LocalResource::new(move || {
        change.version().get();
        async move { api::users().await }
    });
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let role = RwSignal::new("viewer".to_string());
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        change.dispatch(Change::Create(CreateUser {
            username: username.get_untracked(),
            password: password.get_untracked(),
            role: role_from(&role.get_untracked()),
        }));
    };
    view! {
        <section class="card">
            <h1>"Users and roles"</h1>
            {move || change.value().get().and_then(Result::err).map(|e| view! { <ErrorBox error=e /> })}
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || list.get().map(|result| match result {
                    Ok(users) => view! { <UserTable users change /> }.into_any(),
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                })}
            </Transition>
            <dl class="facts legend">
                {ROLE_HELP.iter().map(|(r, what)| view! { <dt><code>{*r}</code></dt><dd>{*what}</dd> }).collect_view()}
            </dl>
        </section>
        <section class="card">
            <h1>"Add a user"</h1>
            <form class="grid" on:submit=create>
                <label>"Username" <input name="new-username" bind:value=username required /></label>
                <label>"Password (12+ characters)" <input name="new-password" type="password" bind:value=password required /></label>
                <label>"Role"
                    <select name="new-role" on:change=move |ev| role.set(event_target_value(&ev))>
                        {ROLE_HELP.iter().map(|(r, _)| view! { <option value=*r selected=*r == "viewer">{*r}</option> }).collect_view()}
                    </select>
                </label>
                <button type="submit">"Add user"</button>
            </form>
        </section>
    }
}

#[component]
fn UserTable(users: Vec<UserView>, change: Action<Change, Result<(), ApiError>>) -> impl IntoView {
    let rows = users
        .into_iter()
        .map(|u| {
            let name = u.username.clone();
            let (role_name_for, toggle_name, delete_name) = (name.clone(), name.clone(), name.clone());
            let disabled = u.disabled;
            let set_role = move |ev: leptos::ev::Event| {
                let update = UpdateUser { role: Some(role_from(&event_target_value(&ev))), ..UpdateUser::default() };
                change.dispatch(Change::Update(role_name_for.clone(), update));
            };
            let toggle = move |_| {
                let update = UpdateUser { disabled: Some(!disabled), ..UpdateUser::default() };
                change.dispatch(Change::Update(toggle_name.clone(), update));
            };
            let delete = move |_| {
                if confirmed(&format!("Delete {delete_name}? Their API tokens stop working.")) {
                    change.dispatch(Change::Delete(delete_name.clone()));
                }
            };
            view! {
                <tr data-user=name.clone()>
                    <td>{name.clone()}</td>
                    <td>
                        <select aria-label=format!("Role of {name}") on:change=set_role>
                            {ROLE_HELP.iter().map(|(r, _)| view! {
                                <option value=*r selected=*r == u.role.as_str()>{*r}</option>
                            }).collect_view()}
                        </select>
                    </td>
                    <td data-col="status">{if disabled { "Disabled" } else { "Active" }}</td>
                    <td>{time::format(u.created_at)}</td>
                    <td><div class="row-actions">
                        <button class="link" on:click=toggle>{if disabled { "Enable" } else { "Disable" }}</button>
                        <button class="link danger-text" on:click=delete>"Delete"</button>
                    </div></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table data-testid="users">
            <thead><tr><th>"User"</th><th>"Role"</th><th>"Status"</th><th>"Created"</th><th>"Action"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}
