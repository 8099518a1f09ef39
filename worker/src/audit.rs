//! Recording the audit log: one entry per change made through the API — who (the user,
//! and the token when one acted), what, which object, when, from which address.
//!
//! A route calls [`record`] after its change succeeded, before it answers. The entry
//! goes to the event store (`events::Store`); if that write fails the change stands
//! (it is already made) and the failure is logged: the log may miss an entry, it never
//! shows a change that did not happen. Objects are ids and names, never secrets.

use crate::request::Request;
use tessera_engine::api::AuditEntry;
use worker::Env;

use crate::auth::{Caller, Via};
use crate::events::Store;
use crate::platform;

/// Record that `caller` did `action` to `object`.
pub(crate) async fn record(
    req: &Request,
    env: &Env,
    caller: &Caller,
    action: &str,
    object: Option<&str>,
) {
    let (via, token_id) = match &caller.via {
        Via::Password => ("password", None),
        Via::Session => ("session", None),
        Via::Token { id, .. } => ("token", Some(id.clone())),
        Via::Vault => ("vault", None),
    };
    write(
        req,
        env,
        caller.username.clone(),
        via,
        token_id,
        action,
        object,
    )
    .await;
}

/// Record that the installation with key thumbprint `jkt` (an app, proving itself with
/// DPoP) did `action` to `object`: the actor is `installation:<jkt>`.
pub(crate) async fn record_installation(
    req: &Request,
    env: &Env,
    jkt: &str,
    action: &str,
    object: Option<&str>,
) {
    let actor = format!("installation:{jkt}");
    write(req, env, actor, "installation", None, action, object).await;
}

async fn write(
    req: &Request,
    env: &Env,
    actor: String,
    via: &str,
    token_id: Option<String>,
    action: &str,
    object: Option<&str>,
) {
    let entry = AuditEntry {
        seq: 0,
        at: platform::now(),
        actor,
        token_id,
        via: via.into(),
        action: action.into(),
        object: object.map(String::from),
        address: crate::auth::client_address(req),
    };
    let written = match Store::open(env).await {
        Ok(store) => store.audit(&entry).await,
        Err(e) => Err(e),
    };
    if let Err(e) = written {
        worker::console_error!("audit entry for {action} not written: {e:?}");
    }
}
