//! The route table: the one place that lists every route of the API.
//!
//! `resolve` is pure (method and path in, route and path parameters or an error out),
//! so the table reads at a glance and is tested without a runtime — including against
//! the OpenAPI document, which must list exactly these routes.

use crate::request::Request;
use worker::{Env, Method, Response};

use crate::error::ApiError;
use crate::routes;

/// Every route the worker serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    Health,
    OpenApi,
    Jwks,
    Me,
    SessionCreate,
    SessionDelete,
    UsersList,
    UsersCreate,
    UsersGet,
    UsersUpdate,
    UsersDelete,
    TokensList,
    TokensCreate,
    TokensGet,
    TokensUpdate,
    TokensDelete,
    VaultTokenGet,
    VaultTokenGenerate,
    VaultTokenDelete,
    AgentPing,
    KeysList,
    KeysRotate,
    LicensesList,
    LicensesIssue,
    LicensesGet,
    LicensesRevoke,
    LicensingCheck,
    LicensingApply,
    LicensingRenew,
    LicensingRemove,
    LicensingApplied,
    LicensesValidate,
    SeatsCheckout,
    SeatsHeartbeat,
    SeatsRelease,
    VaultProducts,
    VaultProductLicences,
    VaultProductDisconnect,
    VaultProductConnect,
    VaultUsers,
    VaultUserLicences,
    VaultUserRevokeAll,
    VaultUserRevokeOne,
    VaultBlocks,
    VaultUnblock,
    VaultLicence,
    VaultLicenceEvents,
    ReportsUsage,
    ReportsDenials,
    AgentEvents,
    AuditLog,
}

use Method::{Delete, Get, Patch, Post};

/// Every route's method and path pattern (`:name` matches one path segment).
pub(crate) const ROUTES: &[(Method, &str, Route)] = &[
    (Get, "/api/health", Route::Health),
    (Get, "/api/openapi.json", Route::OpenApi),
    (Get, "/.well-known/jwks.json", Route::Jwks),
    (Get, "/api/me", Route::Me),
    (Post, "/api/session", Route::SessionCreate),
    (Delete, "/api/session", Route::SessionDelete),
    (Get, "/api/users", Route::UsersList),
    (Post, "/api/users", Route::UsersCreate),
    (Get, "/api/users/:username", Route::UsersGet),
    (Patch, "/api/users/:username", Route::UsersUpdate),
    (Delete, "/api/users/:username", Route::UsersDelete),
    (Get, "/api/tokens", Route::TokensList),
    (Post, "/api/tokens", Route::TokensCreate),
    (Get, "/api/tokens/:id", Route::TokensGet),
    (Patch, "/api/tokens/:id", Route::TokensUpdate),
    (Delete, "/api/tokens/:id", Route::TokensDelete),
    (Get, "/api/vault-token", Route::VaultTokenGet),
    (Post, "/api/vault-token", Route::VaultTokenGenerate),
    (Delete, "/api/vault-token", Route::VaultTokenDelete),
    (Post, "/api/agent/ping", Route::AgentPing),
    (Get, "/api/keys", Route::KeysList),
    (Post, "/api/keys/rotate", Route::KeysRotate),
    (Get, "/api/licenses", Route::LicensesList),
    (Post, "/api/licenses", Route::LicensesIssue),
    (Get, "/api/licenses/:lid", Route::LicensesGet),
    (Post, "/api/licenses/:lid/revoke", Route::LicensesRevoke),
    (Get, "/api/licensing/check", Route::LicensingCheck),
    (Post, "/api/licensing/token", Route::LicensingApply),
    (Post, "/api/licensing/token/renew", Route::LicensingRenew),
    (Delete, "/api/licensing/token", Route::LicensingRemove),
    (Get, "/api/licensing/applied", Route::LicensingApplied),
    (Post, "/api/licenses/validate", Route::LicensesValidate),
    (Post, "/api/seats/checkout", Route::SeatsCheckout),
    (Post, "/api/seats/heartbeat", Route::SeatsHeartbeat),
    (Post, "/api/seats/release", Route::SeatsRelease),
    (Get, "/api/vault/products", Route::VaultProducts),
    (
        Get,
        "/api/vault/products/:product/licenses",
        Route::VaultProductLicences,
    ),
    (
        Post,
        "/api/vault/products/:product/disconnect",
        Route::VaultProductDisconnect,
    ),
    (
        Post,
        "/api/vault/products/:product/connect",
        Route::VaultProductConnect,
    ),
    (Get, "/api/vault/users", Route::VaultUsers),
    (
        Get,
        "/api/vault/users/:user/licenses",
        Route::VaultUserLicences,
    ),
    (
        Delete,
        "/api/vault/users/:user/licenses",
        Route::VaultUserRevokeAll,
    ),
    (
        Delete,
        "/api/vault/users/:user/licenses/:lease",
        Route::VaultUserRevokeOne,
    ),
    (Get, "/api/vault/blocks", Route::VaultBlocks),
    (Delete, "/api/vault/blocks/:user", Route::VaultUnblock),
    (Get, "/api/vault/licenses/:lid", Route::VaultLicence),
    (
        Get,
        "/api/vault/licenses/:lid/events",
        Route::VaultLicenceEvents,
    ),
    (Get, "/api/vault/reports/usage", Route::ReportsUsage),
    (Get, "/api/vault/reports/denials", Route::ReportsDenials),
    (Post, "/api/agent/events", Route::AgentEvents),
    (Get, "/api/audit", Route::AuditLog),
];

/// The path parameters of a matched route, percent-decoded.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Params(Vec<(&'static str, String)>);

impl Params {
    /// The value of `:name`; every pattern that names it guarantees it is present.
    pub(crate) fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// For each route of [`ROUTES`], the length of its pattern before its first `:` (the
/// whole pattern when it has no parameter), worked out at compile time so that matching
/// a request scans no pattern: a profile of `GET /api/nope` put splitting every
/// pattern and the path on each request at 13% of it.
const FIXED_LEN: [usize; ROUTES.len()] = fixed_lengths();

const fn fixed_lengths() -> [usize; ROUTES.len()] {
    let mut lengths = [0; ROUTES.len()];
    let mut i = 0;
    while i < ROUTES.len() {
        let pattern = ROUTES[i].1.as_bytes();
        let mut j = 0;
        while j < pattern.len() && pattern[j] != b':' {
            j += 1;
        }
        lengths[i] = j;
        i += 1;
    }
    lengths
}

/// Whether `path` matches `pattern`, whose first `fixed` bytes are fixed text.
fn matches(pattern: &'static str, fixed: usize, path: &str) -> Option<Params> {
    if fixed == pattern.len() {
        return (pattern == path).then(Params::default);
    }
    // Up to its first parameter a pattern is fixed text (ending in `/`), and most paths
    // differ there; after it, segment by segment.
    if path.as_bytes().get(..fixed)? != &pattern.as_bytes()[..fixed] {
        return None;
    }
    let mut params = Vec::new();
    let mut want = pattern[fixed..].split('/');
    let mut have = path.get(fixed..)?.split('/');
    loop {
        match (want.next(), have.next()) {
            (None, None) => return Some(Params(params)),
            (Some(w), Some(h)) if w.starts_with(':') && !h.is_empty() => {
                // `ann%40example.com` is `ann@example.com`; a segment that does not
                // decode to UTF-8 matches nothing.
                let value = percent_encoding::percent_decode_str(h).decode_utf8().ok()?;
                params.push((&w[1..], value.into_owned()))
            }
            (Some(w), Some(h)) if w == h => {}
            _ => return None,
        }
    }
}

/// The route for `method` and `path`: `NOT_FOUND` when no route has this path,
/// `METHOD_NOT_ALLOWED` (listing the allowed methods) when one does but not with this
/// method.
pub(crate) fn resolve(method: &Method, path: &str) -> Result<(Route, Params), ApiError> {
    let mut allow: Vec<&str> = Vec::new();
    for ((m, pattern, route), fixed) in ROUTES.iter().zip(FIXED_LEN) {
        if let Some(params) = matches(pattern, fixed, path) {
            if m == method {
                return Ok((*route, params));
            }
            allow.push(m.as_ref());
        }
    }
    if allow.is_empty() {
        Err(ApiError::NotFound("route"))
    } else {
        Err(ApiError::MethodNotAllowed {
            allow: allow.join(", "),
        })
    }
}

impl Route {
    /// Whether the route acts with credentials a browser may attach on its own (a
    /// cached Basic password): every route but the app-facing ones, whose credential is
    /// the token in their body.
    pub(crate) fn ambient(self) -> bool {
        !matches!(
            self,
            Route::LicensesValidate
                | Route::SeatsCheckout
                | Route::SeatsHeartbeat
                | Route::SeatsRelease
        )
    }
}

pub(crate) async fn dispatch(mut req: Request, env: Env) -> Result<Response, ApiError> {
    let (route, params) = resolve(&req.method(), &req.path())?;
    crate::guard::check(&req, route.ambient())?;
    match route {
        Route::Health => routes::health::get(&env).await,
        Route::OpenApi => routes::openapi::get(),
        Route::Jwks => routes::jwks::get(&env).await,
        Route::Me => routes::me::get(&req, &env).await,
        Route::SessionCreate => routes::session::create(&mut req, &env).await,
        Route::SessionDelete => routes::session::delete(&req, &env).await,
        Route::UsersList => routes::users::list(&req, &env).await,
        Route::UsersCreate => routes::users::create(&mut req, &env).await,
        Route::UsersGet => routes::users::get(&req, &env, params.get("username")).await,
        Route::UsersUpdate => routes::users::update(&mut req, &env, params.get("username")).await,
        Route::UsersDelete => routes::users::delete(&req, &env, params.get("username")).await,
        Route::TokensList => routes::tokens::list(&req, &env).await,
        Route::TokensCreate => routes::tokens::create(&mut req, &env).await,
        Route::TokensGet => routes::tokens::get(&req, &env, params.get("id")).await,
        Route::TokensUpdate => routes::tokens::update(&mut req, &env, params.get("id")).await,
        Route::TokensDelete => routes::tokens::delete(&req, &env, params.get("id")).await,
        Route::VaultTokenGet => routes::vault_token::get(&req, &env).await,
        Route::VaultTokenGenerate => routes::vault_token::generate(&req, &env).await,
        Route::VaultTokenDelete => routes::vault_token::delete(&req, &env).await,
        Route::AgentPing => routes::agent::ping(&req, &env).await,
        Route::KeysList => routes::keys::list(&req, &env).await,
        Route::KeysRotate => routes::keys::rotate(&req, &env).await,
        Route::LicensesList => routes::licenses::list(&req, &env).await,
        Route::LicensesIssue => routes::licenses::issue(&mut req, &env).await,
        Route::LicensesGet => routes::licenses::get(&req, &env, params.get("lid")).await,
        Route::LicensesRevoke => routes::licenses::revoke(&req, &env, params.get("lid")).await,
        Route::LicensingCheck => routes::licensing::check(&req, &env).await,
        Route::LicensingApply => routes::licensing::apply(&mut req, &env).await,
        Route::LicensingRenew => routes::licensing::renew(&mut req, &env).await,
        Route::LicensingRemove => routes::licensing::remove(&mut req, &env).await,
        Route::LicensingApplied => routes::licensing::applied(&req, &env).await,
        Route::LicensesValidate => routes::validate::post(&mut req, &env).await,
        Route::SeatsCheckout => routes::seats::checkout(&mut req, &env).await,
        Route::SeatsHeartbeat => routes::seats::heartbeat(&mut req, &env).await,
        Route::SeatsRelease => routes::seats::release(&mut req, &env).await,
        Route::VaultProducts => routes::vault::products(&req, &env).await,
        Route::VaultProductLicences => {
            routes::vault::product_licences(&req, &env, params.get("product")).await
        }
        Route::VaultProductDisconnect => {
            routes::vault::disconnect(&mut req, &env, params.get("product")).await
        }
        Route::VaultProductConnect => {
            routes::vault::connect(&mut req, &env, params.get("product")).await
        }
        Route::VaultUsers => routes::vault::users(&req, &env).await,
        Route::VaultUserLicences => {
            routes::vault::user_licences(&req, &env, params.get("user")).await
        }
        Route::VaultUserRevokeAll => {
            routes::vault::revoke_user_licences(&req, &env, params.get("user")).await
        }
        Route::VaultUserRevokeOne => {
            let (user, lease) = (params.get("user"), params.get("lease"));
            routes::vault::revoke_user_licence(&req, &env, user, lease).await
        }
        Route::VaultBlocks => routes::vault::blocks(&req, &env).await,
        Route::VaultUnblock => routes::vault::unblock(&req, &env, params.get("user")).await,
        Route::VaultLicence => routes::vault::licence(&req, &env, params.get("lid")).await,
        Route::VaultLicenceEvents => {
            routes::vault::licence_events(&req, &env, params.get("lid")).await
        }
        Route::ReportsUsage => routes::reports::usage_report(&req, &env).await,
        Route::ReportsDenials => routes::reports::denials(&req, &env).await,
        Route::AgentEvents => routes::agent::events(&mut req, &env).await,
        Route::AuditLog => routes::audit::list(&req, &env).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_known_routes_and_refuses_the_rest() {
        assert_eq!(
            resolve(&Get, "/api/health").ok().map(|r| r.0),
            Some(Route::Health)
        );
        assert!(matches!(
            resolve(&Post, "/api/health"),
            Err(ApiError::MethodNotAllowed { allow }) if allow == "GET"
        ));
        assert!(matches!(
            resolve(&Method::Put, "/api/licensing/token"),
            Err(ApiError::MethodNotAllowed { allow }) if allow == "POST, DELETE"
        ));
        assert!(matches!(
            resolve(&Get, "/api/nope"),
            Err(ApiError::NotFound(_))
        ));
        assert!(matches!(
            resolve(&Get, "/api/licenses/"),
            Err(ApiError::NotFound(_))
        ));
        assert!(matches!(
            resolve(&Get, "/api/licenses/a/b"),
            Err(ApiError::NotFound(_))
        ));
        // Paths that share a pattern's fixed text only in part, or pass its end, or
        // put a multi-byte character where a parameter begins.
        let cases = [
            ("/api/licenses", Some(Route::LicensesList)),
            ("/api/licensesX/abc", None),
            ("/api/vault/users/ann/licenses/", None),
            ("/api/health/", None),
            ("", None),
            ("/", None),
            (
                "/api/vault/users/é/licenses",
                Some(Route::VaultUserLicences),
            ),
            ("/api/vault/usersé/licenses", None),
        ];
        for (path, expected) in cases {
            assert_eq!(resolve(&Get, path).ok().map(|r| r.0), expected, "{path}");
        }
    }

    #[test]
    fn fixed_lengths_end_at_the_first_parameter() {
        for ((_, pattern, _), fixed) in ROUTES.iter().zip(FIXED_LEN) {
            assert_eq!(
                fixed,
                pattern.find(':').unwrap_or(pattern.len()),
                "{pattern}"
            );
        }
    }

    #[test]
    fn captures_path_parameters() {
        let (route, params) = resolve(&Post, "/api/licenses/abc-123/revoke").expect("route");
        assert_eq!(route, Route::LicensesRevoke);
        assert_eq!(params.get("lid"), "abc-123");
        let (route, params) =
            resolve(&Delete, "/api/vault/users/ann%40example.com/licenses/l.1").expect("route");
        assert_eq!(route, Route::VaultUserRevokeOne);
        assert_eq!(
            (params.get("user"), params.get("lease")),
            ("ann@example.com", "l.1")
        );
        assert!(matches!(
            resolve(&Get, "/api/vault/users/%FF/licenses"),
            Err(ApiError::NotFound(_))
        ));
        // A fixed path beside a parameter: validate is not a licence id for POST.
        assert_eq!(
            resolve(&Post, "/api/licenses/validate").ok().map(|r| r.0),
            Some(Route::LicensesValidate)
        );
    }

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
}
