//! The seat rules over a fixed `NOW`: grants, refreshes, denials, expiry, revocation and
//! the vault's deny state. Nothing here reads a clock or touches storage.

use alloc::format;
use alloc::string::ToString;
use alloc::vec;
use alloc::vec::Vec;

use crate::decision::DenyCode;
use crate::error::Error;

use super::*;

const NOW: u64 = 1_800_000_000;
const LEASE: u32 = 1200;

fn terms(seats: u32) -> SeatTerms {
    SeatTerms {
        lid: "lic".into(),
        company: "Example Labs".into(),
        products: vec!["ide".into(), "profiler".into()],
        seats,
        max_sessions: 0,
        overage: false,
        lexp: NOW + 365 * 86_400,
        trial_exp: 0,
        lease_seconds: LEASE,
        max_machines: 0,
        activations_per_day: 0,
    }
}

/// A request from installation `host` (the tests name each installation by its host).
fn ask<'a>(product: &'a str, user: &'a str, host: &'a str) -> SeatRequest<'a> {
    SeatRequest {
        product,
        user,
        host,
        installation: host,
    }
}

/// Heartbeat lease `id` from `r`'s installation with its session's newest generation,
/// as a well-behaved app does.
fn beat_newest(
    pool: &mut Pool,
    id: &str,
    r: SeatRequest<'_>,
    now: u64,
    ch: &mut Changes,
) -> Result<Checkout, Gone> {
    let generation = pool
        .lease(id)
        .and_then(|l| l.session(r.installation))
        .map_or(0, |s| s.generation);
    pool.heartbeat(id, r, generation, None, now, ch)
}

/// Check out and return (result, changes).
fn checkout(
    pool: &mut Pool,
    r: SeatRequest<'_>,
    id: &str,
    now: u64,
) -> (Result<Checkout, SeatDenial>, Changes) {
    let mut ch = Changes::default();
    let out = pool.checkout(r, id, now, &mut ch);
    (out, ch)
}

fn kinds(ch: &Changes) -> Vec<(SeatEventKind, Option<&str>)> {
    ch.events
        .iter()
        .map(|e| (e.kind, e.reason.as_deref()))
        .collect()
}

#[test]
fn grants_up_to_the_seats_then_denies_and_records_each_denial() {
    let mut pool = Pool::new(terms(2));
    for (i, user) in ["ann", "bob"].iter().enumerate() {
        let (out, ch) = checkout(&mut pool, ask("ide", user, "h"), &format!("lic.{i}"), NOW);
        let out = out.expect("a free seat");
        assert!(out.created);
        assert_eq!(out.session.expires_at, NOW + u64::from(LEASE));
        assert_eq!(kinds(&ch), [(SeatEventKind::Granted, None)]);
        assert!(ch.saved.contains(&format!("lic.{i}")));
        assert!(ch.membership_changed());
    }
    assert_eq!(pool.allocated("ide"), 2);
    let (out, ch) = checkout(&mut pool, ask("ide", "cy", "h"), "lic.2", NOW);
    assert_eq!(out.err(), Some(SeatDenial::NoSeatAvailable));
    assert_eq!(
        kinds(&ch),
        [(SeatEventKind::Denied, Some("NO_SEAT_AVAILABLE"))]
    );
    assert!(ch.saved.is_empty(), "a denial stores no lease");
    // Another product of the same license has its own seats.
    assert!(
        checkout(&mut pool, ask("profiler", "cy", "h"), "lic.3", NOW)
            .0
            .is_ok()
    );
}

#[test]
fn one_lease_per_user_and_product_whatever_the_host() {
    let mut pool = Pool::new(terms(5));
    let first = checkout(&mut pool, ask("ide", "ann", "laptop"), "lic.1", NOW)
        .0
        .expect("granted");
    let (again, ch) = checkout(&mut pool, ask("ide", "ann", "desktop"), "lic.2", NOW + 10);
    let again = again.expect("refreshed");
    assert!(!again.created);
    assert_eq!(again.lease.id, first.lease.id);
    assert_eq!(again.lease.sessions.len(), 2);
    assert_eq!(
        kinds(&ch),
        [(SeatEventKind::Refreshed, Some("HOST_JOINED"))]
    );
    assert_eq!(pool.allocated("ide"), 1, "one seat, two hosts");
    // The same host again only refreshes its session: a later expiry, stored, no event.
    let (same, ch) = checkout(&mut pool, ask("ide", "ann", "laptop"), "lic.3", NOW + 20);
    assert_eq!(
        same.expect("refreshed").session.expires_at,
        NOW + 20 + u64::from(LEASE)
    );
    assert_eq!(kinds(&ch), []);
    assert_eq!(
        ch.extended.iter().collect::<Vec<_>>(),
        [first.lease.id.as_str()]
    );
    assert!(ch.holdings_changed() && !ch.membership_changed() && !ch.is_empty());
}

#[test]
fn max_sessions_caps_the_hosts_of_one_user() {
    let mut pool = Pool::new(SeatTerms {
        max_sessions: 2,
        ..terms(5)
    });
    checkout(&mut pool, ask("ide", "ann", "a"), "lic.1", NOW)
        .0
        .expect("a");
    checkout(&mut pool, ask("ide", "ann", "b"), "lic.2", NOW)
        .0
        .expect("b");
    let (third, ch) = checkout(&mut pool, ask("ide", "ann", "c"), "lic.3", NOW);
    assert_eq!(third.err(), Some(SeatDenial::SessionLimitReached));
    assert_eq!(
        kinds(&ch),
        [(SeatEventKind::Denied, Some("SESSION_LIMIT_REACHED"))]
    );
    // Once a host's session has expired, another host may take its place.
    let mut ch = Changes::default();
    beat_newest(
        &mut pool,
        "lic.1",
        ask("ide", "ann", "a"),
        NOW + 1000,
        &mut ch,
    )
    .expect("a lives");
    let later = NOW + u64::from(LEASE) + 1;
    assert!(
        checkout(&mut pool, ask("ide", "ann", "c"), "lic.4", later)
            .0
            .is_ok()
    );
}

#[test]
fn sessions_expire_and_free_the_seat_at_their_time_exactly() {
    let mut pool = Pool::new(terms(1));
    checkout(&mut pool, ask("ide", "ann", "h"), "lic.1", NOW)
        .0
        .expect("granted");
    let expiry = NOW + u64::from(LEASE);
    assert_eq!(pool.next_expiry(), Some(expiry));
    let (out, _) = checkout(&mut pool, ask("ide", "bob", "h"), "lic.2", expiry - 1);
    assert_eq!(
        out.err(),
        Some(SeatDenial::NoSeatAvailable),
        "still held a second before"
    );
    let mut ch = Changes::default();
    pool.sweep(expiry, &mut ch);
    assert_eq!(kinds(&ch), [(SeatEventKind::Expired, None)]);
    assert!(ch.removed.contains("lic.1"));
    assert_eq!(pool.allocated("ide"), 0);
    assert_eq!(pool.next_expiry(), None);
    assert!(
        checkout(&mut pool, ask("ide", "bob", "h"), "lic.2", expiry)
            .0
            .is_ok()
    );
}

#[test]
fn a_second_host_expiring_leaves_the_lease_to_the_first() {
    let mut pool = Pool::new(terms(1));
    checkout(&mut pool, ask("ide", "ann", "a"), "lic.1", NOW)
        .0
        .expect("a");
    checkout(&mut pool, ask("ide", "ann", "b"), "lic.1x", NOW + 100)
        .0
        .expect("b joins");
    let mut ch = Changes::default();
    pool.sweep(NOW + u64::from(LEASE), &mut ch);
    assert_eq!(
        kinds(&ch),
        [(SeatEventKind::Refreshed, Some("HOST_EXPIRED"))]
    );
    let lease = pool.lease("lic.1").expect("still held from b");
    assert_eq!(lease.sessions.len(), 1);
    assert_eq!(lease.sessions[0].host, "b");
}

#[test]
fn heartbeats_extend_and_fail_once_the_session_is_gone() {
    let mut pool = Pool::new(terms(1));
    checkout(&mut pool, ask("ide", "ann", "h"), "lic.1", NOW)
        .0
        .expect("granted");
    let mut ch = Changes::default();
    let beat = beat_newest(
        &mut pool,
        "lic.1",
        ask("ide", "ann", "h"),
        NOW + 600,
        &mut ch,
    )
    .expect("alive");
    assert_eq!(beat.session.expires_at, NOW + 600 + u64::from(LEASE));
    // A heartbeat is no event, but its later expiry is a change to store.
    assert_eq!(kinds(&ch), []);
    assert_eq!(ch.extended.iter().collect::<Vec<_>>(), ["lic.1"]);
    assert!(ch.holdings_changed() && !ch.membership_changed() && !ch.is_empty());
    // Another user, product or host cannot beat this lease.
    for r in [
        ask("ide", "bob", "h"),
        ask("profiler", "ann", "h"),
        ask("ide", "ann", "x"),
    ] {
        assert!(beat_newest(&mut pool, "lic.1", r, NOW + 601, &mut Changes::default()).is_err());
    }
    let late = NOW + 600 + u64::from(LEASE);
    let mut ch = Changes::default();
    assert!(beat_newest(&mut pool, "lic.1", ask("ide", "ann", "h"), late, &mut ch).is_err());
    assert_eq!(kinds(&ch), [(SeatEventKind::Expired, None)]);
}

#[test]
fn release_frees_at_once_and_twice_is_harmless() {
    let mut pool = Pool::new(terms(1));
    checkout(&mut pool, ask("ide", "ann", "h"), "lic.1", NOW)
        .0
        .expect("granted");
    let mut ch = Changes::default();
    pool.release("lic.1", ask("ide", "ann", "h"), NOW + 5, &mut ch);
    assert_eq!(kinds(&ch), [(SeatEventKind::Released, None)]);
    assert_eq!(pool.allocated("ide"), 0);
    let mut ch = Changes::default();
    pool.release("lic.1", ask("ide", "ann", "h"), NOW + 6, &mut ch);
    assert!(ch.is_empty());
    // Someone else's release changes nothing either.
    checkout(&mut pool, ask("ide", "bob", "h"), "lic.2", NOW + 7)
        .0
        .expect("bob");
    let mut ch = Changes::default();
    pool.release("lic.2", ask("ide", "ann", "h"), NOW + 8, &mut ch);
    assert!(ch.is_empty());
    assert_eq!(pool.allocated("ide"), 1);
}

#[test]
fn an_administrator_revokes_one_lease_of_its_user_only() {
    let mut pool = Pool::new(terms(2));
    checkout(&mut pool, ask("ide", "ann", "h"), "lic.1", NOW)
        .0
        .expect("granted");
    assert!(
        pool.revoke_lease("lic.1", "bob", NOW, &mut Changes::default())
            .is_none()
    );
    let mut ch = Changes::default();
    assert!(pool.revoke_lease("lic.1", "ann", NOW, &mut ch).is_some());
    assert_eq!(kinds(&ch), [(SeatEventKind::Revoked, Some("REVOKED"))]);
    // Revoking alone lets the app take a seat again.
    assert!(
        checkout(&mut pool, ask("ide", "ann", "h"), "lic.2", NOW + 1)
            .0
            .is_ok()
    );
}

#[test]
fn a_revoked_license_ends_every_lease_and_stays_revoked() {
    let mut pool = Pool::new(terms(3));
    checkout(&mut pool, ask("ide", "ann", "h"), "lic.1", NOW)
        .0
        .expect("ann");
    checkout(&mut pool, ask("profiler", "bob", "h"), "lic.2", NOW)
        .0
        .expect("bob");
    let mut ch = Changes::default();
    pool.revoke("admin", NOW + 1, &mut ch);
    assert!(ch.revoked);
    assert_eq!(ch.removed.len(), 2);
    assert!(
        ch.events
            .iter()
            .all(|e| e.reason.as_deref() == Some("LICENSE_REVOKED"))
    );
    let mut ch = Changes::default();
    pool.revoke("someone-else", NOW + 2, &mut ch);
    assert!(ch.is_empty(), "revoking twice changes nothing");
    assert_eq!(
        pool.revocation().map(|r| (r.at, r.by.as_str())),
        Some((NOW + 1, "admin"))
    );
    let (out, _) = checkout(&mut pool, ask("ide", "ann", "h"), "lic.3", NOW + 3);
    assert_eq!(out.err(), Some(SeatDenial::License(DenyCode::Revoked)));
    assert!(
        beat_newest(
            &mut pool,
            "lic.1",
            ask("ide", "ann", "h"),
            NOW + 3,
            &mut Changes::default()
        )
        .is_err()
    );
}

#[test]
fn the_license_itself_refuses_wrong_products_and_its_end() {
    let mut pool = Pool::new(terms(3));
    let (out, _) = checkout(&mut pool, ask("other", "ann", "h"), "lic.1", NOW);
    assert_eq!(out.err(), Some(SeatDenial::License(DenyCode::WrongProduct)));
    let t = terms(3);
    let (out, _) = checkout(&mut pool, ask("ide", "ann", "h"), "lic.1", t.lexp);
    assert_eq!(
        out.err(),
        Some(SeatDenial::License(DenyCode::LicenseExpired))
    );
    let mut trial = Pool::new(SeatTerms {
        trial_exp: NOW + 100,
        ..terms(3)
    });
    let granted = checkout(&mut trial, ask("ide", "ann", "h"), "lic.1", NOW)
        .0
        .expect("in trial");
    assert_eq!(
        granted.session.expires_at,
        NOW + 100,
        "a session never outlives the trial"
    );
    let (out, _) = checkout(&mut trial, ask("ide", "bob", "h"), "lic.2", NOW + 100);
    assert_eq!(out.err(), Some(SeatDenial::License(DenyCode::TrialExpired)));
}

#[test]
fn usage_billing_grants_beyond_the_seats_as_overage() {
    let mut pool = Pool::new(SeatTerms {
        overage: true,
        ..terms(1)
    });
    assert!(
        !checkout(&mut pool, ask("ide", "ann", "h"), "lic.1", NOW)
            .0
            .expect("seat")
            .lease
            .overage
    );
    let (out, ch) = checkout(&mut pool, ask("ide", "bob", "h"), "lic.2", NOW);
    assert!(out.expect("overage").lease.overage);
    assert_eq!(kinds(&ch), [(SeatEventKind::Granted, Some("OVERAGE"))]);
    assert_eq!(pool.allocated("ide"), 2);
}

fn deny(version: u64) -> DenyState {
    DenyState {
        version,
        ..DenyState::default()
    }
}

#[test]
fn a_block_ends_the_users_leases_and_refuses_new_ones_until_lifted() {
    let mut pool = Pool::new(terms(3));
    checkout(&mut pool, ask("ide", "ann", "h"), "lic.1", NOW)
        .0
        .expect("ann");
    checkout(&mut pool, ask("ide", "bob", "h"), "lic.2", NOW)
        .0
        .expect("bob");
    let mut blocked = deny(1);
    blocked.blocked.insert("ann".into());
    let mut ch = Changes::default();
    assert!(pool.apply_deny(blocked.clone(), NOW + 1, &mut ch));
    assert!(ch.deny);
    assert_eq!(kinds(&ch), [(SeatEventKind::Revoked, Some("USER_BLOCKED"))]);
    assert!(pool.lease("lic.2").is_some(), "others keep their seats");
    let (out, ch) = checkout(&mut pool, ask("ide", "ann", "h"), "lic.3", NOW + 2);
    assert_eq!(out.err(), Some(SeatDenial::UserBlocked));
    assert_eq!(kinds(&ch), [(SeatEventKind::Denied, Some("USER_BLOCKED"))]);
    // An older or equal state never replaces a newer one: the block cannot be undone
    // by a delivery that was overtaken.
    assert!(!pool.apply_deny(deny(1), NOW + 3, &mut Changes::default()));
    assert!(!pool.apply_deny(deny(0), NOW + 3, &mut Changes::default()));
    assert_eq!(pool.deny(), &blocked);
    assert!(pool.apply_deny(deny(2), NOW + 4, &mut Changes::default()));
    assert!(
        checkout(&mut pool, ask("ide", "ann", "h"), "lic.3", NOW + 5)
            .0
            .is_ok()
    );
}

#[test]
fn a_disconnected_product_ends_its_leases_and_refuses_new_ones() {
    let mut pool = Pool::new(terms(3));
    checkout(&mut pool, ask("ide", "ann", "h"), "lic.1", NOW)
        .0
        .expect("ide");
    checkout(&mut pool, ask("profiler", "ann", "h"), "lic.2", NOW)
        .0
        .expect("profiler");
    let mut state = deny(1);
    state.disconnected.insert("ide".into());
    let mut ch = Changes::default();
    pool.apply_deny(state, NOW + 1, &mut ch);
    assert_eq!(
        kinds(&ch),
        [(SeatEventKind::Revoked, Some("PRODUCT_DISCONNECTED"))]
    );
    assert!(pool.lease("lic.2").is_some());
    let (out, _) = checkout(&mut pool, ask("ide", "bob", "h"), "lic.3", NOW + 2);
    assert_eq!(out.err(), Some(SeatDenial::ProductDisconnected));
}

#[test]
fn revoke_all_ends_leases_up_to_its_time_and_lets_new_ones_through() {
    let mut pool = Pool::new(terms(3));
    checkout(&mut pool, ask("ide", "ann", "h"), "lic.1", NOW)
        .0
        .expect("ann");
    let mut state = deny(1);
    state.revoked_before.insert("ann".into(), NOW + 10);
    let mut ch = Changes::default();
    pool.apply_deny(state, NOW + 10, &mut ch);
    assert_eq!(kinds(&ch), [(SeatEventKind::Revoked, Some("REVOKED"))]);
    let out = checkout(&mut pool, ask("ide", "ann", "h"), "lic.2", NOW + 11)
        .0
        .expect("again");
    assert!(out.created);
    // The same mark delivered again (with a later change) leaves the new lease alone,
    // though it began in the same second as the mark.
    let taken_at_mark = checkout(&mut pool, ask("profiler", "ann", "h"), "lic.3", NOW + 10).0;
    assert!(taken_at_mark.expect("granted").created);
    let mut again = pool.deny().clone();
    again.version = 2;
    again.blocked.insert("someone-else".into());
    let mut ch = Changes::default();
    pool.apply_deny(again, NOW + 12, &mut ch);
    assert!(ch.removed.is_empty(), "{ch:?}");
    // A license that meets the mark for the first time ends what began up to it.
    let mut late = Pool::new(terms(3));
    checkout(&mut late, ask("ide", "ann", "h"), "lic.9", NOW + 5)
        .0
        .expect("ann");
    checkout(&mut late, ask("profiler", "ann", "h"), "lic.10", NOW + 11)
        .0
        .expect("ann");
    let mut ch = Changes::default();
    late.apply_deny(pool.deny().clone(), NOW + 20, &mut ch);
    assert_eq!(ch.removed.iter().collect::<Vec<_>>(), ["lic.9"]);
}

#[test]
fn snapshot_lists_who_holds_what() {
    let mut pool = Pool::new(terms(3));
    checkout(&mut pool, ask("ide", "ann", "a"), "lic.1", NOW)
        .0
        .expect("ann");
    checkout(&mut pool, ask("ide", "ann", "b"), "lic.1x", NOW + 1)
        .0
        .expect("ann b");
    let snap = pool.snapshot();
    assert_eq!(
        (snap.lid.as_str(), snap.seats, snap.revoked),
        ("lic", 3, false)
    );
    assert_eq!(snap.holdings.len(), 1);
    assert_eq!(snap.holdings[0].hosts, ["a", "b"]);
    assert_eq!(snap.holdings[0].expires_at, NOW + 1 + u64::from(LEASE));
}

#[test]
fn restore_rebuilds_counts_from_stored_leases() {
    let mut pool = Pool::new(terms(2));
    checkout(&mut pool, ask("ide", "ann", "h"), "lic.1", NOW)
        .0
        .expect("ann");
    checkout(&mut pool, ask("ide", "bob", "h"), "lic.2", NOW)
        .0
        .expect("bob");
    let stored: Vec<Lease> = pool.leases().cloned().collect();
    let mut again = Pool::restore(
        "lic",
        PoolState {
            terms: Some(terms(2)),
            leases: stored,
            deny: deny(0),
            ..PoolState::default()
        },
    );
    assert_eq!(again, pool);
    assert_eq!(
        checkout(&mut again, ask("ide", "cy", "h"), "lic.3", NOW)
            .0
            .err(),
        Some(SeatDenial::NoSeatAvailable)
    );
}

#[test]
fn request_fields_are_bounded() {
    assert!(check_seat_request("ide", "ann@example.com", "").is_ok());
    assert!(check_seat_request("ide", "ann", "build-agent-7").is_ok());
    let long = "x".repeat(10 * 1024);
    for (product, user, host, field) in [
        ("", "ann", "", "product"),
        ("ide", "", "", "user"),
        ("ide", "   ", "", "user"),
        ("ide", &long, "", "user"),
        ("ide", "ann", &long, "host"),
        (&long, "ann", "", "product"),
        ("ide", "an\nn", "", "user"),
    ] {
        match check_seat_request(product, user, host) {
            Err(Error::Invalid { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    assert!(check_lease_seconds(59).is_err());
    assert!(check_lease_seconds(60).is_ok());
    assert!(check_lease_seconds(7 * 86_400).is_ok());
    assert!(check_lease_seconds(7 * 86_400 + 1).is_err());
}

#[test]
fn lease_ids_name_their_license() {
    assert_eq!(lease_lid("abc-1_2.xyz"), Some("abc-1_2"));
    for bad in ["abc", ".xyz", "abc.", "a/b.c", "a.b.c", &"a".repeat(65)] {
        assert_eq!(lease_lid(bad), None, "{bad}");
    }
    assert_eq!(
        SeatDenial::License(DenyCode::Revoked).to_string(),
        "REVOKED"
    );
}

mod denials;
mod installations;
