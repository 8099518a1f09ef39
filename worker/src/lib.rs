//! Tessera's Cloudflare Worker: the JSON API, in front of the admin console's assets.
//!
//! Requests for `/api/*` and `/.well-known/*` reach this worker (see
//! `run_worker_first` in `wrangler.toml`); everything else is the console's static
//! build, served by the assets binding before the worker runs.
//!
//! # Layout
//!
//! - `router`: maps a method and path to a route, or to `NOT_FOUND` /
//!   `METHOD_NOT_ALLOWED`. The one place that lists every route; a test holds it and
//!   `openapi.json` to the same list.
//! - `routes/<resource>.rs`: one module per resource, owning its handlers.
//! - `error`: [`ApiError`](error::ApiError), the closed set of API error codes, their
//!   HTTP statuses and the one JSON envelope; engine errors map to it here only.
//! - `auth`: Basic (users) and Bearer (tokens) authentication, and permission checks.
//! - `users`: user records and the bootstrap server administrator.
//! - `tokens`: API, Agent and vault tokens in KV, and resolving a Bearer secret.
//! - `deployment`: this deployment's instance and issuer URLs and its signing keyring.
//! - `body`: JSON request bodies with a size limit and precise 400s.
//! - `guard`: what every state-changing request must show first: not cross-site, and
//!   JSON if it has a body.
//! - `kv`: the engine's `Store` over Workers KV.
//! - `request`: the incoming request as routes read it (without `worker::Request`'s
//!   per-request read of `request.cf`).
//! - `query`: query parameters and the one pagination rule (`?cursor`, `?limit`).
//! - `objects/`: the Durable Objects — `licence` (one per licence: revocation, seats,
//!   seat events) and `directory` (the vault's deny state and roll-up) — and the one
//!   JSON protocol the worker speaks to them.
//! - `events`: the event store (D1) — seat events handed over by the licence objects
//!   and by agents, the seats they imply (spans) for the reports, and the audit log.
//! - `audit`: recording one audit entry per change made through the API.
//! - `csv`: the reports' and the audit log's CSV exports.
//! - `platform`: clock, randomness and Web Crypto PBKDF2 — what the engine leaves out.
//!
//! Licensing rules live in `tessera-engine`; this crate only does I/O around them.

mod audit;
mod auth;
mod body;
mod csv;
mod deployment;
mod error;
mod events;
mod guard;
mod kv;
mod objects;
mod platform;
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
    let mut response = match router::dispatch(request::Request::new(req), env).await {
        Ok(response) => response,
        Err(error) => error.into_response()?,
    };
    let headers = response.headers_mut();
    // API answers are per caller and some carry a secret once: no cache may keep them.
    // (The JWKS and the OpenAPI document set their own caching.)
    if !headers.has("Cache-Control")? {
        headers.set("Cache-Control", "no-store")?;
    }
    Ok(response)
}
