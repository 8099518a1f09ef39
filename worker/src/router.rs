//! The route table: the one place that lists every route of the API.
//!
//! `resolve` is pure (method and path in, route or error out) so the table can be read
//! at a glance and tested without a runtime; `dispatch` runs the chosen handler.

use worker::{Env, Method, Request, Response};

use crate::error::ApiError;
use crate::routes;

/// Every route the worker serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// `GET /api/health`
    Health,
}

/// Every route's method and path, for the OpenAPI check.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) const ROUTES: &[(Method, &str, Route)] = &[(Method::Get, "/api/health", Route::Health)];

/// The route for `method` and `path`: `NOT_FOUND` when no route has this path,
/// `METHOD_NOT_ALLOWED` when one does but not with this method.
pub(crate) fn resolve(method: &Method, path: &str) -> Result<Route, ApiError> {
    let mut allow: Vec<&str> = Vec::new();
    for (m, p, route) in ROUTES {
        if *p == path {
            if m == method {
                return Ok(*route);
            }
            allow.push(m.as_ref());
        }
    }
    Err(if allow.is_empty() {
        ApiError::NotFound
    } else {
        ApiError::MethodNotAllowed {
            allow: allow.join(", "),
        }
    })
}

pub(crate) async fn dispatch(req: Request, env: Env) -> Result<Response, ApiError> {
    match resolve(&req.method(), &req.path())? {
        Route::Health => routes::health::get(&env).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_known_routes_and_refuses_the_rest() {
        assert_eq!(
            resolve(&Method::Get, "/api/health").ok(),
            Some(Route::Health)
        );
        assert!(
            matches!(resolve(&Method::Post, "/api/health"), Err(ApiError::MethodNotAllowed { allow }) if allow == "GET")
        );
        assert!(matches!(
            resolve(&Method::Get, "/api/nope"),
            Err(ApiError::NotFound)
        ));
    }
}
