//! The vault's reports (seeds 001/002), from the event store: readable with the vault
//! access token and by roles with `reports:read`. Each answers JSON, or CSV with a
//! header row when asked (`?format=csv` or `Accept: text/csv`), as a download.
//!
//! - `GET /api/vault/reports/usage` (`?from&to&interval=hour|day&product&user`,
//!   `&table=products|users` for CSV) — per product and interval: peak seats held at
//!   once, seat-hours, distinct users; per user: seat-hours, last seen. Default: the
//!   last 30 days by day.
//! - `GET /api/vault/reports/denials` (`?from&to&product&user&reason&cursor&limit`) —
//!   each denial, newest first, and counts per product and reason. Default: the last
//!   30 days.
//!
//! Times are Unix seconds, `to` exclusive. Reports include events handed over from
//! the license objects, normally within seconds (see `events`).

use crate::request::Request;
use tessera_engine::api::DenialsReport;
use tessera_engine::{Interval, MAX_USER_BYTES, ReportRange, identity, usage};
use worker::{Env, Response};

use crate::csv::{self, Csv};
use crate::error::ApiError;
use crate::events::{DenialFilter, MAX_REPORT_SPANS, Store};
use crate::platform;
use crate::query::Query;

/// Longest product or reason filter, in bytes.
const MAX_FILTER_BYTES: usize = 200;

pub(crate) async fn usage_report(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let q = Query::of(req)?;
    let now = platform::now();
    let interval = match q.get("interval") {
        None => Interval::Day,
        Some(name) => Interval::parse(name).ok_or(ApiError::InvalidField {
            field: "interval".into(),
            message: "must be hour or day".into(),
        })?,
    };
    let (from, to) = q.range(now)?;
    let range = ReportRange::new(from, to, interval)?;
    // Filters compare in the names' one identity form, as they were stored.
    let product = q.text("product", MAX_FILTER_BYTES)?.map(identity);
    let user = q.text("user", MAX_USER_BYTES)?.map(identity);
    let users_table = match q.get("table") {
        None | Some("products") => false,
        Some("users") => true,
        Some(_) => {
            return Err(ApiError::InvalidField {
                field: "table".into(),
                message: "must be products or users".into(),
            });
        }
    };
    let as_csv = csv::wanted(req, &q)?;
    let store = Store::open(env).await?;
    // The cap on seats one report reads; the `REPORT_MAX_SPANS` var lowers it (tests).
    let max = env
        .var("REPORT_MAX_SPANS")
        .ok()
        .and_then(|v| v.to_string().parse().ok())
        .map_or(MAX_REPORT_SPANS, |m: u64| m.min(MAX_REPORT_SPANS));
    let spans = store
        .spans(from, to, product.as_deref(), user.as_deref(), max)
        .await?;
    let report = usage(&spans, range, now);
    if !as_csv {
        return super::json(200, &report);
    }
    let csv = if users_table {
        let mut csv = Csv::new(&["user", "seat_hours", "last_seen"]);
        for u in &report.users {
            csv.row([
                u.user.as_str(),
                &u.seat_hours.to_string(),
                &u.last_seen.to_string(),
            ]);
        }
        csv
    } else {
        let mut csv = Csv::new(&["product", "start", "peak_seats", "seat_hours", "users"]);
        for p in &report.products {
            csv.row([
                p.product.as_str(),
                &p.start.to_string(),
                &p.peak_seats.to_string(),
                &p.seat_hours.to_string(),
                &p.users.to_string(),
            ]);
        }
        csv
    };
    let table = if users_table { "users" } else { "products" };
    csv.into_response(&format!("tessera-usage-{table}-{from}-{to}.csv"))
}

pub(crate) async fn denials(req: &Request, env: &Env) -> Result<Response, ApiError> {
    let q = Query::of(req)?;
    let (from, to) = q.range(platform::now())?;
    let product = q.text("product", MAX_FILTER_BYTES)?.map(identity);
    let user = q.text("user", MAX_USER_BYTES)?.map(identity);
    let filter = DenialFilter {
        from,
        to,
        product: product.as_deref(),
        user: user.as_deref(),
        reason: q.text("reason", MAX_FILTER_BYTES)?,
    };
    let cursor = match q.cursor() {
        None => None,
        Some(c) => Some(
            c.split_once(':')
                .and_then(|(at, id)| Some((at.parse::<u64>().ok()?, id)))
                .filter(|(_, id)| !id.is_empty())
                .ok_or(ApiError::InvalidField {
                    field: "cursor".into(),
                    message: "is not a cursor this report gave".into(),
                })?,
        ),
    };
    let limit = q.limit()?;
    let as_csv = csv::wanted(req, &q)?;
    let store = Store::open(env).await?;
    let (items, counts) = store.denials(&filter, cursor, limit).await?;
    let next_cursor = (items.len() == limit as usize)
        .then(|| items.last().map(|d| format!("{}:{}", d.at, d.id)))
        .flatten();
    if as_csv {
        let mut csv = Csv::new(&[
            "at", "product", "user", "host", "lid", "company", "reason", "server",
        ]);
        for d in &items {
            csv.row([
                d.at.to_string().as_str(),
                &d.product,
                &d.user,
                &d.host,
                d.lid.as_deref().unwrap_or(""),
                d.company.as_deref().unwrap_or(""),
                &d.reason,
                d.server.as_deref().unwrap_or(""),
            ]);
        }
        return csv.into_response(&format!("tessera-denials-{from}-{to}.csv"));
    }
    super::json(
        200,
        &DenialsReport {
            from,
            to,
            counts,
            items,
            next_cursor,
        },
    )
}
