//! The reports' rules over fixed spans and times: usage per interval, ranges, agent
//! events and the spans they open and close.

use super::spans::MAX_AGENT_ID_BYTES;
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
