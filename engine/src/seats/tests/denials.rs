//! The denial log: every refusal recorded, none flooding.

use alloc::format;

use super::*;

fn refusals(ch: &Changes) -> Vec<(&str, &str, u32, u64)> {
    ch.events
        .iter()
        .filter(|e| e.kind == SeatEventKind::Denied)
        .map(|e| (e.product.as_str(), e.user.as_str(), e.count, e.at))
        .collect()
}

#[test]
fn denials_alike_within_a_minute_are_one_event_with_a_count() {
    let mut pool = Pool::new(terms(0));
    let mut ch = Changes::default();
    for i in 0..10 {
        let _ = pool.checkout(ask("ide", "ann", "h"), "lic.1", NOW + i, &mut ch);
    }
    assert_eq!(refusals(&ch), [("ide", "ann", 1, NOW)]);
    assert_eq!(pool.next_due(), Some(NOW + DENIAL_WINDOW_SECONDS));
    // The minute closes (any operation, or the alarm): the other nine, as one event.
    let mut closed = Changes::default();
    pool.sweep(NOW + DENIAL_WINDOW_SECONDS, &mut closed);
    assert_eq!(
        refusals(&closed),
        [("ide", "ann", 9, NOW + DENIAL_WINDOW_SECONDS)]
    );
    assert!(closed.denials);
    assert_eq!(pool.next_due(), None);
    // Another user is another window.
    let mut ch = Changes::default();
    let _ = pool.checkout(ask("ide", "bob", "h"), "lic.2", NOW + 70, &mut ch);
    assert_eq!(refusals(&ch), [("ide", "bob", 1, NOW + 70)]);
}

#[test]
fn a_thousand_wrong_product_requests_write_a_handful_of_events() {
    let mut pool = Pool::new(terms(5));
    let mut ch = Changes::default();
    for i in 0..1000 {
        let user = format!("invented-{i}");
        let product = format!("not-ours-{i}");
        let _ = pool.checkout(ask(&product, &user, "h"), "lic.x", NOW + i / 20, &mut ch);
    }
    pool.sweep(NOW + 3600, &mut ch);
    let written = refusals(&ch);
    assert!(written.len() <= 2, "{written:?}");
    assert!(
        written
            .iter()
            .all(|(product, ..)| *product == OTHER_PRODUCT)
    );
    assert_eq!(
        written.iter().map(|w| w.2).sum::<u32>(),
        1000,
        "every one counted"
    );
}

#[test]
fn a_refused_license_token_counts_by_reason_whoever_sends_it() {
    let mut pool = Pool::new(terms(5));
    let mut ch = Changes::default();
    for i in 0..50 {
        let user = format!("u{i}");
        let denial = SeatDenial::License(DenyCode::Expired);
        pool.refuse(ask("ide", &user, "h"), denial, NOW + i, &mut ch);
    }
    pool.sweep(NOW + 120, &mut ch);
    let written = refusals(&ch);
    assert_eq!(written.len(), 2);
    assert_eq!(written[0].2 + written[1].2, 50);
}

#[test]
fn a_day_writes_at_most_the_cap_and_counts_the_rest() {
    let mut pool = Pool::new(terms(0));
    let mut ch = Changes::default();
    let day_start = NOW - NOW % 86_400;
    // One user a minute (each window closes before the next opens), all in one day.
    let at = |i: u64| day_start + 10 + i * (DENIAL_WINDOW_SECONDS + 1);
    let last = DENIALS_PER_DAY as u64 + 250 - 1;
    assert!(at(last) < day_start + 86_400);
    for i in 0..=last {
        let user = format!("u{i}");
        let _ = pool.checkout(ask("ide", &user, "h"), "lic.1", at(i), &mut ch);
    }
    assert_eq!(refusals(&ch).len(), DENIALS_PER_DAY as usize);
    assert_eq!(pool.denial_log().dropped_today(at(last)), 250);
    // A new day starts a new count.
    let mut next = Changes::default();
    let _ = pool.checkout(
        ask("ide", "z", "h"),
        "lic.1",
        day_start + 86_400 + 5,
        &mut next,
    );
    assert_eq!(pool.denial_log().dropped_today(day_start + 86_400 + 5), 0);
    assert!(
        refusals(&next)
            .iter()
            .any(|(_, user, count, _)| *user == "z" && *count == 1)
    );
}

#[test]
fn invented_users_cannot_grow_the_open_windows() {
    let mut pool = Pool::new(terms(0));
    let mut ch = Changes::default();
    for i in 0..5_000u64 {
        let user = format!("invented-{i}");
        let _ = pool.checkout(ask("ide", &user, "h"), "lic.1", NOW + i / 100, &mut ch);
    }
    assert_eq!(pool.denial_log().windows.len(), MAX_OPEN_WINDOWS + 1);
    assert_eq!(
        refusals(&ch).len(),
        MAX_OPEN_WINDOWS + 1,
        "the first of each window"
    );
    let overflow = refusals(&ch)[MAX_OPEN_WINDOWS];
    assert_eq!((overflow.1, overflow.2), (OTHER_PRODUCT, 1));
    pool.sweep(NOW + 3600, &mut ch);
    assert!(pool.denial_log().windows.is_empty());
    assert_eq!(
        refusals(&ch).iter().map(|r| r.2).sum::<u32>(),
        5_000,
        "every one counted"
    );
    // A user with a window of their own still counts there, not in the overflow.
    let mut pool = Pool::new(terms(0));
    let mut ch = Changes::default();
    for i in 0..100 {
        let _ = pool.checkout(ask("ide", &format!("u{i}"), "h"), "lic.1", NOW, &mut ch);
    }
    let _ = pool.checkout(ask("ide", "u0", "h"), "lic.1", NOW + 1, &mut ch);
    pool.sweep(NOW + 61, &mut ch);
    assert!(refusals(&ch).contains(&("ide", "u0", 1, NOW + 60)));
}

#[test]
fn open_windows_survive_a_restore() {
    let mut pool = Pool::new(terms(0));
    let mut ch = Changes::default();
    for i in 0..3 {
        let _ = pool.checkout(ask("ide", "ann", "h"), "lic.1", NOW + i, &mut ch);
    }
    let log = pool.denial_log().clone();
    let mut again = Pool::restore(
        "lic",
        PoolState {
            terms: Some(terms(0)),
            denial_log: log,
            ..PoolState::default()
        },
    );
    let mut closed = Changes::default();
    again.sweep(NOW + 61, &mut closed);
    assert_eq!(refusals(&closed), [("ide", "ann", 2, NOW + 60)]);
}
