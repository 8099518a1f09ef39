//! The agent endpoints an Agent-scope token is for (seed 000): a license server's agent
//! checks its token with `POST /api/agent/ping` and hands over usage and denials from
//! license servers that are not Tessera with `POST /api/agent/events`.
//!
//! A batch is all or nothing: every item is checked first, and one invalid item (named
//! by its index) refuses the batch with nothing stored. Items are idempotent by
//! `(server, id)`: a batch sent again, whole or in part, stores each event once and
//! says how many it had already. Checkouts and checkins become seats held in the
//! reports, beside Tessera's own, marked with their `server`.

use std::collections::BTreeSet;

use crate::request::Request;
use serde::{Deserialize, Serialize};
use tessera_engine::api::{AgentBatch, AgentBatchAnswer};
use tessera_engine::{
    AgentEvent, AgentEventType, MAX_AGENT_BATCH, agent_spans, product_identity, user_identity,
};
use worker::{Env, Response};

use crate::auth::{Caller, Via};
use crate::error::ApiError;
use crate::events::{Batch, Store, StoredEvent};
use crate::{audit, body, platform};

/// The largest batch body: a thousand events of a few hundred bytes each.
const MAX_BATCH_BYTES: usize = 1024 * 1024;

/// The answer of a ping: who the token belongs to, and the server's clock.
#[derive(Serialize)]
#[cfg_attr(test, derive(utoipa::ToSchema))]
pub(crate) struct Pong {
    ok: bool,
    /// The token's creator.
    user: String,
    /// The token's id (none when signed in with a password).
    token_id: Option<String>,
    /// The server's time (Unix seconds).
    time: u64,
}

pub(crate) fn ping(caller: Caller) -> Result<Response, ApiError> {
    let token = match &caller.via {
        Via::Token { id, .. } => Some(id.clone()),
        _ => None,
    };
    let pong = Pong {
        ok: true,
        user: caller.username,
        token_id: token,
        time: platform::now(),
    };
    super::json(200, &pong)
}

/// The batch as sent.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBatch {
    events: Items,
}

/// The events, read one by one so a wrong one is named by its index, and no more
/// than one past the limit read at all.
struct Items(Vec<AgentEvent>);

impl<'de> Deserialize<'de> for Items {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Items;

            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("an array of events")
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Items, A::Error> {
                use serde::de::Error as _;
                let mut items = Vec::new();
                loop {
                    if items.len() > MAX_AGENT_BATCH {
                        return Err(A::Error::custom(format!(
                            "more than {MAX_AGENT_BATCH} events"
                        )));
                    }
                    match seq.next_element::<AgentEvent>() {
                        Ok(Some(event)) => items.push(event),
                        Ok(None) => return Ok(Items(items)),
                        Err(e) => {
                            return Err(A::Error::custom(format!("item {}: {e}", items.len())));
                        }
                    }
                }
            }
        }
        d.deserialize_seq(Visitor)
    }
}

fn item_error(index: usize, message: impl core::fmt::Display) -> ApiError {
    ApiError::InvalidField {
        field: "events".into(),
        message: format!("item {index}: {message}"),
    }
}

/// Read and check a batch: at most [`MAX_AGENT_BATCH`] items, each a valid event.
fn check_batch(raw: RawBatch, now: u64) -> Result<AgentBatch, ApiError> {
    let mut events = raw.events.0;
    if events.is_empty() || events.len() > MAX_AGENT_BATCH {
        return Err(ApiError::InvalidField {
            field: "events".into(),
            message: format!("must hold 1 to {MAX_AGENT_BATCH} events"),
        });
    }
    for (i, event) in events.iter_mut().enumerate() {
        event.check(now).map_err(|e| item_error(i, e))?;
        // Reported in the names' one identity form, as Tessera's own seats are.
        event.product = product_identity(&event.product).map_err(|e| item_error(i, e))?;
        event.user = user_identity(&event.user).map_err(|e| item_error(i, e))?;
    }
    Ok(AgentBatch { events })
}

fn stored(e: &AgentEvent) -> StoredEvent {
    StoredEvent {
        id: e.key(),
        at: e.time,
        kind: match e.kind {
            AgentEventType::Checkout => "granted",
            AgentEventType::Checkin => "released",
            AgentEventType::Denial => "denied",
        }
        .into(),
        product: e.product.clone(),
        user: e.user.clone(),
        host: e.host.clone(),
        lid: None,
        company: None,
        lease: None,
        reason: e.reason.clone(),
        server: Some(e.server.clone()),
        count: 1,
    }
}

pub(crate) async fn events(
    req: &mut Request,
    env: &Env,
    caller: Caller,
) -> Result<Response, ApiError> {
    let raw: RawBatch = body::json_up_to(req, MAX_BATCH_BYTES).await?;
    let batch = check_batch(raw, platform::now())?;
    let total = batch.events.len() as u64;
    let store = Store::open(env).await?;
    // Only events not stored before (nor twice in this batch) open or close seats.
    let keys: Vec<String> = batch.events.iter().map(AgentEvent::key).collect();
    let known: BTreeSet<String> = store.known(&keys).await?.into_iter().collect();
    let mut seen = BTreeSet::new();
    let fresh: Vec<AgentEvent> = batch
        .events
        .into_iter()
        .zip(keys)
        .filter(|(_, key)| !known.contains(key) && seen.insert(key.clone()))
        .map(|(e, _)| e)
        .collect();
    let holders: BTreeSet<(String, String, String, String)> = fresh
        .iter()
        .filter(|e| e.kind == AgentEventType::Checkin)
        .map(|e| {
            (
                e.server.clone(),
                e.product.clone(),
                e.user.clone(),
                e.host.clone(),
            )
        })
        .collect();
    let open = store
        .open_spans(&holders.into_iter().collect::<Vec<_>>())
        .await?;
    let (opened, closed) = agent_spans(&open, &fresh);
    let accepted = store
        .append(&Batch {
            events: fresh.iter().map(stored).collect(),
            opened,
            closed,
        })
        .await?;
    audit::record(
        req,
        env,
        &caller,
        "agent.events",
        Some(&format!("{accepted} events")),
    )
    .await;
    super::json(
        200,
        &AgentBatchAnswer {
            accepted,
            duplicates: total - accepted,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(json: &str) -> RawBatch {
        serde_json::from_str(json).expect("raw batch")
    }

    fn check(json: &str, now: u64) -> Result<AgentBatch, String> {
        let raw: RawBatch = serde_json::from_str(json).map_err(|e| e.to_string())?;
        check_batch(raw, now).map_err(|e| format!("{e:?}"))
    }

    #[test]
    fn a_bad_item_is_named_by_its_index() {
        let now = 1_800_000_000;
        let good = r#"{"id":"1","type":"checkout","time":1799999999,"server":"flex","product":"cad","user":"ann"}"#;
        let bad_type = r#"{"id":"2","type":"checkout","time":"yesterday","server":"flex","product":"cad","user":"ann"}"#;
        let err = check(&format!(r#"{{"events":[{good},{bad_type}]}}"#), now).expect_err("refused");
        assert!(err.contains("item 1"), "{err}");
        let future = good.replace("1799999999", "1900000000");
        let err = check(&format!(r#"{{"events":[{good},{future}]}}"#), now).expect_err("refused");
        assert!(err.contains("item 1: time"), "{err}");
        assert!(check(r#"{"events":[]}"#, now).is_err());
        let many = vec![good; MAX_AGENT_BATCH + 1].join(",");
        let err = check(&format!(r#"{{"events":[{many}]}}"#), now).expect_err("refused");
        assert!(err.contains("more than 1000"), "{err}");
        let ok = check_batch(raw(&format!(r#"{{"events":[{good}]}}"#)), now).expect("ok");
        assert_eq!(ok.events[0].host, "");
    }
}
