//! Reports on seat use (seeds 001/002's usage and denials reports) and the events an
//! agent brings from license servers that are not Tessera (seed 000's Agent scope).
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

mod spans;

pub use spans::{
    AGENT_CLOCK_SKEW, AgentEvent, AgentEventType, Close, MAX_AGENT_BATCH, MAX_REASON_BYTES,
    OpenSpan, SpanEdge, agent_spans, license_span_edge,
};

/// The most intervals one report may have (e.g. 41 days by the hour, 2.7 years by day).
pub const MAX_BUCKETS: u64 = 1000;

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
            return Err(Error::invalid("from", "must be before to"));
        }
        if to > crate::claims::MAX_TIMESTAMP {
            return Err(Error::invalid("to", "must be before the year 10000"));
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

#[cfg(test)]
mod tests;
