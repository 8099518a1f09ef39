//! What every state-changing request must show before any route runs: that it is not a
//! cross-site browser request, and that a body it carries is JSON.
//!
//! A browser attaches credentials it holds (a Basic password it cached, a session
//! cookie) to requests that other sites make it send, and a "simple" cross-site request
//! — a form post, a `no-cors` fetch — needs no permission from this origin. So for
//! `POST`, `PATCH`, `PUT` and `DELETE`:
//!
//! - `Sec-Fetch-Site` (sent by every current browser), when present, must be
//!   `same-origin` or `none` (typed by the user);
//! - `Origin`, when present, must be this deployment's own origin;
//! - a `Content-Type`, when present, must be `application/json` (a form post or a
//!   `text/plain` fetch is always refused, whatever route it aims at).
//!
//! Clients that are not browsers (curl, SDKs, servers) send neither header and pass.
//! The app-facing routes (`/api/licenses/validate`, `/api/seats/*`) take no ambient
//! credential — the license or lease token is in the body — so cross-site use of them
//! forges nothing; they only keep the JSON rule.

use crate::request::Request;
use worker::Method;

use crate::error::ApiError;

/// Check `req` for a route that acts with the caller's credentials (`ambient`) or not.
pub(crate) fn check(req: &Request, ambient: bool) -> Result<(), ApiError> {
    if matches!(req.method(), Method::Get | Method::Head | Method::Options) {
        return Ok(());
    }
    let headers = req.headers();
    if let Some(media) = headers.get("Content-Type")? {
        let media = media.split(';').next().unwrap_or_default().trim();
        if !media.eq_ignore_ascii_case("application/json") {
            return Err(ApiError::UnsupportedMediaType);
        }
    }
    if !ambient {
        return Ok(());
    }
    if let Some(site) = headers.get("Sec-Fetch-Site")?
        && !matches!(site.as_str(), "same-origin" | "none")
    {
        return Err(ApiError::CrossSite);
    }
    if let Some(origin) = headers.get("Origin")? {
        let own = req.url()?.origin().ascii_serialization();
        if origin != own {
            return Err(ApiError::CrossSite);
        }
    }
    Ok(())
}
