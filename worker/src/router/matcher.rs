//! Matching a request's method and path against a route table: pure (the table, a
//! method and a path in; the route and its path parameters, or an error, out), so it is
//! tested without a runtime. Generic over the route type: the table is `mod.rs`'s.

use worker::Method;

use crate::error::ApiError;

/// A route table: each route's method, path pattern (`:name` matches one path segment)
/// and route.
pub(crate) type Table<R> = [(Method, &'static str, R)];

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

/// For each route of `table`, the length of its pattern before its first `:` (the
/// whole pattern when it has no parameter), worked out at compile time (the table's
/// `const`) so that matching a request scans no pattern: a profile of `GET /api/nope`
/// put splitting every pattern and the path on each request at 13% of it.
pub(crate) const fn fixed_lengths<R, const N: usize>(table: &Table<R>) -> [usize; N] {
    let mut lengths = [0; N];
    let mut i = 0;
    while i < N && i < table.len() {
        let pattern = table[i].1.as_bytes();
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
pub(crate) fn matches(pattern: &'static str, fixed: usize, path: &str) -> Option<Params> {
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
/// `fixed` is [`fixed_lengths`] of `table`.
pub(crate) fn resolve<R: Copy>(
    table: &Table<R>,
    fixed: &[usize],
    method: &Method,
    path: &str,
) -> Result<(R, Params), ApiError> {
    let mut allow: Vec<&str> = Vec::new();
    for ((m, pattern, route), &fixed) in table.iter().zip(fixed) {
        if let Some(params) = matches(pattern, fixed, path) {
            if m == method {
                return Ok((*route, params));
            }
            allow.push(m.as_ref());
        }
    }
    if allow.is_empty() {
        Err(ApiError::NotFound("route".into()))
    } else {
        Err(ApiError::MethodNotAllowed {
            allow: allow.join(", "),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::router::{FIXED_LEN, ROUTES, Route, resolve};
    use worker::Method::{Delete, Get, Post};

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
                Some(Route::VaultUserLicenses),
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
        // A fixed path beside a parameter: validate is not a license id for POST.
        assert_eq!(
            resolve(&Post, "/api/licenses/validate").ok().map(|r| r.0),
            Some(Route::LicensesValidate)
        );
    }
}
