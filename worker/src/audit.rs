//! Recording the audit log: one entry per change made through the API — who (the user,
//! and the token when one acted), what, which object, when, from which address.
//!
//! A route calls [`record`] after its change succeeded, before it answers. The entry
//! goes to the event store (`events::Store`); if that write fails the change stands
//! (it is already made) and the failure is logged: the log may miss an entry, it never
//! shows a change that did not happen. Objects are ids and names, never secrets.

use tessera_engine::api::AuditEntry;
use worker::{Env, Request};

use crate::auth::{Caller, Via};
use crate::events::Store;
use crate::platform;

/// Record that `caller` did `action` to `object`.
///
/// The future is boxed: called from some twenty routes, an `async fn` would be inlined
/// into each of their state machines (measured: +60 KB gzip of the worker).
pub(crate) fn record<'a>(
    req: &'a Request,
    env: &'a Env,
    caller: &'a Caller,
    action: &'a str,
    object: Option<&'a str>,
) -> futures_util::future::LocalBoxFuture<'a, ()> {
    Box::pin(write(req, env, caller, action, object))
}

async fn write(req: &Request, env: &Env, caller: &Caller, action: &str, object: Option<&str>) {
    let (via, token_id) = match &caller.via {
        Via::Password => ("password", None),
        Via::Session => ("session", None),
        Via::Token { id, .. } => ("token", Some(id.clone())),
        Via::Vault => ("vault", None),
    };
    let entry = AuditEntry {
        seq: 0,
        at: platform::now(),
        actor: caller.username.clone(),
        token_id,
        via: via.into(),
        action: action.into(),
        object: object.map(String::from),
        address: req.headers().get("CF-Connecting-IP").ok().flatten(),
    };
    let written = match Store::open(env).await {
        Ok(store) => store.audit(&entry).await,
        Err(e) => Err(e),
    };
    if let Err(e) = written {
        worker::console_error!("audit entry for {action} not written: {e:?}");
    }
}
