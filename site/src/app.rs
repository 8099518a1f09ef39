//! The router, the page frame (navigation), and the session shared by every page.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::{Lazy, LazyRoute, lazy_route, path};

use crate::api;
use crate::pages::{
    audit::Audit, home::Home, licenses::Licenses, licensing::Licensing, machines::Machines,
    not_found::NotFound, reports::Reports, settings::Settings, sign_in::SignIn,
    token_details::TokenDetails, tokens::Tokens, users::Users, vault::Vault,
};
use crate::session::{Session, SessionSignal};

/// The whole console.
#[component]
pub(crate) fn App() -> impl IntoView {
    let session: SessionSignal = RwSignal::new(None);
    provide_context(session);
    // A reload keeps the tab signed in while the session stands: ask once.
    let restoring = RwSignal::new(true);
    spawn_local(async move {
        if let Ok(me) = api::me().await {
            session.set(Some(Session { me }));
        }
        restoring.set(false);
    });
    let sign_out = move |_| {
        spawn_local(async move {
            let _ = api::sign_out().await;
            session.set(None);
        });
    };
    view! {
        <Router>
            <header class="topbar">
                <A href="/">"Tessera"</A>
                <nav>
                    <A href="/licenses">"Licenses"</A>
                    <A href="/licensing">"Applied license"</A>
                    <A href="/vault">"Vault"</A>
                    <A href="/reports">"Reports"</A>
                    <A href="/tokens">"API tokens"</A>
                    <A href="/users">"Users"</A>
                    <A href="/audit">"Audit log"</A>
                    <A href="/settings">"Settings"</A>
                </nav>
                <span class="spacer"></span>
                {move || match session.get() {
                    Some(s) => view! {
                        <span class="who" data-testid="signed-in-as">{s.me.username.clone()}</span>
                        <button class="link" on:click=sign_out>"Sign out"</button>
                    }.into_any(),
                    None => view! { <A href="/sign-in">"Sign in"</A> }.into_any(),
                }}
            </header>
            <main>
                <Show when=move || !restoring.get() fallback=|| view! { <p class="muted">"Restoring your session…"</p> }>
                    <Routes fallback=NotFound>
                        <Route path=path!("/") view=Home />
                        <Route path=path!("/sign-in") view=SignIn />
                        <Route path=path!("/licenses") view=Licenses />
                        <Route path=path!("/licenses/:lid/machines") view={Lazy::<MachinesRoute>::new()} />
                        <Route path=path!("/licensing") view={Lazy::<LicensingRoute>::new()} />
                        <Route path=path!("/tokens") view=Tokens />
                        <Route path=path!("/tokens/:id") view=TokenDetails />
                        <Route path=path!("/users") view=Users />
                        <Route path=path!("/settings") view=Settings />
                        <Route path=path!("/vault") view={Lazy::<VaultRoute>::new()} />
                        <Route path=path!("/reports") view={Lazy::<ReportsRoute>::new()} />
                        <Route path=path!("/audit") view={Lazy::<AuditRoute>::new()} />
                    </Routes>
                </Show>
            </main>
        </Router>
    }
}

/// A page loaded on its first visit. `#[lazy_route]` marks the page's view as a split
/// point; the build (`build_site` in `scripts/lib.sh`, wasm-split) moves the code only that
/// page uses into its own wasm chunk, which `__wasm_split.js` fetches when the route is
/// first opened. The first download is then the frame, sign-in and home page, within the
/// console's 300 KB budget; Reports' charts alone would have taken it over.
macro_rules! lazy_page {
    ($($route:ident => $page:ident,)*) => {$(
        #[doc = concat!("The route of [`", stringify!($page), "`], loaded on first visit.")]
        struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                $page().into_any()
            }
        }
    )*};
}

lazy_page! {
    LicensingRoute => Licensing,
    VaultRoute => Vault,
    ReportsRoute => Reports,
    AuditRoute => Audit,
    MachinesRoute => Machines,
}
