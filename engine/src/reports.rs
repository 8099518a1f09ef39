//! Reports on seat use (seeds 001/002's usage and denials reports) and the events an
//! agent brings from licence servers that are not Tessera (seed 000's Agent scope).
//!
//! The event store (the worker's D1 database) keeps two things: every seat event, and
//! the *spans* they imply — one row per seat held, from the event that took it to the
//! one that gave it back (or still open). Reports read spans, not events, so a report
//! of the last month reads the seats held during that month whatever the history's
//! length. This module holds the rules over them, pure:
//!
//! - [`ReportRange`]: a checked `from`/`to`/[`Interval`], at most [`MAX_BUCKETS`]
//!   intervals, aligned to UTC.
//! - [`usage`]: spans in, [`UsageReport`] out — per product and interval the peak of
//!   seats held at once, the seat-hours and the distinct users; per user the seat-hours
//!   and when they last held a seat.
//! - [`AgentEvent`]: one event from an agent, checked ([`AgentEvent::check`]), and
//!   [`agent_spans`]: which spans an agent's batch opens and closes.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::error::Error;
use crate::seats::{MAX_HOST_BYTES, MAX_PRODUCT_BYTES, MAX_USER_BYTES, field};

/// The most intervals one report may have (e.g. 41 days by the hour, 2.7 years by day).
pub const MAX_BUCKETS: u64 = 1000;
/// The most events in one agent batch.
pub const MAX_AGENT_BATCH: usize = 1000;
/// Longest agent event id and server name, in bytes.
pub const MAX_AGENT_ID_BYTES: usize = 128;
/// Longest reason, in bytes.
pub const MAX_REASON_BYTES: usize = 200;
/// How far in the future an agent's clock may be, in seconds.
pub const AGENT_CLOCK_SKEW: u64 = 300;
/// The earliest time an agent may report (2000-01-01).
pub const AGENT_EARLIEST: u64 = 946_684_800;

/// The length of one report interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Interval {
    /// One hour.
    Hour,
    /// One day (UTC).
    Day,
}

impl Interval {
    /// The interval's length in seconds.
    pub const fn seconds(self) -> u64 {
        match self {
            Interval::Hour => 3600,
            Interval::Day => 86_400,
        }
    }

    /// The wire name, `hour` or `day`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Interval::Hour => "hour",
            Interval::Day => "day",
        }
    }

    /// The interval named `name`, if any.
    pub fn parse(name: &str) -> Option<Interval> {
        [Interval::Hour, Interval::Day]
            .into_iter()
            .find(|i| i.as_str() == name)
    }
}

/// A checked report range: `from` before `to`, at most [`MAX_BUCKETS`] intervals.
/// Intervals are aligned to UTC (an hour starts on the hour, a day at midnight); the
/// first and last may be cut by `from` and `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportRange {
    from: u64,
    to: u64,
    interval: Interval,
}

impl ReportRange {
    /// Check a range (Unix seconds, `to` exclusive).
    pub fn new(from: u64, to: u64, interval: Interval) -> Result<ReportRange, Error> {
        if from >= to {
            return Err(invalid("from", "must be before to"));
        }
        if to > crate::MAX_TIMESTAMP {
            return Err(invalid("to", "must be before the year 10000"));
        }
        let range = ReportRange { from, to, interval };
        if range.buckets() > MAX_BUCKETS {
            return Err(Error::Invalid {
                field: "interval",
                message: alloc::format!(
                    "the range holds more than {MAX_BUCKETS} intervals of one {}: narrow it or use a longer interval",
                    interval.as_str()
                ),
            });
        }
        Ok(range)
    }

    /// The start (inclusive).
    pub fn from(&self) -> u64 {
        self.from
    }

    /// The end (exclusive).
    pub fn to(&self) -> u64 {
        self.to
    }

    /// The interval.
    pub fn interval(&self) -> Interval {
        self.interval
    }

    fn first(&self) -> u64 {
        self.from - self.from % self.interval.seconds()
    }

    /// How many intervals the range touches.
    pub fn buckets(&self) -> u64 {
        (self.to - self.first()).div_ceil(self.interval.seconds())
    }

    /// The start of bucket `i` (aligned, so the first may be before `from`).
    fn bucket_start(&self, i: u64) -> u64 {
        self.first() + i * self.interval.seconds()
    }

    fn bucket_of(&self, t: u64) -> usize {
        ((t - self.first()) / self.interval.seconds()) as usize
    }
}

/// One seat held: from `start` to `end` (none while it is still held).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Span {
    /// The product.
    pub product: String,
    /// Who held it.
    pub user: String,
    /// When it was taken (Unix seconds).
    pub start: u64,
    /// When it was given back, if it was.
    pub end: Option<u64>,
}

/// One product in one interval.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IntervalUsage {
    /// The product.
    pub product: String,
    /// The interval's start (Unix seconds, aligned to UTC; the report's `from` may cut it).
    pub start: u64,
    /// The most seats held at once during the interval.
    pub peak_seats: u32,
    /// Seats × hours held during the interval (to the thousandth).
    pub seat_hours: f64,
    /// How many different users held a seat during the interval.
    pub users: u32,
}

/// One user over the whole report.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserUsage {
    /// The user.
    pub user: String,
    /// Seats × hours the user held in the range, all products (to the thousandth).
    pub seat_hours: f64,
    /// The last moment in the range the user held a seat (Unix seconds).
    pub last_seen: u64,
}

/// The usage report: every product's intervals (products in name order, intervals in
/// time order, an interval with no use included as zeros), then users by seat-hours.
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UsageReport {
    /// The range's start (Unix seconds).
    pub from: u64,
    /// The range's end (exclusive).
    pub to: u64,
    /// The interval.
    pub interval: Interval,
    /// Per product and interval.
    pub products: Vec<IntervalUsage>,
    /// Per user, most seat-hours first.
    pub users: Vec<UserUsage>,
}

fn hours(seconds: u64) -> f64 {
    // Thousandths of an hour, rounded: 3.6 s of resolution, exact in JSON and CSV alike.
    let thousandths = (seconds * 1000 + 1800) / 3600;
    thousandths as f64 / 1000.0
}

/// The usage report over `spans` for `range`, as of `now` (a span still held counts up
/// to `now`). Spans outside the range are ignored; a seat given back at the very moment
/// another is taken does not count as two held at once; a seat held for less than a
/// second (taken and given back within the same second) counts as held for one, and a
/// seat still held at `now` is held through that second (it overlaps one taken then).
pub fn usage(spans: &[Span], range: ReportRange, now: u64) -> UsageReport {
    // Each span clipped to the range (and to now when still held).
    let mut by_product: BTreeMap<&str, Vec<(u64, u64, &str)>> = BTreeMap::new();
    let mut per_user: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for s in spans {
        let start = s.start.max(range.from);
        // Times are whole seconds: a seat taken and given back within one second was
        // held for a part of it, and counts as held for that second.
        let end = s.end.unwrap_or(now).max(s.start + 1).min(range.to);
        if end <= start {
            continue;
        }
        // A seat still held is held through the current second, so one taken (or
        // taken and given back) this very second beside it counts as two at once.
        let held_until = match s.end {
            None => end.max(now.saturating_add(1).min(range.to)),
            Some(_) => end,
        };
        by_product.entry(s.product.as_str()).or_default().push((
            start,
            held_until,
            s.user.as_str(),
        ));
        let u = per_user.entry(s.user.as_str()).or_default();
        u.0 += end - start;
        u.1 = u.1.max(end);
    }
    let n = range.buckets() as usize;
    let mut products = Vec::with_capacity(by_product.len() * n);
    for (product, held) in &by_product {
        products.extend(product_usage(product, held, range, n));
    }
    let mut users: Vec<UserUsage> = per_user
        .into_iter()
        .map(|(user, (seconds, last))| UserUsage {
            user: user.to_string(),
            seat_hours: hours(seconds),
            last_seen: last,
        })
        .collect();
    users.sort_by(|a, b| {
        b.seat_hours
            .total_cmp(&a.seat_hours)
            .then_with(|| a.user.cmp(&b.user))
    });
    UsageReport {
        from: range.from,
        to: range.to,
        interval: range.interval,
        products,
        users,
    }
}

/// One product's intervals from its clipped spans.
fn product_usage(
    product: &str,
    held: &[(u64, u64, &str)],
    range: ReportRange,
    n: usize,
) -> Vec<IntervalUsage> {
    let mut peak = alloc::vec![0u32; n];
    let mut seconds = alloc::vec![0u64; n];
    // Sweep the starts and ends in time order, ends first at equal times.
    let mut points: Vec<(u64, i8)> = Vec::with_capacity(held.len() * 2);
    for (start, end, _) in held {
        points.push((*start, 1));
        points.push((*end, -1));
    }
    points.sort_unstable();
    let mut level: u32 = 0;
    let mut last = range.from;
    for (t, delta) in points {
        accrue(&mut seconds, range, last, t, level);
        last = t;
        if delta > 0 {
            level += 1;
            let b = range.bucket_of(t);
            peak[b] = peak[b].max(level);
        } else {
            level -= 1;
        }
        // The level just after `t` also holds at the start of every later interval
        // it reaches; carried below.
    }
    // A seat held across an interval's start counts in that interval's peak: the
    // level at each interval's start is the number of spans covering it.
    let mut covering = alloc::vec![0u32; n];
    let mut starts: Vec<u64> = held.iter().map(|h| h.0).collect();
    let mut ends: Vec<u64> = held.iter().map(|h| h.1).collect();
    starts.sort_unstable();
    ends.sort_unstable();
    for (i, c) in covering.iter_mut().enumerate() {
        let at = range.bucket_start(i as u64).max(range.from);
        let begun = starts.partition_point(|s| *s <= at);
        let ended = ends.partition_point(|e| *e <= at);
        *c = (begun - ended) as u32;
    }
    // Distinct users: each user's spans merged, then the intervals they touch.
    let mut users: Vec<BTreeSet<&str>> = (0..n).map(|_| BTreeSet::new()).collect();
    let mut by_user: BTreeMap<&str, Vec<(u64, u64)>> = BTreeMap::new();
    for (start, end, user) in held {
        by_user.entry(user).or_default().push((*start, *end));
    }
    for (user, mut spans) in by_user {
        spans.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::new();
        for (s, e) in spans {
            match merged.last_mut() {
                Some(m) if s <= m.1 => m.1 = m.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        for (s, e) in merged {
            for set in &mut users[range.bucket_of(s)..=range.bucket_of(e - 1)] {
                set.insert(user);
            }
        }
    }
    (0..n)
        .map(|i| IntervalUsage {
            product: product.to_string(),
            start: range.bucket_start(i as u64),
            peak_seats: peak[i].max(covering[i]),
            seat_hours: hours(seconds[i]),
            users: users[i].len() as u32,
        })
        .collect()
}

/// Add `level` seats held from `a` to `b` to the seat-seconds of the intervals between.
fn accrue(seconds: &mut [u64], range: ReportRange, a: u64, b: u64, level: u32) {
    if level == 0 || b <= a {
        return;
    }
    let mut t = a;
    while t < b {
        let i = range.bucket_of(t);
        let end = range.bucket_start(i as u64 + 1).min(b);
        seconds[i] += (end - t) * u64::from(level);
        t = end;
    }
}

/// What an outside licence server's event says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AgentEventType {
    /// A seat was taken (stored as `granted`).
    Checkout,
    /// A seat was given back (stored as `released`).
    Checkin,
    /// A request was refused (stored as `denied`).
    Denial,
}

/// One event an agent reports from a licence server that is not Tessera (FlexNet,
/// RLM, a JetBrains server, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentEvent {
    /// The agent's id for the event, unique per `server`: a retried event with the
    /// same id counts once.
    pub id: String,
    /// What happened.
    #[cfg_attr(feature = "serde", serde(rename = "type"))]
    pub kind: AgentEventType,
    /// When (Unix seconds).
    pub time: u64,
    /// The licence server it happened on.
    pub server: String,
    /// The product (feature).
    pub product: String,
    /// The user.
    pub user: String,
    /// The host ("" if none).
    #[cfg_attr(feature = "serde", serde(default))]
    pub host: String,
    /// Why, for a denial.
    #[cfg_attr(feature = "serde", serde(default))]
    pub reason: Option<String>,
}

impl AgentEvent {
    /// Check the event's fields; `now` bounds its time (a little clock skew allowed).
    pub fn check(&self, now: u64) -> Result<(), Error> {
        field("id", &self.id, 1, MAX_AGENT_ID_BYTES)?;
        field("server", &self.server, 1, MAX_AGENT_ID_BYTES)?;
        field("product", &self.product, 1, MAX_PRODUCT_BYTES)?;
        field("user", &self.user, 1, MAX_USER_BYTES)?;
        field("host", &self.host, 0, MAX_HOST_BYTES)?;
        if let Some(reason) = &self.reason {
            field("reason", reason, 1, MAX_REASON_BYTES)?;
        }
        if self.time < AGENT_EARLIEST || self.time > now + AGENT_CLOCK_SKEW {
            return Err(invalid(
                "time",
                "must be Unix seconds between 2000-01-01 and now",
            ));
        }
        Ok(())
    }

    /// The event's key in the store: unique per server and id (`a:<length of
    /// server>:<server>:<id>`, so no two pairs give the same key).
    pub fn key(&self) -> String {
        alloc::format!("a:{}:{}:{}", self.server.len(), self.server, self.id)
    }
}

/// A seat an agent's server holds, still open in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct OpenSpan {
    /// The span's key (its checkout's [`AgentEvent::key`]).
    pub key: String,
    /// The server.
    pub server: String,
    /// The product.
    pub product: String,
    /// The user.
    pub user: String,
    /// The host.
    pub host: String,
    /// When it was taken.
    pub start: u64,
}

/// A span an agent's batch ends: the checkin `by` ended span `key` at `at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Close {
    /// The span.
    pub key: String,
    /// When.
    pub at: u64,
    /// The checkin's key (a retried checkin closes nothing twice).
    pub by: String,
}

/// Which spans a batch of agent events opens and which it closes, given the spans its
/// servers hold open: events in time order; a checkout opens a span; a checkin ends the
/// earliest open span of the same server, product, user and host that began at or
/// before it (a checkin with none ends nothing).
pub fn agent_spans(open: &[OpenSpan], events: &[AgentEvent]) -> (Vec<OpenSpan>, Vec<Close>) {
    let mut order: Vec<&AgentEvent> = events.iter().collect();
    order.sort_by_key(|e| (e.time, e.kind != AgentEventType::Checkout));
    let mut live: Vec<OpenSpan> = open.to_vec();
    live.sort_by_key(|s| s.start);
    let mut opened = Vec::new();
    let mut closes = Vec::new();
    for e in order {
        match e.kind {
            AgentEventType::Checkout => {
                let span = OpenSpan {
                    key: e.key(),
                    server: e.server.clone(),
                    product: e.product.clone(),
                    user: e.user.clone(),
                    host: e.host.clone(),
                    start: e.time,
                };
                let at = live.partition_point(|s| s.start <= e.time);
                live.insert(at, span.clone());
                opened.push(span);
            }
            AgentEventType::Checkin => {
                let found = live.iter().position(|s| {
                    s.server == e.server
                        && s.product == e.product
                        && s.user == e.user
                        && s.host == e.host
                        && s.start <= e.time
                });
                if let Some(i) = found {
                    let span = live.remove(i);
                    closes.push(Close {
                        key: span.key,
                        at: e.time,
                        by: e.key(),
                    });
                }
            }
            AgentEventType::Denial => {}
        }
    }
    (opened, closes)
}

fn invalid(field: &'static str, message: &str) -> Error {
    Error::Invalid {
        field,
        message: message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    const H: u64 = 3600;
    const DAY: u64 = 86_400;
    /// 2026-11-02 00:00:00 UTC.
    const T0: u64 = 1_793_577_600;

    fn span(product: &str, user: &str, start: u64, end: Option<u64>) -> Span {
        Span {
            product: product.into(),
            user: user.into(),
            start,
            end,
        }
    }

    fn row<'a>(r: &'a UsageReport, product: &str, start: u64) -> &'a IntervalUsage {
        r.products
            .iter()
            .find(|p| p.product == product && p.start == start)
            .expect("interval present")
    }

    #[test]
    fn ranges_are_checked() {
        assert!(ReportRange::new(T0, T0, Interval::Hour).is_err());
        assert!(ReportRange::new(T0 + 1, T0, Interval::Day).is_err());
        assert!(ReportRange::new(T0, T0 + 1000 * H, Interval::Hour).is_ok());
        assert!(ReportRange::new(T0, T0 + 1000 * H + 1, Interval::Hour).is_err());
        assert!(ReportRange::new(T0, T0 + 1000 * H + 1, Interval::Day).is_ok());
        // An unaligned start touches one more interval.
        let r = ReportRange::new(T0 + 30 * 60, T0 + 2 * H, Interval::Hour).expect("range");
        assert_eq!(r.buckets(), 2);
        assert!(ReportRange::new(0, crate::MAX_TIMESTAMP + 1, Interval::Day).is_err());
        assert_eq!(Interval::parse("day"), Some(Interval::Day));
        assert_eq!(Interval::parse("week"), None);
    }

    /// A hand-checked sequence over three hours:
    /// - ann  10:00–12:30 (crosses two hour boundaries),
    /// - bob  10:15–10:45, again 10:45–11:15 (given back and taken at the same second),
    /// - cy   10:30–open (still held at "now" = 12:00),
    /// - dee  09:00–10:10 (began before the range).
    #[test]
    fn peak_seat_hours_and_users_per_interval() {
        let ten = T0 + 10 * H;
        let spans = vec![
            span("cad", "ann", ten, Some(ten + 150 * 60)),
            span("cad", "bob", ten + 15 * 60, Some(ten + 45 * 60)),
            span("cad", "bob", ten + 45 * 60, Some(ten + 75 * 60)),
            span("cad", "cy", ten + 30 * 60, None),
            span("cad", "dee", ten - H, Some(ten + 10 * 60)),
            span("cam", "ann", ten + 5 * 60, Some(ten + 20 * 60)),
        ];
        let range = ReportRange::new(ten, ten + 3 * H, Interval::Hour).expect("range");
        let now = ten + 2 * H;
        let r = usage(&spans, range, now);
        // 10:00–11:00: ann, dee (to 10:10), bob, cy from 10:30: at 10:30 ann+bob+cy = 3
        // (dee left at 10:10); at 10:15 ann+dee? no, dee left 10:10: ann+bob = 2.
        let h10 = row(&r, "cad", ten);
        assert_eq!(h10.peak_seats, 3);
        // ann 60 + bob 45 (15–60) + cy 30 + dee 10 = 145 minutes.
        assert_eq!(h10.seat_hours, hours(145 * 60));
        assert_eq!(h10.users, 4);
        // 11:00–12:00: ann 60, bob 15, cy 60 = 135 min; peak 3 (11:00–11:15).
        let h11 = row(&r, "cad", ten + H);
        assert_eq!((h11.peak_seats, h11.seat_hours, h11.users), (3, 2.25, 3));
        // 12:00–13:00 with now = 12:00:00: cy, still holding, holds through that one
        // second (two at once with ann, 0.0003 h: nothing at three decimals); ann's
        // 12:00–12:30 lies after now too, but ann gave it back at 12:30 (a recorded
        // end): counted.
        let h12 = row(&r, "cad", ten + 2 * H);
        assert_eq!((h12.peak_seats, h12.seat_hours, h12.users), (2, 0.5, 2));
        // The other product is its own.
        assert_eq!(row(&r, "cam", ten).peak_seats, 1);
        assert_eq!(row(&r, "cam", ten + H).peak_seats, 0);
        assert_eq!(r.products.len(), 6);
        // Users: ann 150 + 15 min, bob 60, cy 90, dee 10 (clipped to the range).
        let ann = &r.users[0];
        assert_eq!(
            (ann.user.as_str(), ann.seat_hours),
            ("ann", hours(165 * 60))
        );
        assert_eq!(ann.last_seen, ten + 150 * 60);
        let cy = r.users.iter().find(|u| u.user == "cy").expect("cy");
        assert_eq!((cy.seat_hours, cy.last_seen), (1.5, now));
        let dee = r.users.iter().find(|u| u.user == "dee").expect("dee");
        assert_eq!(dee.seat_hours, hours(10 * 60));
    }

    #[test]
    fn a_seat_held_through_a_whole_interval_is_its_peak() {
        let spans = vec![span("cad", "ann", T0 - DAY, Some(T0 + 3 * DAY))];
        let range = ReportRange::new(T0, T0 + 2 * DAY, Interval::Day).expect("range");
        let r = usage(&spans, range, T0 + 10 * DAY);
        assert_eq!(r.products.len(), 2);
        for p in &r.products {
            assert_eq!((p.peak_seats, p.seat_hours, p.users), (1, 24.0, 1));
        }
        // Hourly over the same two days: 48 intervals, each a peak of one.
        let range = ReportRange::new(T0, T0 + 2 * DAY, Interval::Hour).expect("range");
        let r = usage(&spans, range, T0 + 10 * DAY);
        assert_eq!(r.products.len(), 48);
        assert!(
            r.products
                .iter()
                .all(|p| p.peak_seats == 1 && p.seat_hours == 1.0)
        );
    }

    #[test]
    fn a_cut_first_interval_counts_from_the_range_start() {
        let spans = vec![span("cad", "ann", T0, Some(T0 + H))];
        let range = ReportRange::new(T0 + 30 * 60, T0 + 2 * H, Interval::Hour).expect("range");
        let r = usage(&spans, range, T0 + DAY);
        assert_eq!(r.products[0].start, T0);
        assert_eq!(r.products[0].seat_hours, 0.5);
        assert_eq!(r.users[0].seat_hours, 0.5);
    }

    #[test]
    fn a_seat_still_held_overlaps_one_taken_this_second() {
        // Ann holds a seat since 10:00; Bob takes and gives one back at 10:05, the very
        // second the report is asked for: two at once.
        let ten = 1_700_000_000 / H * H;
        let spans = [
            span("ide", "ann", ten, None),
            span("ide", "bob", ten + 300, Some(ten + 300)),
        ];
        let range = ReportRange::new(ten, ten + H, Interval::Hour).expect("an hour");
        let r = usage(&spans, range, ten + 300);
        assert_eq!((r.products[0].peak_seats, r.products[0].users), (2, 2));
    }

    #[test]
    fn peak_counts_concurrency_not_totals() {
        // Ten users one after another in the same hour: peak 1, ten users.
        let spans: Vec<Span> = (0..10)
            .map(|i| {
                let start = T0 + i * 360;
                span("cad", &alloc::format!("u{i}"), start, Some(start + 360))
            })
            .collect();
        let range = ReportRange::new(T0, T0 + H, Interval::Hour).expect("range");
        let r = usage(&spans, range, T0 + DAY);
        assert_eq!(
            (
                r.products[0].peak_seats,
                r.products[0].users,
                r.products[0].seat_hours
            ),
            (1, 10, 1.0)
        );
    }

    #[test]
    fn a_seat_held_under_a_second_still_counts() {
        let spans = vec![
            span("cad", "ann", T0 + 10, None),
            span("cad", "bob", T0 + 20, Some(T0 + 20)),
        ];
        let range = ReportRange::new(T0, T0 + H, Interval::Hour).expect("range");
        let r = usage(&spans, range, T0 + 30);
        assert_eq!((r.products[0].peak_seats, r.products[0].users), (2, 2));
        assert_eq!(r.users.len(), 2);
    }

    fn agent(id: &str, kind: AgentEventType, time: u64) -> AgentEvent {
        AgentEvent {
            id: id.into(),
            kind,
            time,
            server: "flex1".into(),
            product: "cad".into(),
            user: "ann".into(),
            host: "pc1".into(),
            reason: None,
        }
    }

    #[test]
    fn agent_events_are_checked() {
        let now = T0;
        assert!(agent("1", AgentEventType::Checkout, now).check(now).is_ok());
        let mut e = agent("1", AgentEventType::Checkout, now + AGENT_CLOCK_SKEW + 1);
        assert!(e.check(now).is_err());
        e.time = 12;
        assert!(e.check(now).is_err());
        let mut e = agent("", AgentEventType::Checkout, now);
        assert!(e.check(now).is_err());
        e.id = "x".repeat(MAX_AGENT_ID_BYTES + 1);
        assert!(e.check(now).is_err());
        let mut e = agent("1", AgentEventType::Denial, now);
        e.user = "a\nb".into();
        assert!(e.check(now).is_err());
        e.user = "ann".into();
        e.reason = Some("r".repeat(MAX_REASON_BYTES + 1));
        assert!(e.check(now).is_err());
    }

    #[test]
    fn checkins_close_the_earliest_matching_open_span() {
        let open = vec![OpenSpan {
            key: "a:5:flex1:0".into(),
            server: "flex1".into(),
            product: "cad".into(),
            user: "ann".into(),
            host: "pc1".into(),
            start: T0 - H,
        }];
        let events = vec![
            agent("3", AgentEventType::Checkin, T0 + 20),
            agent("1", AgentEventType::Checkout, T0),
            agent("2", AgentEventType::Checkin, T0 + 10),
            agent("4", AgentEventType::Checkin, T0 + 30),
            agent("5", AgentEventType::Denial, T0 + 40),
        ];
        let (opened, closes) = agent_spans(&open, &events);
        assert_eq!(opened.len(), 1);
        assert_eq!(opened[0].key, "a:5:flex1:1");
        // The earlier open span goes first, then the new one; the third checkin has
        // nothing left to close.
        assert_eq!(
            closes,
            vec![
                Close {
                    key: "a:5:flex1:0".into(),
                    at: T0 + 10,
                    by: "a:5:flex1:2".into()
                },
                Close {
                    key: "a:5:flex1:1".into(),
                    at: T0 + 20,
                    by: "a:5:flex1:3".into()
                },
            ]
        );
        // Another host's checkin closes nothing of ann's on pc1.
        let mut other = agent("9", AgentEventType::Checkin, T0 + 50);
        other.host = "pc2".into();
        assert!(agent_spans(&open, &[other]).1.is_empty());
    }
}
