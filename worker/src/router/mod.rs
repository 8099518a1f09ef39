//! The route table: every route of the API, declared once — its method, path, who may
//! call it, and its handler.
//!
//! The one `routes!` invocation below makes the [`Route`] enum, the [`ROUTES`] table the
//! matcher (`matcher.rs`) reads, [`Route::access`] (which the OpenAPI generator reads to
//! document each operation's security and permission) and [`dispatch`], which checks the
//! request against the guard, authenticates and authorises it from that same [`Access`]
//! before the handler runs. No handler checks a permission of its own, so the table and
//! what is enforced cannot disagree. Handlers of authenticated routes receive the
//! [`Caller`] the table's check produced.

mod matcher;

use tessera_engine::Permission;
use worker::{Env, Method, Response};

use crate::auth::{self, Access};
use crate::error::ApiError;
use crate::request::Request;
use crate::routes;

pub(crate) use self::matcher::Params;

/// Whether `path` is an app route's (any method): its answers, preflights included, allow
/// any origin (the apps' browsers run on their own).
pub(crate) fn app_path(path: &str) -> bool {
    ROUTES
        .iter()
        .zip(FIXED_LEN)
        .any(|((_, pattern, route), fixed)| {
            route.access().app() && matcher::matches(pattern, fixed, path).is_some()
        })
}

/// Each route's pattern length before its first parameter, at compile time.
const FIXED_LEN: [usize; ROUTES.len()] = matcher::fixed_lengths(ROUTES);

/// The route for `method` and `path`: `NOT_FOUND` when no route has this path,
/// `METHOD_NOT_ALLOWED` (listing the allowed methods) when one does but not with this
/// method.
pub(crate) fn resolve(method: &Method, path: &str) -> Result<(Route, Params), ApiError> {
    matcher::resolve(ROUTES, &FIXED_LEN, method, path)
}

/// `Access::$kind($permission)` in the table, as a value.
macro_rules! access {
    ($kind:ident) => {
        Access::$kind
    };
    ($kind:ident($permission:ident)) => {
        Access::$kind(Permission::$permission)
    };
}

/// The caller a route's handler gets: `()` for the routes that read no credential, the
/// authenticated [`auth::Caller`] for the others (which [`auth::authorize`] always
/// yields for them).
macro_rules! caller {
    (Public, $caller:expr) => {
        ()
    };
    (App, $caller:expr) => {
        ()
    };
    (AppOr($permission:ident), $caller:expr) => {
        $caller
    };
    ($kind:ident $(($permission:ident))?, $caller:expr) => {
        $caller.ok_or_else(|| {
            ApiError::Internal("the route table's access yielded no caller".into())
        })?
    };
}

macro_rules! routes {
    (
        |$req:ident, $env:ident, $params:ident, $caller:ident|
        $( $route:ident: $method:ident $path:literal, $kind:ident $(($permission:ident))? => $handler:expr; )*
    ) => {
        /// Every route the worker serves.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Route {
            $( $route, )*
        }

        /// Every route's method and path pattern (`:name` matches one path segment).
        pub(crate) const ROUTES: &matcher::Table<Route> = &[
            $( (Method::$method, $path, Route::$route), )*
        ];

        impl Route {
            /// Who may call the route.
            pub(crate) const fn access(self) -> Access {
                match self {
                    $( Route::$route => access!($kind $(($permission))?), )*
                }
            }
        }

        /// Route, guard, authorise and handle one request.
        pub(crate) async fn dispatch(mut $req: Request, $env: Env) -> Result<Response, ApiError> {
            let (route, $params) = resolve(&$req.method(), &$req.path())?;
            let access = route.access();
            crate::guard::check(&$req, access.ambient_for(&$req))?;
            let caller = auth::authorize(&$req, &$env, access).await?;
            match route {
                $( Route::$route => {
                    #[allow(unused_variables, clippy::let_unit_value)]
                    let $caller = caller!($kind $(($permission))?, caller);
                    $handler
                } )*
            }
        }
    };
}

routes! {
    |req, env, params, caller|
    Health: Get "/api/health", Public => routes::health::get(&env).await;
    OpenApi: Get "/api/openapi.json", Public => routes::openapi::get();
    Jwks: Get "/.well-known/jwks.json", Public => routes::jwks::get(&env).await;
    Me: Get "/api/me", SignedIn => routes::me::get(caller);
    SessionCreate: Post "/api/session", Public => routes::session::create(&mut req, &env).await;
    SessionDelete: Delete "/api/session", Public => routes::session::delete(&req, &env).await;
    UsersList: Get "/api/users", Any(UsersRead) => routes::users::list(&req, &env).await;
    UsersCreate: Post "/api/users", Any(UsersWrite) =>
        routes::users::create(&mut req, &env, caller).await;
    UsersGet: Get "/api/users/:username", Any(UsersRead) =>
        routes::users::get(&env, params.get("username")).await;
    UsersUpdate: Patch "/api/users/:username", Any(UsersWrite) =>
        routes::users::update(&mut req, &env, caller, params.get("username")).await;
    UsersDelete: Delete "/api/users/:username", Any(UsersWrite) =>
        routes::users::delete(&req, &env, caller, params.get("username")).await;
    TokensList: Get "/api/tokens", Any(TokensWrite) => routes::tokens::list(&req, &env, caller).await;
    TokensCreate: Post "/api/tokens", Any(TokensWrite) =>
        routes::tokens::create(&mut req, &env, caller).await;
    TokensGet: Get "/api/tokens/:id", Any(TokensWrite) =>
        routes::tokens::get(&env, caller, params.get("id")).await;
    TokensUpdate: Patch "/api/tokens/:id", Any(TokensWrite) =>
        routes::tokens::update(&mut req, &env, caller, params.get("id")).await;
    TokensDelete: Delete "/api/tokens/:id", Any(TokensWrite) =>
        routes::tokens::delete(&req, &env, caller, params.get("id")).await;
    VaultTokenGet: Get "/api/vault-token", Any(VaultRead) => routes::vault_token::get(&env).await;
    VaultTokenGenerate: Post "/api/vault-token", Any(VaultWrite) =>
        routes::vault_token::generate(&req, &env, caller).await;
    VaultTokenDelete: Delete "/api/vault-token", Any(VaultWrite) =>
        routes::vault_token::delete(&req, &env, caller).await;
    AgentPing: Post "/api/agent/ping", Any(AgentWrite) => routes::agent::ping(caller);
    KeysList: Get "/api/keys", Any(KeysRead) => routes::keys::list(&env).await;
    KeysRotate: Post "/api/keys/rotate", Any(KeysWrite) => routes::keys::rotate(&mut req, &env, caller).await;
    KeysRetire: Post "/api/keys/:kid/retire", Any(KeysWrite) =>
        routes::keys::retire(&req, &env, caller, params.get("kid")).await;
    LicensesList: Get "/api/licenses", Any(LicensesRead) => routes::licenses::list(&req, &env).await;
    LicensesIssue: Post "/api/licenses", Any(LicensesWrite) =>
        routes::licenses::issue(&mut req, &env, caller).await;
    LicensesGet: Get "/api/licenses/:lid", Any(LicensesRead) =>
        routes::licenses::get(&req, &env, caller, params.get("lid")).await;
    LicensesRevoke: Post "/api/licenses/:lid/revoke", Any(LicensesWrite) =>
        routes::licenses::revoke(&req, &env, caller, params.get("lid")).await;
    LicensesReissue: Post "/api/licenses/:lid/reissue", Any(LicensesWrite) =>
        routes::licenses::reissue(&req, &env, caller, params.get("lid")).await;
    LicensingCheck: Get "/api/licensing/check", User(LicensingRead) =>
        routes::licensing::check(&req, &env).await;
    LicensingApply: Post "/api/licensing/token", User(LicensingWrite) =>
        routes::licensing::apply(&mut req, &env, caller).await;
    LicensingRenew: Post "/api/licensing/token/renew", User(LicensingWrite) =>
        routes::licensing::renew(&mut req, &env, caller).await;
    LicensingRemove: Delete "/api/licensing/token", User(LicensingDelete) =>
        routes::licensing::remove(&mut req, &env, caller).await;
    LicensingApplied: Get "/api/licensing/applied", User(LicensingRead) =>
        routes::licensing::applied(&req, &env).await;
    LicensesValidate: Post "/api/licenses/validate", App => routes::validate::post(&mut req, &env).await;
    SeatsCheckout: Post "/api/seats/checkout", App => routes::seats::checkout(&mut req, &env).await;
    SeatsHeartbeat: Post "/api/seats/heartbeat", App => routes::seats::heartbeat(&mut req, &env).await;
    SeatsRelease: Post "/api/seats/release", App => routes::seats::release(&mut req, &env).await;
    MachinesActivate: Post "/api/machines/activate", App =>
        routes::machines::activate(&mut req, &env).await;
    MachinesDeactivate: Delete "/api/machines/:id", AppOr(SeatsWrite) =>
        routes::machines::deactivate(&mut req, &env, caller, params.get("id")).await;
    VaultDirectory: Get "/api/vault/directory", Any(SeatsRead) =>
        routes::vault::directory_status(&env).await;
    VaultProducts: Get "/api/vault/products", Any(SeatsRead) => routes::vault::products(&env).await;
    VaultProductLicenses: Get "/api/vault/products/:product/licenses", Any(SeatsRead) =>
        routes::vault::product_licenses(&req, &env, params.get("product")).await;
    VaultProductDisconnect: Post "/api/vault/products/:product/disconnect", Any(SeatsWrite) =>
        routes::vault::disconnect(&mut req, &env, caller, params.get("product")).await;
    VaultProductConnect: Post "/api/vault/products/:product/connect", Any(SeatsWrite) =>
        routes::vault::connect(&mut req, &env, caller, params.get("product")).await;
    VaultUsers: Get "/api/vault/users", Any(SeatsRead) => routes::vault::users(&req, &env).await;
    VaultUserLicenses: Get "/api/vault/users/:user/licenses", Any(SeatsRead) =>
        routes::vault::user_licenses(&env, params.get("user")).await;
    VaultUserRevokeAll: Delete "/api/vault/users/:user/licenses", Any(SeatsWrite) =>
        routes::vault::revoke_user_licenses(&req, &env, caller, params.get("user")).await;
    VaultUserRevokeOne: Delete "/api/vault/users/:user/licenses/:lease", Any(SeatsWrite) =>
        routes::vault::revoke_user_license(&req, &env, caller, params.get("user"), params.get("lease")).await;
    VaultBlocks: Get "/api/vault/blocks", Any(SeatsRead) => routes::vault::blocks(&env).await;
    VaultUnblock: Delete "/api/vault/blocks/:user", Any(SeatsWrite) =>
        routes::vault::unblock(&req, &env, caller, params.get("user")).await;
    VaultLicense: Get "/api/vault/licenses/:lid", Any(SeatsRead) =>
        routes::vault::license(&req, &env, params.get("lid")).await;
    VaultLicenseEvents: Get "/api/vault/licenses/:lid/events", Any(SeatsRead) =>
        routes::vault::license_events(&req, &env, params.get("lid")).await;
    VaultLicenseMachines: Get "/api/vault/licenses/:lid/machines", Any(SeatsRead) =>
        routes::machines::list(&req, &env, params.get("lid")).await;
    ReportsUsage: Get "/api/vault/reports/usage", Any(ReportsRead) =>
        routes::reports::usage_report(&req, &env).await;
    ReportsDenials: Get "/api/vault/reports/denials", Any(ReportsRead) =>
        routes::reports::denials(&req, &env).await;
    AgentEvents: Post "/api/agent/events", Any(AgentWrite) =>
        routes::agent::events(&mut req, &env, caller).await;
    AuditLog: Get "/api/audit", Any(AuditRead) => routes::audit::list(&req, &env).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every route is in the OpenAPI document, and the document lists no other.
    #[test]
    fn openapi_lists_exactly_the_routes() {
        let doc: serde_json::Value =
            serde_json::from_str(crate::routes::openapi::DOCUMENT).expect("openapi.json is JSON");
        assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
        let mut documented = Vec::new();
        for (path, ops) in doc["paths"].as_object().expect("paths") {
            for method in ops.as_object().expect("operations").keys() {
                if method != "parameters" {
                    documented.push((method.to_uppercase(), path.clone()));
                }
            }
        }
        let mut routed: Vec<(String, String)> = ROUTES
            .iter()
            .map(|(m, p, _)| {
                let path = p
                    .split('/')
                    .map(|s| {
                        s.strip_prefix(':')
                            .map_or(s.to_string(), |n| format!("{{{n}}}"))
                    })
                    .collect::<Vec<_>>()
                    .join("/");
                (m.as_ref().to_string(), path)
            })
            .collect();
        documented.sort();
        routed.sort();
        assert_eq!(documented, routed);
    }

    /// Only the app-facing routes take their credential from the body; every other route
    /// that changes something is checked for cross-site use.
    #[test]
    fn only_app_routes_are_not_ambient() {
        let apps: Vec<Route> = ROUTES
            .iter()
            .filter(|(_, _, r)| !r.access().ambient())
            .map(|(_, _, r)| *r)
            .collect();
        assert_eq!(
            apps,
            [
                Route::LicensesValidate,
                Route::SeatsCheckout,
                Route::SeatsHeartbeat,
                Route::SeatsRelease,
                Route::MachinesActivate,
            ]
        );
    }
}
