//! `GET /api/audit` (`?from&to&actor&action&cursor&limit`, JSON or CSV): the audit log,
//! newest first, for roles with `audit:read` (administrators). Entries are written by
//! the routes that change something (`crate::audit`).

use crate::request::Request;
use tessera_engine::api::Page;
use worker::{Env, Response};

use crate::csv::{self, Csv};
use crate::error::ApiError;
use crate::events::{AuditFilter, Store};
use crate::platform;
use crate::query::Query;

pub(crate) async fn list(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let q = Query::of(req)?;
    let (from, to) = q.range(platform::now())?;
    let filter = AuditFilter {
        from,
        to,
        actor: q.text("actor", 200)?,
        action: q.text("action", 64)?,
    };
    let cursor = match q.cursor() {
        None => None,
        Some(c) => Some(c.parse::<u64>().map_err(|_| ApiError::InvalidField {
            field: "cursor".into(),
            message: "is not a cursor this log gave".into(),
        })?),
    };
    let limit = q.limit()?;
    let as_csv = csv::wanted(req, &q)?;
    let items = Store::open(env)
        .await?
        .audit_log(&filter, cursor, limit)
        .await?;
    if as_csv {
        let mut csv = Csv::new(&[
            "seq", "at", "actor", "token_id", "via", "action", "object", "address",
        ]);
        for e in &items {
            csv.row([
                e.seq.to_string().as_str(),
                &e.at.to_string(),
                &e.actor,
                e.token_id.as_deref().unwrap_or(""),
                &e.via,
                &e.action,
                e.object.as_deref().unwrap_or(""),
                e.address.as_deref().unwrap_or(""),
            ]);
        }
        return csv.into_response(&format!("tessera-audit-{from}-{to}.csv"));
    }
    let next_cursor = (items.len() == limit as usize)
        .then(|| items.last().map(|e| e.seq.to_string()))
        .flatten();
    super::json(200, &Page { items, next_cursor })
}
