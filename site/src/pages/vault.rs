//! The license vault (seeds 001/002): free and allocated seats per product (a bar
//! each), disconnect / connect a product, users holding seats (with search), a user's
//! leases with Revoke and Revoke all (optionally blocking them), and blocked users.
//! Every change asks first, in a dialog; every list refetches after a change.

use leptos::prelude::*;
use tessera_engine::api::{ActiveUser, HeldLease, ProductSeats};

use crate::api::{self, ApiError, VaultAction};
use crate::components::error_box::ErrorBox;
use crate::components::modal::{Confirm, Modal};
use crate::components::signed_in::SignedIn;
use crate::components::time;
use crate::session;

/// The vault page.
#[component]
pub(crate) fn Vault() -> impl IntoView {
    view! {
        <SignedIn>
            <VaultInner />
        </SignedIn>
    }
}

type Act = Action<VaultAction, Result<(), ApiError>>;

#[component]
fn VaultInner() -> impl IntoView {
    let act: Act = Action::new_local(|a: &VaultAction| {
        let a = a.clone();
        async move { api::vault_action(&a).await.map(|_| ()) }
    });
    // What is being asked about in a dialog, if anything.
    let asking = RwSignal::new(None::<VaultAction>);
    let selected = RwSignal::new(None::<String>);
    let search = RwSignal::new(String::new());
    let writes = session::may("seats:write");
    // Products and blocks load together: one resource less in the binary.
    let overview = LocalResource::new(move || {
        act.version().get();
        async move { Ok::<_, ApiError>((api::vault_products().await?, api::vault_blocks().await?)) }
    });
    let users = LocalResource::new(move || {
        act.version().get();
        let q = search.get();
        async move { api::vault_users(&q).await }
    });
    let leases = LocalResource::new(move || {
        act.version().get();
        let user = selected.get();
        async move {
            match user {
                Some(u) => api::vault_user_leases(&u).await.map(Some),
                None => Ok(None),
            }
        }
    });
    view! {
        {move || act.value().get().and_then(Result::err).map(|e| view! { <ErrorBox error=e /> })}
        <section class="card">
            <h1>"Products"</h1>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || overview.get().map(|r| match r {
                    Ok((list, _)) => view! { <ProductTable list asking writes /> }.into_any(),
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                })}
            </Transition>
        </section>
        <section class="card">
            <div class="heading">
                <h1>"Users holding seats"</h1>
                <input type="search" placeholder="Search users" aria-label="Search users"
                    on:input=move |ev| search.set(event_target_value(&ev)) />
            </div>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || users.get().map(|r| match r {
                    Ok(page) => view! { <UserTable list=page.items selected /> }.into_any(),
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                })}
            </Transition>
        </section>
        {move || selected.get().map(|user| view! {
            <section class="card" data-testid="user-leases">
                <div class="heading">
                    <h1>{format!("Leases of {user}")}</h1>
                    <Show when=move || writes>
                        <button class="danger" on:click={
                            let user = user.clone();
                            move |_| asking.set(Some(VaultAction::RevokeAll { user: user.clone(), block: false }))
                        }>"Revoke all"</button>
                    </Show>
                </div>
                <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || leases.get().map(|r| match r {
                        Ok(Some(list)) => view! { <LeaseTable list asking writes /> }.into_any(),
                        Ok(None) => ().into_any(),
                        Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                    })}
                </Transition>
            </section>
        })}
        <section class="card">
            <h1>"Blocked users"</h1>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || overview.get().map(|r| match r.map(|(_, blocks)| blocks) {
                    Ok(list) if list.is_empty() => view! { <p class="muted" data-testid="no-blocks">"Nobody is blocked."</p> }.into_any(),
                    Ok(list) => view! {
                        <table data-testid="blocks">
                            <thead><tr><th>"User"</th><th>"Since"</th><th>"By"</th><th></th></tr></thead>
                            <tbody>{list.into_iter().map(|b| {
                                let user = b.user.clone();
                                view! {
                                    <tr data-user=b.user.clone()>
                                        <td>{b.user.clone()}</td><td>{time::format(b.at)}</td><td>{b.by}</td>
                                        <td><Show when=move || writes>
                                            <button class="link" on:click={
                                                let user = user.clone();
                                                move |_| { act.dispatch(VaultAction::Unblock(user.clone())); }
                                            }>"Unblock"</button>
                                        </Show></td>
                                    </tr>
                                }
                            }).collect_view()}</tbody>
                        </table>
                    }.into_any(),
                    Err(e) => view! { <ErrorBox error=e /> }.into_any(),
                })}
            </Transition>
        </section>
        {move || asking.get().map(|a| view! { <Ask action=a asking act /> })}
    }
}

/// The dialog that confirms a vault change.
#[component]
fn Ask(action: VaultAction, asking: RwSignal<Option<VaultAction>>, act: Act) -> impl IntoView {
    let cancel = Callback::new(move |()| asking.set(None));
    let (title, message, confirm) = match &action {
        VaultAction::RevokeLease { user, .. } => (
            "Revoke license",
            format!("{user}'s app loses this seat at its next heartbeat; it may take one again."),
            "Revoke",
        ),
        VaultAction::RevokeAll { user, .. } => {
            let block = RwSignal::new(false);
            let user = user.clone();
            let go = move |_| {
                asking.set(None);
                act.dispatch(VaultAction::RevokeAll {
                    user: user.clone(),
                    block: block.get_untracked(),
                });
            };
            return view! {
                <Modal title="Revoke all licenses".to_string()>
                    <p>"Every seat this user holds ends now. Without a block, their apps may take seats again."</p>
                    <label class="check"><input type="checkbox" bind:checked=block /> "Also block this user from taking seats"</label>
                    <div class="actions">
                        <button class="danger" on:click=go>"Revoke all"</button>
                        <button class="secondary" on:click=move |_| cancel.run(())>"Cancel"</button>
                    </div>
                </Modal>
            }
            .into_any();
        }
        VaultAction::Disconnect(product) => (
            "Disconnect product",
            format!(
                "Every seat of {product} ends now, and new requests are refused until it is connected again."
            ),
            "Disconnect",
        ),
        VaultAction::Connect(product) => (
            "Connect product",
            format!("{product} may lend seats again."),
            "Connect",
        ),
        VaultAction::Unblock(user) => (
            "Unblock",
            format!("{user} may take seats again."),
            "Unblock",
        ),
    };
    view! {
        <Confirm
            title=title.to_string()
            message
            confirm=confirm.to_string()
            on_confirm=Callback::new(move |()| { asking.set(None); act.dispatch(action.clone()); })
            on_cancel=cancel
        />
    }
    .into_any()
}

#[component]
fn ProductTable(
    list: Vec<ProductSeats>,
    asking: RwSignal<Option<VaultAction>>,
    writes: bool,
) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="muted" data-testid="no-products">"No product has seats yet."</p> }.into_any();
    }
    let rows = list
        .into_iter()
        .map(|p| {
            let pct = (p.allocated * 100).checked_div(p.seats).unwrap_or(100).min(100);
            let product = p.product.clone();
            let connected = p.connected;
            let toggle = move |_| {
                asking.set(Some(if connected {
                    VaultAction::Disconnect(product.clone())
                } else {
                    VaultAction::Connect(product.clone())
                }))
            };
            view! {
                <tr data-product=p.product.clone()>
                    <td>{p.product.clone()}</td>
                    <td class="bar-cell">
                        <div class="bar" role="meter" aria-label=format!("{} allocated", p.product)
                            aria-valuenow=p.allocated aria-valuemax=p.seats>
                            <div class="fill" class:full=p.free == 0 style:width=format!("{pct}%")></div>
                        </div>
                    </td>
                    <td data-col="allocated">{p.allocated}</td>
                    <td data-col="free">{p.free}</td>
                    <td data-col="seats">{p.seats}</td>
                    <td data-col="state">{if connected { "Connected" } else { "Disconnected" }}</td>
                    <td><Show when=move || writes>
                        <button class="link" on:click=toggle.clone()>{if connected { "Disconnect" } else { "Connect" }}</button>
                    </Show></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table data-testid="products">
            <thead><tr><th>"Product"</th><th>"In use"</th><th>"Allocated"</th><th>"Free"</th><th>"Seats"</th><th>"State"</th><th></th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

#[component]
fn UserTable(list: Vec<ActiveUser>, selected: RwSignal<Option<String>>) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="muted" data-testid="no-users">"Nobody holds a seat."</p> }
            .into_any();
    }
    let rows = list
        .into_iter()
        .map(|u| {
            let user = u.user.clone();
            view! {
                <tr data-user=u.user.clone()>
                    <td><button class="link" on:click=move |_| selected.set(Some(user.clone()))>{u.user.clone()}</button></td>
                    <td data-col="leases">{u.leases}</td>
                    <td>{u.products.join(", ")}</td>
                    <td>{if u.blocked { "Blocked" } else { "" }}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table data-testid="users">
            <thead><tr><th>"User"</th><th>"Leases"</th><th>"Products"</th><th></th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

#[component]
fn LeaseTable(
    list: Vec<HeldLease>,
    asking: RwSignal<Option<VaultAction>>,
    writes: bool,
) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="muted" data-testid="no-leases">"No seats held."</p> }.into_any();
    }
    let rows = list
        .into_iter()
        .map(|h| {
            let action = VaultAction::RevokeLease {
                user: h.user.clone(),
                lease: h.lease.clone(),
            };
            view! {
                <tr data-lease=h.lease.clone()>
                    <td>{h.product.clone()}</td>
                    <td>{h.company.clone()}</td>
                    <td><code>{h.lid.clone()}</code></td>
                    <td>{h.hosts.join(", ")}</td>
                    <td>{time::format(h.since)}</td>
                    <td>{time::format(h.expires_at)}</td>
                    <td><Show when=move || writes>
                        <button class="link danger-text" on:click={
                            let action = action.clone();
                            move |_| asking.set(Some(action.clone()))
                        }>"Revoke"</button>
                    </Show></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table data-testid="leases">
            <thead><tr><th>"Product"</th><th>"Company"</th><th>"License"</th><th>"Hosts"</th><th>"Since"</th><th>"Expires"</th><th></th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}
