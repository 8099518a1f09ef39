//! The license object's schedule over fixed clocks: alarms, reports, the deny state's
//! freshness, hand-overs and their backoff.

use super::*;

const NOW: u64 = 1_800_000_000;
const NOW_MS: u64 = NOW * 1000;
const LEASE: u32 = 1200;

#[test]
fn backoff_doubles_from_a_second_to_a_minute() {
    let waits: alloc::vec::Vec<u64> = (0..9).map(backoff_ms).collect();
    assert_eq!(
        waits,
        [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000]
    );
    assert_eq!(backoff_ms(u32::MAX), 60_000);
}

#[test]
fn a_quiet_object_wants_no_alarm_and_a_session_wants_its_expiry() {
    let mut sync = LicenseSync::restore((0, 0), 0, 0, (0, 0));
    assert_eq!(sync.wake_at(NOW_MS, REPORT_DELAY_MS, None, LEASE), None);
    assert_eq!(sync.schedule(NOW_MS, None, LEASE), None);
    let expiry = NOW + 600;
    assert_eq!(
        sync.wake_at(NOW_MS, REPORT_DELAY_MS, Some(expiry), LEASE),
        Some(expiry * 1000)
    );
}

#[test]
fn a_membership_change_is_reported_soon_and_an_expiry_alone_lazily() {
    let mut sync = LicenseSync::restore((0, 0), 0, 0, (0, 0));
    sync.holdings_changed(true);
    assert_eq!(
        sync.wake_at(NOW_MS, REPORT_DELAY_MS, None, LEASE),
        Some(NOW_MS + REPORT_DELAY_MS)
    );
    assert!(sync.report_due(NOW_MS, LEASE));
    sync.report_succeeded(sync.seq(), NOW_MS);
    assert!(!sync.report_due(NOW_MS, LEASE));
    assert_eq!(sync.wake_at(NOW_MS, REPORT_DELAY_MS, None, LEASE), None);

    // A heartbeat: a later expiry only. Reported a lease's length after the last report.
    sync.holdings_changed(false);
    let lazy = NOW_MS + u64::from(LEASE) * 1000;
    assert_eq!(
        sync.wake_at(NOW_MS + 5, REPORT_DELAY_MS, None, LEASE),
        Some(lazy)
    );
    assert!(!sync.report_due(lazy - 1, LEASE));
    assert!(sync.report_due(lazy, LEASE));
    // A pull for the deny state carries the holdings: that is a report too.
    sync.reported(sync.seq(), NOW_MS + 10);
    assert!(!sync.report_due(lazy + 1_000_000, LEASE));
}

#[test]
fn a_late_acknowledgement_never_moves_reported_back() {
    let mut sync = LicenseSync::restore((0, 0), 0, 0, (0, 0));
    sync.holdings_changed(true);
    sync.holdings_changed(true);
    sync.report_succeeded(2, NOW_MS);
    // The answer to an older report arrives last.
    sync.report_succeeded(1, NOW_MS + 1);
    assert!(!sync.report_due(NOW_MS + 2, LEASE));
}

#[test]
fn the_alarm_is_set_only_when_it_must_move_earlier() {
    let mut sync = LicenseSync::restore((0, 0), 0, 0, (0, 0));
    let expiry = NOW + 600;
    assert_eq!(
        sync.schedule(NOW_MS, Some(expiry), LEASE),
        Some(expiry * 1000)
    );
    // Nothing earlier is wanted: no second write.
    assert_eq!(sync.schedule(NOW_MS + 1, Some(expiry), LEASE), None);
    assert_eq!(sync.schedule(NOW_MS + 1, Some(expiry + 10), LEASE), None);
    // A change to report wants the alarm sooner.
    sync.holdings_changed(true);
    assert_eq!(
        sync.schedule(NOW_MS + 2, Some(expiry), LEASE),
        Some(NOW_MS + 2 + REPORT_DELAY_MS)
    );
    // Once it ran, any wanted time is set again.
    sync.alarm_started();
    sync.report_succeeded(sync.seq(), NOW_MS + 300);
    assert_eq!(
        sync.schedule(NOW_MS + 400, Some(expiry), LEASE),
        Some(expiry * 1000)
    );
}

#[test]
fn failed_reports_back_off_and_the_alarm_never_rearms_at_once() {
    let mut sync = LicenseSync::restore((0, 0), 0, 0, (0, 0));
    sync.holdings_changed(true);
    sync.alarm_started();
    sync.report_failed();
    assert_eq!(sync.rearm(NOW_MS, None, LEASE), Some(NOW_MS + 2000));
    sync.report_failed();
    assert_eq!(sync.rearm(NOW_MS, None, LEASE), Some(NOW_MS + 4000));
    for _ in 0..10 {
        sync.report_failed();
    }
    assert_eq!(sync.rearm(NOW_MS, None, LEASE), Some(NOW_MS + 60_000));
    sync.report_succeeded(sync.seq(), NOW_MS);
    // An expiry due now still waits the minimum.
    assert_eq!(
        sync.rearm(NOW_MS, Some(NOW), LEASE),
        Some(NOW_MS + MIN_REARM_MS)
    );
    assert_eq!(sync.rearm(NOW_MS, None, LEASE), None);
}

#[test]
fn events_are_shipped_a_second_later_and_retried_with_backoff() {
    let mut sync = LicenseSync::restore((0, 0), 0, 0, (0, 0));
    assert!(!sync.ship_due(NOW_MS));
    assert_eq!(sync.logged(3), 3);
    assert!(sync.ship_due(NOW_MS));
    assert_eq!(
        sync.wake_at(NOW_MS, REPORT_DELAY_MS, None, LEASE),
        Some(NOW_MS + SHIP_DELAY_MS)
    );
    sync.ship_failed(NOW_MS);
    assert!(!sync.ship_due(NOW_MS + 1999));
    assert!(sync.ship_due(NOW_MS + 2000));
    assert_eq!(
        sync.wake_at(NOW_MS, REPORT_DELAY_MS, None, LEASE),
        Some(NOW_MS + 2000)
    );
    sync.ship_failed(NOW_MS + 2000);
    assert!(!sync.ship_due(NOW_MS + 5999));
    assert!(sync.ship_due(NOW_MS + 6000));
    // Part of the log shipped: the rest is still due, with the backoff cleared.
    sync.shipped_up_to(2);
    assert_eq!(sync.shipped(), 2);
    assert!(sync.ship_due(NOW_MS + 6000));
    sync.shipped_up_to(3);
    assert!(!sync.ship_due(NOW_MS + 6000));
    // A late answer for an older batch never moves it back.
    sync.shipped_up_to(1);
    assert_eq!(sync.shipped(), 3);
}

/// When expiries alone acknowledged at `at` are reported lazily.
fn lazy_at(at: u64) -> u64 {
    at + u64::from(LEASE) * 1000
}

#[test]
fn a_restart_reports_holdings_and_ships_what_was_left() {
    let sync = LicenseSync::restore((7, 6), 12, 10, (5, NOW_MS - 1000));
    assert_eq!((sync.seq(), sync.event_seq(), sync.shipped()), (7, 12, 10));
    assert!(
        sync.report_due(NOW_MS, LEASE),
        "the directory acknowledged 5 of 7"
    );
    assert!(sync.ship_due(NOW_MS));
    // Evicted and loaded again with everything acknowledged: no report at all, and a
    // heartbeat's later expiry waits its lazy interval from the acknowledgement.
    let mut reloaded = LicenseSync::restore((7, 6), 10, 10, (7, NOW_MS - 1000));
    assert!(!reloaded.report_due(NOW_MS, LEASE));
    assert_eq!(reloaded.wake_at(NOW_MS, REPORT_DELAY_MS, None, LEASE), None);
    reloaded.holdings_changed(false);
    assert!(
        !reloaded.report_due(NOW_MS, LEASE),
        "an expiry alone: lazily"
    );
    assert_eq!(
        reloaded.wake_at(NOW_MS, REPORT_DELAY_MS, None, LEASE),
        Some(lazy_at(NOW_MS - 1000))
    );
    // Heartbeats moved expiries (seq 9) since the last change of who holds what (6),
    // which the directory acknowledged: loaded again, nothing is due before the lazy
    // interval either.
    let beaten = LicenseSync::restore((9, 6), 10, 10, (6, NOW_MS - 1000));
    assert!(!beaten.report_due(NOW_MS, LEASE));
    assert_eq!(
        beaten.wake_at(NOW_MS, REPORT_DELAY_MS, None, LEASE),
        Some(lazy_at(NOW_MS - 1000))
    );
    // A license that never held anything has nothing to report.
    assert!(!LicenseSync::restore((0, 0), 0, 0, (0, 0)).report_due(NOW_MS, LEASE));
}

#[test]
fn the_deny_state_is_read_when_stale_and_serves_a_grace_when_the_snapshot_cannot_be_read() {
    let t = NOW;
    assert_eq!(
        deny_freshness(t, 0, 0, true),
        Freshness::Read { fallback: false },
        "never delivered"
    );
    assert_eq!(deny_freshness(t - 1, t, 0, true), Freshness::Use, "held");
    assert_eq!(
        deny_freshness(t - 1, t, 0, false),
        Freshness::Read { fallback: true },
        "holding no seats: nothing pushes to it, so it reads"
    );
    assert_eq!(
        deny_freshness(t, t, 0, true),
        Freshness::Read { fallback: true },
        "stale: read"
    );
    // The read failed at `t`: serve the held state, read again in a while.
    let retry = t + DENY_RETRY_SECONDS;
    assert_eq!(deny_freshness(t + 1, t, retry, true), Freshness::Use);
    assert_eq!(
        deny_freshness(retry, t, retry, true),
        Freshness::Read { fallback: true }
    );
    // Past the grace, a failed read fails the request: seats are refused.
    let end = t + DENY_GRACE_SECONDS;
    assert_eq!(
        deny_freshness(end - 1, t, end + 100, true),
        Freshness::Use,
        "last second of grace"
    );
    assert_eq!(
        deny_freshness(end, t, end + 100, true),
        Freshness::Read { fallback: false }
    );
}

#[test]
fn a_license_that_heard_nothing_for_an_hour_reads_before_it_lends() {
    // Its last delivery was an hour ago (it held seats then; nothing pushed since): at
    // its next checkout, holding seats or not, the old copy no longer serves, not even
    // as a fallback — the published state is read first, and a failed read refuses.
    let delivered = NOW - 3_600;
    let fresh_until = delivered + DENY_HELD_SECONDS;
    for holding in [true, false] {
        assert_eq!(
            deny_freshness(NOW, fresh_until, 0, holding),
            Freshness::Read { fallback: false },
            "holding: {holding}"
        );
    }
}

#[test]
fn the_object_keeps_its_deny_schedule() {
    let mut sync = LicenseSync::restore((0, 0), 0, 0, (0, 0));
    assert_eq!(
        sync.deny_freshness(NOW, true),
        Freshness::Read { fallback: false }
    );
    sync.deny_delivered(NOW);
    let held = NOW + DENY_HELD_SECONDS;
    assert_eq!(sync.deny_freshness(held - 1, true), Freshness::Use);
    assert_eq!(
        sync.deny_freshness(NOW, false),
        Freshness::Read { fallback: true },
        "a license holding no seats is pushed nothing: it reads before it lends one"
    );
    assert_eq!(
        sync.deny_freshness(held, true),
        Freshness::Read { fallback: true }
    );
    sync.deny_unreachable(held);
    assert_eq!(
        sync.deny_freshness(held + DENY_RETRY_SECONDS - 1, true),
        Freshness::Use
    );
    assert_eq!(
        sync.deny_freshness(held + DENY_RETRY_SECONDS - 1, false),
        Freshness::Use
    );
    assert_eq!(
        sync.deny_freshness(held + DENY_RETRY_SECONDS, true),
        Freshness::Read { fallback: true }
    );
}

#[test]
fn a_not_revoked_answer_stands_for_five_seconds_and_a_revocation_for_good() {
    let asked = NOW;
    assert!(revocation_known(asked, false, asked));
    assert!(revocation_known(
        asked,
        false,
        asked + REVOCATION_FRESH_SECONDS - 1
    ));
    assert!(!revocation_known(
        asked,
        false,
        asked + REVOCATION_FRESH_SECONDS
    ));
    assert!(revocation_known(asked, true, asked + 10 * 365 * 86_400));
    // A clock that went backwards keeps the answer rather than asking in a loop.
    assert!(revocation_known(asked, false, asked - 100));
}
