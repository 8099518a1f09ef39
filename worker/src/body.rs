//! Reading a JSON request body: size limit, media type, and precise 4xx errors.
//!
//! Syntax errors are `MALFORMED_JSON`; JSON of the wrong shape (wrong types, missing
//! or unknown fields) is `INVALID_BODY`; a body over the limit is `PAYLOAD_TOO_LARGE`
//! and is refused from its `Content-Length` before it is read, or else as soon as the
//! bytes read pass the limit; a body that cannot be read is `MALFORMED_JSON`.

use crate::request::Request;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The largest body any route accepts. Licenses are under 1 KiB.
pub(crate) const MAX_BODY_BYTES: usize = 64 * 1024;

/// Parse the body as `T`. An empty body parses as `{}` (seed 004's renew sends `{}`
/// but clients often send nothing).
pub(crate) async fn json<T: DeserializeOwned>(req: &mut Request) -> Result<T, ApiError> {
    json_up_to(req, MAX_BODY_BYTES).await
}

/// [`json`] with a limit of `limit` bytes (for a route that takes batches).
pub(crate) async fn json_up_to<T: DeserializeOwned>(
    req: &mut Request,
    limit: usize,
) -> Result<T, ApiError> {
    let headers = req.headers();
    if let Some(media) = headers.get("Content-Type")? {
        let media = media
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if media != "application/json" && !media.is_empty() {
            return Err(ApiError::UnsupportedMediaType);
        }
    }
    let declared = headers
        .get("Content-Length")?
        .and_then(|length| length.trim().parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::PayloadTooLarge(limit));
    }
    // A body that cannot be read to its end is a 400, never read as `{}`: routes whose
    // fields all have defaults would accept that.
    let unreadable =
        |e: worker::Error| ApiError::MalformedJson(format!("the body could not be read: {e}"));
    let bytes = match declared {
        Some(0) => Vec::new(),
        // Declared within the limit: no more can arrive, so it is read in one go.
        Some(_) => req.bytes().await.map_err(unreadable)?,
        // Undeclared (chunked): read with a running count and cut at the limit.
        None => req
            .bytes_up_to(limit)
            .await
            .map_err(unreadable)?
            .ok_or(ApiError::PayloadTooLarge(limit))?,
    };
    parse_up_to(&bytes, limit)
}

/// The pure half of [`json`], for tests.
#[cfg(test)]
pub(crate) fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    parse_up_to(bytes, MAX_BODY_BYTES)
}

fn parse_up_to<T: DeserializeOwned>(bytes: &[u8], limit: usize) -> Result<T, ApiError> {
    if bytes.len() > limit {
        return Err(ApiError::PayloadTooLarge(limit));
    }
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    // Syntax first, without building anything, so `[1,2` is MALFORMED_JSON even though a
    // typed parse would stop earlier at the wrong type.
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes)
        .map_err(|e| ApiError::MalformedJson(e.to_string()))?;
    // Every body is an object: serde would also read a struct from an array
    // (`[null, null]` as `{"description": null, "status": null}`).
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::InvalidBody(
            "the body must be a JSON object".into(),
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| ApiError::InvalidBody(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_engine::api::ApplyToken;

    #[test]
    fn classifies_bad_bodies() {
        assert!(matches!(
            parse::<ApplyToken>(b"{\"token\":"),
            Err(ApiError::MalformedJson(_))
        ));
        assert!(matches!(
            parse::<ApplyToken>(b"[1,2"),
            Err(ApiError::MalformedJson(_))
        ));
        assert!(matches!(
            parse::<ApplyToken>(b"{\"token\":5}"),
            Err(ApiError::InvalidBody(_))
        ));
        assert!(matches!(
            parse::<ApplyToken>(b"{}"),
            Err(ApiError::InvalidBody(_))
        ));
        assert!(matches!(
            parse::<ApplyToken>(b"{\"token\":\"a\",\"x\":1}"),
            Err(ApiError::InvalidBody(_))
        ));
        // A struct is never read from an array (serde would): found by schemathesis.
        assert!(matches!(
            parse::<tessera_engine::UpdateToken>(b"[null, null]"),
            Err(ApiError::InvalidBody(_))
        ));
        assert!(matches!(
            parse::<ApplyToken>(b" [\"a\"]"),
            Err(ApiError::InvalidBody(_))
        ));
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        assert!(matches!(
            parse::<ApplyToken>(&big),
            Err(ApiError::PayloadTooLarge(_))
        ));
        assert_eq!(
            parse::<ApplyToken>(b"{\"token\":\"a\"}")
                .ok()
                .map(|t| t.token),
            Some("a".into())
        );
    }
}
