//! Tessera's Cloudflare Worker: the JSON API, in front of the admin console's assets.
//!
//! Requests for `/api/*` reach this worker (see `run_worker_first` in `wrangler.toml`);
//! everything else is the console's static build, served by the assets binding before
//! the worker runs.
//!
//! # Layout
//!
//! - `router`: maps a method and path to a route, or to a `NOT_FOUND` /
//!   `METHOD_NOT_ALLOWED` error. It is the one place that lists every route.
//! - `routes/<route>.rs`: one module per route, owning its request and response types
//!   and its handler.
//! - `error`: [`ApiError`](error::ApiError), the closed set of API error codes, their
//!   HTTP statuses and the one JSON envelope `{"error": {"code", "message"}}`.
//!
//! Licensing rules live in `tessera-engine`; this crate only does I/O around them.

mod error;
mod router;
mod routes;

use worker::{Context, Env, Request, Response, event};

/// The worker's entry point. Every outcome, including every error, is a response:
/// nothing falls through to the runtime's generic 500.
#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    match router::dispatch(req, env).await {
        Ok(response) => Ok(response),
        Err(error) => error.into_response(),
    }
}
