//! Tessera's Cloudflare Worker: the JSON API, in front of the admin console's assets.
//!
//! Requests for `/api/*` and `/.well-known/*` reach this worker (see
//! `run_worker_first` in `wrangler.toml`); everything else is the console's static
//! build, served by the assets binding before the worker runs.
//!
//! # Layout
//!
//! - `router/`: the route table (`mod.rs`): every route once — method, path, who may call
//!   it, handler — from which the router matches (`matcher.rs`), the guard and the
//!   authorisation run before any handler, and the OpenAPI generator reads.
//! - `routes/<resource>.rs`: one module per resource, owning its handlers and the
//!   shapes only it uses (wire types shared with the console are the engine's `api`);
//!   `routes/openapi/` serves the committed OpenAPI document and, in tests, generates it.
//! - `error`: [`ApiError`](error::ApiError), the closed set of API error codes, their
//!   HTTP statuses and the one JSON envelope; engine errors map to it here only; and
//!   `WireError`, the one error type that crosses a Durable Object call.
//! - `auth`: Basic (users), Bearer (API, Agent and vault tokens) and console-session
//!   authentication, and permission checks (called by the router only).
//! - `users`, `tokens`: the worker's side of users (username and password rules,
//!   PBKDF2, the bootstrap administrator) and of tokens (resolving a Bearer secret,
//!   "last used", the vault token); both are kept by the accounts object.
//! - `deployment`: this deployment's instance and issuer URLs and its signing keyring.
//! - `objects/`: the Durable Objects, a folder each — `license/` (one per license:
//!   revocation, seats, seat events), `directory/` (the vault's deny state), `rollup/`
//!   (who holds what, in eight shards that deliver the deny state to their licenses),
//!   `accounts/` (users, tokens, sessions, rotated keys), `limiter/` (failed sign-ins)
//!   — each a `protocol.rs` other modules import, a thin shell (`mod.rs`) and its SQL
//!   (`store.rs`), over `objects/shell.rs`.
//! - `events`: the event store (D1) — seat events handed over by the license objects
//!   and by agents, the seats they imply (spans) for the reports, and the audit log.
//! - `audit`: recording one audit entry per change made through the API.
//! - `kv`: the engine's `Store` over Workers KV (license records, applied licenses).
//! - `body`: JSON request bodies with a size limit and precise 400s.
//! - `guard`: what every state-changing request must show first: not cross-site, and
//!   JSON if it has a body.
//! - `request`: the incoming request as routes read it (without `worker::Request`'s
//!   per-request read of `request.cf`).
//! - `query`: query parameters, flags and the one pagination rule.
//! - `csv`: the reports' and the audit log's CSV exports.
//! - `proof`: installations proving themselves (RFC 9449 DPoP proofs, tokens bound
//!   to their keys), at the edge; the license object refuses replays.
//! - `bench` (feature `bench`, bench builds only): an empty license-object call, the
//!   floor `tests/bench/hotpath.mjs` measures the seat routes against.
//! - `platform`: clock, randomness, secret hashing, Web Crypto PBKDF2 and the token
//!   signer (Web Crypto Ed25519 from non-extractable keys) — what the engine leaves out.
//!
//! Licensing rules live in `tessera-engine`; this crate only does I/O around them.

mod audit;
mod auth;
#[cfg(feature = "bench")]
mod bench;
mod body;
mod csv;
mod deployment;
mod error;
mod events;
mod guard;
mod kv;
mod objects;
mod platform;
mod proof;
mod query;
mod request;
mod router;
mod routes;
mod tokens;
mod users;

use worker::{Context, Env, Response, event};

/// The worker's entry point. Every outcome, including every error, is a response:
/// nothing falls through to the runtime's generic 500.
#[event(fetch)]
async fn fetch(req: web_sys::Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let req = request::Request::new(req);
    // The app routes answer browsers on any origin (CORS): apps call them with their
    // own credentials (a license or lease token, a DPoP proof), never an ambient one.
    let cors = router::app_path(&req.path());
    if cors && req.method() == worker::Method::Options {
        let mut preflight = Response::empty()?.with_status(204);
        let headers = preflight.headers_mut();
        headers.set("Access-Control-Allow-Methods", "POST, DELETE")?;
        headers.set(
            "Access-Control-Allow-Headers",
            "Authorization, Content-Type, DPoP, Idempotency-Key",
        )?;
        headers.set("Access-Control-Max-Age", "86400")?;
        headers.set("Access-Control-Allow-Origin", "*")?;
        return Ok(preflight);
    }
    #[cfg(feature = "bench")]
    if req.path() == bench::PATH {
        let mut req = req;
        return match bench::empty_object(&mut req, &env).await {
            Ok(response) => Ok(response),
            Err(error) => error.into_response(),
        };
    }
    let mut response = match router::dispatch(req, env).await {
        Ok(response) => response,
        Err(error) => error.into_response()?,
    };
    let headers = response.headers_mut();
    if cors {
        headers.set("Access-Control-Allow-Origin", "*")?;
        headers.set(
            "Access-Control-Expose-Headers",
            "Date, Retry-After, WWW-Authenticate",
        )?;
        // Apps date their DPoP proofs by the server's clock when theirs is off: they read
        // it here (Cloudflare's edge sets it; local workerd does not).
        if !headers.has("Date")? {
            let now = js_sys::Date::new_0().to_utc_string();
            headers.set("Date", &String::from(now))?;
        }
    }
    // API answers are per caller and some carry a secret once: no cache may keep them.
    // (The JWKS and the OpenAPI document set their own caching.)
    if !headers.has("Cache-Control")? {
        headers.set("Cache-Control", "no-store")?;
    }
    Ok(response)
}
