//! The worker's Durable Objects and how the worker talks to them.
//!
//! - `licence`: [`LicenceObject`](licence::LicenceObject), one per licence (`lid`): its
//!   seat terms, revocation, leases and seat events — the unit that must be consistent.
//!   Seat requests for different licences never queue behind one object.
//! - `directory`: [`VaultDirectory`](directory::VaultDirectory), one per deployment: the
//!   vault's deny state (blocks, disconnected products, "revoke all") and a roll-up of
//!   who holds what, which licence objects report to it. It is never on an app's path
//!   except for a licence object's refresh of the deny state, at most once per
//!   [`DENY_REFRESH_SECONDS`](directory::DENY_REFRESH_SECONDS) per licence.
//! - `accounts`: [`AccountsObject`](accounts::AccountsObject), one per deployment: users,
//!   API and Agent tokens, the vault access token — every credential check reads it, so a
//!   disable takes effect for the next request everywhere.
//! - `limiter`: [`SignInLimiter`](limiter::SignInLimiter), one per username and per
//!   client address, counting failed sign-ins.
//!
//! A Rust Durable Object has no RPC here: each object answers one `POST` whose JSON body
//! is a tagged request enum its module owns, and replies with that request's JSON
//! answer. [`call`] is the one client; [`serve`] the one server loop.

pub(crate) mod accounts;
pub(crate) mod directory;
pub(crate) mod licence;
pub(crate) mod limiter;

use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::{JsCast as _, JsValue};
use wasm_bindgen_futures::JsFuture;
use worker::{Request, Response, Stub};

use crate::error::ApiError;

/// Send `message` to an object and read its answer.
///
/// The request and the answer stay JavaScript objects, read with the runtime's own
/// `text()`: converting the answer to a `worker::Response` reads its body as a stream,
/// chunk by chunk through wasm, which measured as the largest part of an object call.
pub(crate) async fn call<T: DeserializeOwned>(
    stub: Stub,
    message: &impl Serialize,
) -> Result<T, ApiError> {
    let json = serde_json::to_string(message).map_err(|e| ApiError::Internal(e.to_string()))?;
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    init.set_body(&JsValue::from_str(&json));
    let request = web_sys::Request::new_with_str_and_init("https://object.internal/", &init)
        .map_err(js_error)?;
    let stub: worker::worker_sys::DurableObject = stub.into_rpc();
    let response: web_sys::Response =
        JsFuture::from(stub.fetch_with_request(&request).map_err(js_error)?)
            .await
            .map_err(js_error)?
            .unchecked_into();
    let text = JsFuture::from(response.text().map_err(js_error)?)
        .await
        .map_err(js_error)?
        .as_string()
        .unwrap_or_default();
    if response.status() != 200 {
        return Err(ApiError::Internal(format!(
            "object answered {}: {text}",
            response.status()
        )));
    }
    serde_json::from_str(&text)
        .map_err(|e| ApiError::Internal(format!("unreadable object answer: {e}")))
}

fn js_error(e: JsValue) -> ApiError {
    ApiError::Internal(format!("object call: {e:?}"))
}

/// Read an object's request, run `handle`, and answer with its JSON (or a 500 carrying
/// the failure, which [`call`] turns back into an internal error).
pub(crate) async fn serve<M, T, F>(
    mut req: Request,
    handle: impl FnOnce(M) -> F,
) -> worker::Result<Response>
where
    M: DeserializeOwned,
    T: Serialize,
    F: core::future::Future<Output = Result<T, ApiError>>,
{
    let text = req.text().await?;
    let message: M = match serde_json::from_str(&text) {
        Ok(m) => m,
        Err(e) => return Response::error(format!("bad object request: {e}"), 500),
    };
    match handle(message).await {
        Ok(answer) => Response::from_json(&answer),
        Err(e) => {
            worker::console_error!("object request failed: {e:?}");
            Response::error(format!("{e:?}"), 500)
        }
    }
}

/// SQL statement helpers over a Durable Object's SQLite storage.
pub(crate) mod sql {
    use serde::de::DeserializeOwned;
    use worker::{SqlStorage, SqlStorageValue};

    use crate::error::ApiError;

    /// Run a statement that returns nothing.
    pub(crate) fn run(
        sql: &SqlStorage,
        query: &str,
        args: Vec<SqlStorageValue>,
    ) -> Result<(), ApiError> {
        sql.exec(query, args)?;
        Ok(())
    }

    /// Run a query and read every row as `T`.
    pub(crate) fn rows<T: DeserializeOwned>(
        sql: &SqlStorage,
        query: &str,
        args: Vec<SqlStorageValue>,
    ) -> Result<Vec<T>, ApiError> {
        Ok(sql.exec(query, args)?.to_array()?)
    }

    /// An integer argument (every integer here is well within 2^53).
    pub(crate) fn int(n: u64) -> SqlStorageValue {
        SqlStorageValue::Integer(n.min(i64::MAX as u64) as i64)
    }

    /// A text argument.
    pub(crate) fn text(s: &str) -> SqlStorageValue {
        SqlStorageValue::String(s.to_string())
    }
}
