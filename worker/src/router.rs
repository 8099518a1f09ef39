//! The route table: the one place that lists every route of the API.
//!
//! `resolve` is pure (method and path in, route and path parameters or an error out),
//! so the table reads at a glance and is tested without a runtime — including against
//! the OpenAPI document, which must list exactly these routes.

use worker::{Env, Method, Request, Response};

use crate::error::ApiError;
use crate::routes;

/// Every route the worker serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    Health,
    OpenApi,
    Jwks,
    Me,
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
    VaultGet,
    VaultGenerate,
    VaultDelete,
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
}

use Method::{Delete, Get, Patch, Post};

/// Every route's method and path pattern (`:name` matches one path segment).
pub(crate) const ROUTES: &[(Method, &str, Route)] = &[
    (Get, "/api/health", Route::Health),
    (Get, "/api/openapi.json", Route::OpenApi),
    (Get, "/.well-known/jwks.json", Route::Jwks),
    (Get, "/api/me", Route::Me),
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
    (Get, "/api/vault-token", Route::VaultGet),
    (Post, "/api/vault-token", Route::VaultGenerate),
    (Delete, "/api/vault-token", Route::VaultDelete),
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
];

/// The path parameters of a matched route.
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

fn matches(pattern: &'static str, path: &str) -> Option<Params> {
    let mut params = Vec::new();
    let mut want = pattern.split('/');
    let mut have = path.split('/');
    loop {
        match (want.next(), have.next()) {
            (None, None) => return Some(Params(params)),
            (Some(w), Some(h)) if w.starts_with(':') && !h.is_empty() => {
                params.push((&w[1..], h.to_string()))
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
    for (m, pattern, route) in ROUTES {
        if let Some(params) = matches(pattern, path) {
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

pub(crate) async fn dispatch(mut req: Request, env: Env) -> Result<Response, ApiError> {
    let (route, params) = resolve(&req.method(), &req.path())?;
    match route {
        Route::Health => routes::health::get(&env).await,
        Route::OpenApi => routes::openapi::get(),
        Route::Jwks => routes::jwks::get(&env).await,
        Route::Me => routes::me::get(&req, &env).await,
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
        Route::VaultGet => routes::vault::get(&req, &env).await,
        Route::VaultGenerate => routes::vault::generate(&req, &env).await,
        Route::VaultDelete => routes::vault::delete(&req, &env).await,
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
    }

    #[test]
    fn captures_path_parameters() {
        let (route, params) = resolve(&Post, "/api/licenses/abc-123/revoke").expect("route");
        assert_eq!(route, Route::LicensesRevoke);
        assert_eq!(params.get("lid"), "abc-123");
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
