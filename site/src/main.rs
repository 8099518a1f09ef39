//! Tessera's admin console: a Leptos client-side-rendered app, served by the worker.
//!
//! # Layout
//!
//! - `main.rs`: mounts the app.
//! - `app.rs`: the router and the page frame (navigation); the pages loaded on their
//!   first visit (`lazy_page!`: a wasm chunk each, split off by the build).
//! - `session.rs`: the signed-in user (the session itself is an HttpOnly cookie).
//! - `api.rs`: typed calls to the worker's JSON API, each returning
//!   `Result<T, ApiError>`; the error carries the API envelope's code and message.
//! - `pages/<page>.rs`: one page per file.
//! - `components/`: pieces shared by pages.
//!
//! Wire types come from `tessera_engine::api`, the same ones the worker serialises.

mod api;
mod app;
mod components;
mod pages;
mod session;

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
