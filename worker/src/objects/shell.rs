//! What every Durable Object shell shares: the one JSON call protocol ([`ask`] asks,
//! [`serve`] answers), SQL helpers over an object's SQLite storage, and reading and
//! writing JSON columns.
//!
//! A Rust Durable Object has no RPC here: each object answers one `POST` whose JSON body
//! is a tagged request enum its `protocol.rs` owns, and replies with
//! `Result<T, WireError>` as JSON — always with status 200, so a refusal and an internal
//! failure both reach the caller as a typed [`WireError`]. Any other status is the
//! runtime's own failure and reads as an internal error.

use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::{JsCast as _, JsValue};
use wasm_bindgen_futures::JsFuture;
use worker::{Env, Request, Response, SqlStorage, Stub};

use crate::error::{ApiError, WireError};

/// `message` as the JSON an object reads.
pub(crate) fn encode(message: &impl Serialize) -> Result<String, ApiError> {
    serde_json::to_string(message).map_err(|e| ApiError::Internal(e.to_string()))
}

/// An object's answer, `Result<T, WireError>` as JSON, as a result.
pub(crate) fn decode<T: DeserializeOwned>(text: &str) -> Result<T, ApiError> {
    let answer: Result<T, WireError> = serde_json::from_str(text)
        .map_err(|e| ApiError::Internal(format!("unreadable object answer: {e}")))?;
    answer.map_err(ApiError::from)
}

/// Send a request's JSON to an object and read its answer's text.
///
/// The request and the answer stay JavaScript objects, read with the runtime's own
/// `text()`: converting the answer to a `worker::Response` reads its body as a stream,
/// chunk by chunk through wasm, which measured as the largest part of an object call.
async fn exchange(stub: Stub, json: String) -> Result<String, ApiError> {
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
    Ok(text)
}

/// The stub of the object named `name` of the class bound as `binding`.
fn stub(env: &Env, binding: &str, name: &str) -> Result<Stub, ApiError> {
    Ok(env
        .durable_object(binding)?
        .id_from_name(name)?
        .get_stub()?)
}

/// Send `message` to the object named `name` of the class bound as `binding`.
pub(crate) async fn ask<T: DeserializeOwned>(
    env: &Env,
    binding: &str,
    name: &str,
    message: &impl Serialize,
) -> Result<T, ApiError> {
    let text = exchange(stub(env, binding, name)?, encode(message)?).await?;
    decode(&text)
}

/// Send each `(name, JSON)` to its object of the class bound as `binding`, all at once;
/// each answer's text, in the order given.
pub(crate) async fn ask_all(
    env: &Env,
    binding: &str,
    requests: Vec<(String, Result<String, ApiError>)>,
) -> Vec<Result<String, ApiError>> {
    futures_util::future::join_all(
        requests
            .into_iter()
            .map(|(name, json)| async move { exchange(stub(env, binding, &name)?, json?).await }),
    )
    .await
}

fn js_error(e: JsValue) -> ApiError {
    ApiError::Internal(format!("object call: {e:?}"))
}

/// Read an object's request, run `handle`, and answer `Result<T, WireError>` as JSON.
/// An internal failure is logged here, where it happened; a refusal is an answer.
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
    let answer: Result<T, WireError> = match serde_json::from_str::<M>(&text) {
        Ok(message) => handle(message).await.map_err(|e| {
            if let ApiError::Internal(detail) = &e {
                worker::console_error!("object request failed: {detail}");
            }
            WireError::from(e)
        }),
        Err(e) => Err(WireError::Internal {
            detail: format!("bad object request: {e}"),
        }),
    };
    Response::from_json(&answer)
}

/// `value` as an object's answer: a shell's `handle` answers JSON values, so one
/// request enum's arms can answer different types.
pub(crate) fn answer<T: Serialize>(value: &T) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(value).map_err(|e| ApiError::Internal(e.to_string()))
}

/// Set the object's alarm `delay_ms` from now, logging a failure (`what` names the job).
pub(crate) async fn alarm_in(state: &worker::State, delay_ms: u64, what: &str) {
    let at = worker::Date::now().as_millis() + delay_ms;
    let date = js_sys::Date::new(&JsValue::from_f64(at as f64));
    if let Err(e) = state
        .storage()
        .set_alarm(worker::ScheduledTime::new(date))
        .await
    {
        worker::console_error!("{what} not scheduled: {e}");
    }
}

/// Create an object's tables (idempotent), logging a failure: the object then answers
/// each request with the SQL error instead of failing to start.
pub(crate) fn create_schema(sql: &SqlStorage, schema: &str, object: &str) {
    if let Err(e) = sql.exec(schema, None) {
        worker::console_error!("{object} schema: {e}");
    }
}

/// Add `column` to `table` with `definition` (`TEXT NOT NULL DEFAULT ''`, say), unless
/// it is there: for tables an earlier version created without it.
pub(crate) fn add_column(sql: &SqlStorage, table: &str, column: &str, definition: &str) {
    let present = sql::count(
        sql,
        "SELECT COUNT(*) AS n FROM pragma_table_info(?) WHERE name = ?",
        vec![sql::text(table), sql::text(column)],
    );
    if present.is_ok_and(|n| n == 0)
        && let Err(e) = sql.exec(
            &format!("ALTER TABLE {table} ADD COLUMN {column} {definition}"),
            None,
        )
    {
        worker::console_error!("adding {table}.{column}: {e}");
    }
}

/// `value` as JSON text, for a column.
pub(crate) fn json<T: Serialize>(value: &T) -> Result<String, ApiError> {
    serde_json::to_string(value).map_err(|e| ApiError::Internal(e.to_string()))
}

/// A JSON column read back as `T`; unreadable means the stored state is corrupt.
pub(crate) fn parse<T: DeserializeOwned>(what: &str, json: &str) -> Result<T, ApiError> {
    serde_json::from_str(json).map_err(|e| ApiError::Internal(format!("corrupt {what}: {e}")))
}

/// `impl Debug` for an object shell: its state is never printed.
macro_rules! opaque_debug {
    ($object:ident) => {
        impl core::fmt::Debug for $object {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.debug_struct(stringify!($object)).finish_non_exhaustive()
            }
        }
    };
}
pub(crate) use opaque_debug;

/// SQL statement helpers over a Durable Object's SQLite storage.
pub(crate) mod sql {
    use serde::Deserialize;
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

    /// A query whose one row has one integer column `n` (0 when there is no row).
    pub(crate) fn count(
        sql: &SqlStorage,
        query: &str,
        args: Vec<SqlStorageValue>,
    ) -> Result<u64, ApiError> {
        #[derive(Deserialize)]
        struct Count {
            n: u64,
        }
        Ok(rows::<Count>(sql, query, args)?.first().map_or(0, |c| c.n))
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

/// The calls an object served, counted by kind in its `meta (key, value)` table (so the
/// counts survive the object's eviction), for its status.
pub(crate) mod calls {
    use serde::Deserialize;
    use tessera_engine::api::DirectoryStatus;
    use worker::SqlStorage;

    use super::sql::{int, rows, run, text};
    use crate::error::ApiError;

    /// Count a call of `kind` at `now`.
    pub(crate) fn count(sql: &SqlStorage, kind: &str, now: u64) -> Result<(), ApiError> {
        run(
            sql,
            "INSERT INTO meta (key, value) VALUES ('calls_since', ?) ON CONFLICT (key) DO NOTHING",
            vec![int(now)],
        )?;
        run(
            sql,
            "INSERT INTO meta (key, value) VALUES (?, 1)
             ON CONFLICT (key) DO UPDATE SET value = value + 1",
            vec![text(&format!("calls:{kind}"))],
        )
    }

    /// The calls served by kind, and since when: a status without the deny figures.
    pub(crate) fn served(sql: &SqlStorage) -> Result<DirectoryStatus, ApiError> {
        #[derive(Deserialize)]
        struct Row {
            key: String,
            value: u64,
        }
        let mut status = DirectoryStatus::default();
        for row in rows::<Row>(
            sql,
            "SELECT key, value FROM meta WHERE key LIKE 'calls%'",
            vec![],
        )? {
            match row.key.strip_prefix("calls:") {
                Some(kind) => {
                    status.calls.insert(kind.to_string(), row.value);
                }
                None if row.key == "calls_since" => status.since = row.value,
                None => {}
            }
        }
        Ok(status)
    }
}
