//! The canonical form of an instance's root URL (a licence's `sub`).
//!
//! Instances are named by URL, and people type URLs loosely. Two spellings name the
//! same instance when they differ only in the case of scheme and host, or in a trailing
//! slash. The scheme is kept: `http://` and `https://` are different deployments. This
//! module does not resolve hosts, strip default ports or decode percent-escapes.

use alloc::string::String;

/// The longest instance URL accepted, in bytes: it becomes part of a storage key, and
/// Workers KV refuses keys over 512 bytes.
pub const MAX_INSTANCE_BYTES: usize = 400;

/// Canonicalise an instance root URL, or `None` if it is not one.
///
/// Accepts `http://` or `https://` URLs with a non-empty host, no whitespace, no
/// query or fragment; returns them with scheme and host lower-cased and exactly one
/// trailing slash.
///
/// ```
/// use tessera_engine::normalize_instance;
/// assert_eq!(
///     normalize_instance("HTTPS://Play.Example.org").as_deref(),
///     Some("https://play.example.org/")
/// );
/// assert_eq!(normalize_instance("play.example.org"), None);
/// ```
pub fn normalize_instance(url: &str) -> Option<String> {
    if url.len() > MAX_INSTANCE_BYTES
        || url
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control() || b == b'?' || b == b'#')
    {
        return None;
    }
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let (host, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if host.is_empty() || host.contains('@') {
        return None;
    }
    let mut out = String::with_capacity(url.len() + 1);
    out.push_str(&scheme);
    out.push_str("://");
    out.push_str(&host.to_ascii_lowercase());
    out.push_str(path.trim_end_matches('/'));
    out.push('/');
    Some(out)
}

/// Whether two instance URLs name the same instance. Invalid URLs match nothing.
pub(crate) fn same_instance(a: &str, b: &str) -> bool {
    match (normalize_instance(a), normalize_instance(b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms() {
        for (input, want) in [
            ("https://example.org", "https://example.org/"),
            ("https://Example.ORG/", "https://example.org/"),
            ("HTTP://example.org:8080//", "http://example.org:8080/"),
            ("https://example.org/App/", "https://example.org/App/"),
        ] {
            assert_eq!(normalize_instance(input).as_deref(), Some(want), "{input}");
        }
    }

    #[test]
    fn rejects_what_is_not_a_root_url() {
        for input in [
            "",
            "example.org",
            "ftp://example.org/",
            "https://",
            "https:///path",
            "https://exa mple.org/",
            "https://example.org/?q=1",
            "https://example.org/#top",
            "https://user@example.org/",
        ] {
            assert_eq!(normalize_instance(input), None, "{input:?}");
        }
        let long = alloc::format!("https://{}.org/", "a".repeat(MAX_INSTANCE_BYTES));
        assert_eq!(normalize_instance(&long), None);
    }

    #[test]
    fn scheme_matters_but_case_and_slash_do_not() {
        assert!(same_instance("https://a.example/", "HTTPS://A.example"));
        assert!(!same_instance("http://a.example/", "https://a.example/"));
        assert!(!same_instance("not a url", "not a url"));
    }
}
