//! The incoming request as the routes read it: a thin view of the runtime's `Request`.
//!
//! Not `worker::Request`: building one reads `request.cf`, an object the runtime parses
//! anew on every access, and nothing here needs it. A CPU profile of a route that does
//! nothing (`GET /api/nope`, `tests/bench/profile.mjs`) put that read at 12–13% of the
//! request. The URL is parsed once, when first asked for.

use std::cell::OnceCell;

use wasm_bindgen_futures::JsFuture;
use worker::{Headers, Method, Url};

/// An incoming request.
pub(crate) struct Request {
    inner: web_sys::Request,
    headers: Headers,
    url: OnceCell<Url>,
}

impl Request {
    pub(crate) fn new(inner: web_sys::Request) -> Request {
        let headers = Headers(inner.headers());
        Request {
            inner,
            headers,
            url: OnceCell::new(),
        }
    }

    pub(crate) fn method(&self) -> Method {
        Method::from(self.inner.method())
    }

    pub(crate) fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The parsed URL.
    pub(crate) fn url(&self) -> worker::Result<Url> {
        if let Some(url) = self.url.get() {
            return Ok(url.clone());
        }
        let raw = self.inner.url();
        let url: Url = raw
            .parse()
            .map_err(|e| worker::Error::RustError(format!("failed to parse the URL {raw}: {e}")))?;
        Ok(self.url.get_or_init(|| url).clone())
    }

    /// The URL's path (percent-encoded, as sent).
    pub(crate) fn path(&self) -> String {
        path_of(&self.inner.url())
    }

    /// The body's bytes, read as they arrive with a running count: `Ok(None)` as soon
    /// as they pass `limit` (the rest is never read, so neither a 10 MB body nor a slow
    /// one is held or waited for); once only (a second read is an error).
    /// The whole body in one read, for a body whose `Content-Length` the caller has
    /// checked: HTTP framing delivers no more than it declares.
    pub(crate) async fn bytes(&mut self) -> worker::Result<Vec<u8>> {
        let buffer = JsFuture::from(self.inner.array_buffer()?).await?;
        Ok(js_sys::Uint8Array::new(&buffer).to_vec())
    }

    pub(crate) async fn bytes_up_to(&mut self, limit: usize) -> worker::Result<Option<Vec<u8>>> {
        let Some(stream) = self.inner.body() else {
            return Ok(Some(Vec::new()));
        };
        let reader = web_sys::ReadableStreamDefaultReader::new(&stream)?;
        let mut bytes = Vec::new();
        loop {
            let chunk = JsFuture::from(reader.read()).await?;
            let done = js_sys::Reflect::get(&chunk, &"done".into())?;
            if done.as_bool() == Some(true) {
                return Ok(Some(bytes));
            }
            let value = js_sys::Uint8Array::new(&js_sys::Reflect::get(&chunk, &"value".into())?);
            if bytes.len() + value.length() as usize > limit {
                // Stop reading; the runtime drops the rest of the upload.
                let _ = reader.cancel();
                return Ok(None);
            }
            let at = bytes.len();
            bytes.resize(at + value.length() as usize, 0);
            value.copy_to(&mut bytes[at..]);
        }
    }
}

/// The path of a serialized WHATWG URL (`https://host/path?query#fragment`): everything
/// from the first `/` after the host to the query or fragment. A special scheme's
/// serialization always has a path, in which `?` and `#` are percent-encoded.
fn path_of(url: &str) -> String {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[after_scheme..];
    let Some(start) = rest.find('/') else {
        return "/".into();
    };
    let path = &rest[start..];
    path[..path.find(['?', '#']).unwrap_or(path.len())].into()
}

#[cfg(test)]
mod tests {
    use super::path_of;

    #[test]
    fn the_path_of_a_url() {
        assert_eq!(path_of("https://x.example/api/me?a=1#f"), "/api/me");
        assert_eq!(
            path_of("http://127.0.0.1:8787/api/licenses/L%3F1"),
            "/api/licenses/L%3F1"
        );
        assert_eq!(path_of("https://x.example"), "/");
        assert_eq!(path_of("https://x.example/"), "/");
        assert_eq!(path_of("https://x.example/#top"), "/");
    }
}
