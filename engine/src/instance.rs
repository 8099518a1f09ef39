//! The canonical form of an instance's root URL (a license's `sub`).
//!
//! Instances are named by URL, and people type URLs loosely. Two spellings name the
//! same instance when they differ only in the case of scheme and host, in a default port
//! (`https://x:443/` is `https://x/`), or in trailing slashes. The scheme is kept:
//! `http://` and `https://` are different deployments. This module does not resolve
//! hosts, apply IDNA or decode percent-escapes.
//!
//! Written by hand, and held to the WHATWG URL parser (the `url` crate) by a
//! differential test over generated URLs (`tests`): `url` with its IDNA tables adds
//! 25 KB gzip to the npm validator (91 → 117 KB, over its 100 KB budget; measured with
//! `scripts/build`), for a check this small.

use alloc::string::String;

/// The longest instance URL accepted, in bytes: it becomes part of a storage key, and
/// Workers KV refuses keys over 512 bytes.
pub const MAX_INSTANCE_BYTES: usize = 400;

/// Canonicalise an instance root URL, or `None` if it is not one.
///
/// Accepts `http://` or `https://` URLs with a non-empty host, no credentials, no
/// whitespace, no query or fragment; returns them with scheme and host lower-cased, the
/// default port dropped, and exactly one trailing slash.
///
/// ```
/// use tessera_engine::normalize_instance;
/// assert_eq!(
///     normalize_instance("HTTPS://Play.Example.org:443").as_deref(),
///     Some("https://play.example.org/")
/// );
/// assert_eq!(normalize_instance("play.example.org"), None);
/// ```
pub fn normalize_instance(url: &str) -> Option<String> {
    if url.len() > MAX_INSTANCE_BYTES
        || url.bytes().any(|b| {
            b.is_ascii_whitespace() || b.is_ascii_control() || matches!(b, b'?' | b'#' | b'\\')
        })
    {
        return None;
    }
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => "80",
        "https" => "443",
        _ => return None,
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if authority.contains('@') {
        return None;
    }
    // The port follows the last `:` outside an IPv6 literal's brackets.
    let (host, port) = match authority.rfind(':') {
        Some(i) if !authority[i..].contains(']') => (&authority[..i], Some(&authority[i + 1..])),
        _ => (authority, None),
    };
    if host.is_empty() || !plain_host(host) {
        return None;
    }
    let port = match port {
        None | Some("") => None,
        Some(p) if !p.bytes().all(|b| b.is_ascii_digit()) => return None,
        Some(p) => {
            let digits = p.trim_start_matches('0');
            let n: u32 = if digits.is_empty() {
                0
            } else {
                digits.parse().ok()?
            };
            if n > 65_535 {
                return None;
            }
            let n = alloc::format!("{n}");
            (n != default_port).then_some(n)
        }
    };
    let mut out = String::with_capacity(url.len() + 1);
    out.push_str(&scheme);
    out.push_str("://");
    out.push_str(&host.to_ascii_lowercase());
    if let Some(port) = port {
        out.push(':');
        out.push_str(&port);
    }
    out.push_str(path.trim_end_matches('/'));
    out.push('/');
    Some(out)
}

/// Whether `host` names itself one way only: a name, an IPv6 literal, or a canonical
/// dotted-quad IPv4 address. The URL parser reads a host ending in a number as IPv4 in
/// any of its spellings (`0` is `0.0.0.0`, `0x7f.1` is `127.0.0.1`); those are refused
/// rather than canonicalised.
fn plain_host(host: &str) -> bool {
    if host.starts_with('[') {
        return host.ends_with(']');
    }
    let last = host.rsplit('.').find(|l| !l.is_empty()).unwrap_or(host);
    let numeric = last.bytes().all(|b| b.is_ascii_digit())
        || last.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("0x"));
    if !numeric {
        return true;
    }
    let parts: alloc::vec::Vec<&str> = host.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 3
                && p.bytes().all(|b| b.is_ascii_digit())
                && (p.len() == 1 || !p.starts_with('0'))
                && p.parse::<u16>().is_ok_and(|n| n <= 255)
        })
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
            ("https://example.org:443/", "https://example.org/"),
            ("http://example.org:80", "http://example.org/"),
            ("https://example.org:8443/", "https://example.org:8443/"),
            ("https://[::1]:8787/", "https://[::1]:8787/"),
            ("https://[::1]/", "https://[::1]/"),
            ("http://127.0.0.1:8787/", "http://127.0.0.1:8787/"),
            ("https://v2.example.org/", "https://v2.example.org/"),
            ("https://example.org:0443/", "https://example.org/"),
            ("https://example.org:/", "https://example.org/"),
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
            "https://user:pw@example.org/",
            "https://example.org/?",
            "https:example.org",
            "https:\\\\example.org",
            "https://exa\tmple.org/",
            "https://example.org:99999/",
            "https://example.org:8a/",
            "http://0/",
            "http://0x7f.1/",
            "http://127.1/",
            "http://127.000.0.1/",
        ] {
            assert_eq!(normalize_instance(input), None, "{input:?}");
        }
        let long = alloc::format!("https://{}.org/", "a".repeat(MAX_INSTANCE_BYTES));
        assert_eq!(normalize_instance(&long), None);
    }

    #[test]
    fn scheme_matters_but_case_slash_and_default_port_do_not() {
        assert!(same_instance("https://a.example/", "HTTPS://A.example"));
        assert!(same_instance(
            "https://a.example:443/",
            "https://a.example/"
        ));
        assert!(!same_instance(
            "https://a.example:8443/",
            "https://a.example/"
        ));
        assert!(!same_instance("http://a.example/", "https://a.example/"));
        assert!(!same_instance("not a url", "not a url"));
    }

    /// The hand-written normaliser against the WHATWG parser, over generated URLs: the
    /// same canonical form wherever both accept, in the grammar instances are typed in
    /// (case, default or explicit ports, paths, trailing slashes).
    mod against_url {
        use alloc::string::{String, ToString};
        use proptest::prelude::*;

        use super::*;

        fn reference(input: &str) -> Option<String> {
            let url = url::Url::parse(input).ok()?;
            let mut out = alloc::format!("{}://{}", url.scheme(), url.host_str()?);
            if let Some(port) = url.port() {
                out.push(':');
                out.push_str(&port.to_string());
            }
            out.push_str(url.path().trim_end_matches('/'));
            out.push('/');
            Some(out)
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2_000))]
            #[test]
            fn agrees_with_the_url_crate(
                scheme in "(?i)https?",
                labels in proptest::collection::vec("[a-zA-Z0-9]([a-zA-Z0-9-]{0,8}[a-zA-Z0-9])?", 1..4),
                port in proptest::option::of(prop_oneof![Just(80u32), Just(443), 1u32..65_536]),
                segments in proptest::collection::vec("[a-zA-Z0-9_.~-]{1,8}", 0..3),
                slashes in 0usize..3,
            ) {
                let host = labels.join(".");
                let mut input = alloc::format!("{scheme}://{host}");
                if let Some(p) = port {
                    input.push_str(&alloc::format!(":{p}"));
                }
                for s in &segments {
                    input.push('/');
                    input.push_str(s);
                }
                input.push_str(&"/".repeat(slashes));
                // `.` and `..` segments are resolved by the parser, kept here; a punycode
                // label (`xn--`) is taken as written here, decoded to check there: leave
                // both out.
                prop_assume!(segments.iter().all(|s| s != "." && s != ".."));
                prop_assume!(labels.iter().all(|l| !l.to_ascii_lowercase().starts_with("xn--")));
                let ours = normalize_instance(&input);
                let theirs = reference(&input);
                // Where both accept, the same form; what the parser refuses, refused; a
                // host the parser would rewrite as IPv4 is refused here rather than
                // rewritten.
                if let Some(ours) = &ours {
                    prop_assert_eq!(Some(ours), theirs.as_ref(), "{}", input);
                } else {
                    let host = labels.join(".");
                    prop_assert!(theirs.is_none() || !plain_host(&host), "{} refused, parser gave {:?}", input, theirs);
                }
            }
        }
    }
}
