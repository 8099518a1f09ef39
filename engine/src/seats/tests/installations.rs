//! Installations: a session is a key, not a label; clones are caught by the lease
//! token's generation; node-locked licenses lend only to activated machines.

use alloc::string::ToString;
use alloc::vec::Vec;

use super::*;

fn node_locked(machines: u32, per_day: u32) -> SeatTerms {
    SeatTerms {
        max_machines: machines,
        activations_per_day: per_day,
        ..terms(5)
    }
}

/// A request for `user` from installation `installation`, every host labelled alike.
fn from<'a>(user: &'a str, installation: &'a str) -> SeatRequest<'a> {
    SeatRequest {
        product: "ide",
        user,
        host: "the same label",
        installation,
    }
}

#[test]
fn two_installations_are_two_sessions_whatever_their_label() {
    let mut pool = Pool::new(SeatTerms {
        max_sessions: 1,
        ..terms(5)
    });
    let (first, _) = checkout(&mut pool, from("ann", "key-a"), "lic.1", NOW);
    assert!(first.is_ok());
    // Same user, same host label, another key: a second machine.
    let (second, ch) = checkout(&mut pool, from("ann", "key-b"), "lic.2", NOW);
    assert_eq!(second.err(), Some(SeatDenial::SessionLimitReached));
    assert_eq!(
        kinds(&ch),
        [(SeatEventKind::Denied, Some("SESSION_LIMIT_REACHED"))]
    );
    // The first machine again is its own session, refreshed.
    let (again, _) = checkout(&mut pool, from("ann", "key-a"), "lic.3", NOW + 5);
    assert_eq!(
        again.map(|c| (c.lease.id, c.created)),
        Ok(("lic.1".to_string(), false))
    );
}

#[test]
fn seats_count_installations_exactly() {
    let mut pool = Pool::new(terms(50));
    let mut granted = 0;
    for i in 0..200 {
        let user = alloc::format!("user-{i}");
        let key = alloc::format!("key-{i}");
        let id = alloc::format!("lic.{i}");
        if checkout(&mut pool, from(&user, &key), &id, NOW).0.is_ok() {
            granted += 1;
        }
    }
    assert_eq!(granted, 50);
    assert_eq!(pool.allocated("ide"), 50);
}

#[test]
fn each_heartbeat_starts_a_new_generation_and_the_old_token_stops() {
    let mut pool = Pool::new(terms(5));
    let r = from("ann", "key-a");
    let (c, _) = checkout(&mut pool, r, "lic.1", NOW);
    assert_eq!(c.map(|c| c.session.generation), Ok(1));
    let mut ch = Changes::default();
    let next = pool.heartbeat("lic.1", r, 1, Some("k1"), NOW + 600, &mut ch);
    assert_eq!(next.map(|c| c.session.generation), Ok(2));
    assert!(!ch.membership_changed(), "a heartbeat moves no seat");
    let next = pool.heartbeat(
        "lic.1",
        r,
        2,
        Some("k2"),
        NOW + 1200,
        &mut Changes::default(),
    );
    assert_eq!(next.map(|c| c.session.generation), Ok(3));
}

#[test]
fn a_retried_heartbeat_is_not_a_clone() {
    let mut pool = Pool::new(terms(5));
    let r = from("ann", "key-a");
    let _ = checkout(&mut pool, r, "lic.1", NOW);
    let first = pool.heartbeat(
        "lic.1",
        r,
        1,
        Some("k1"),
        NOW + 600,
        &mut Changes::default(),
    );
    assert_eq!(first.map(|c| c.session.generation), Ok(2));
    // The answer was lost: the app sends the same heartbeat again, same key.
    for late in [NOW + 601, NOW + 600 + RETRY_SECONDS - 1] {
        let mut ch = Changes::default();
        let retry = pool.heartbeat("lic.1", r, 1, Some("k1"), late, &mut ch);
        assert_eq!(
            retry.map(|c| c.session.generation),
            Ok(2),
            "the same generation"
        );
        assert!(ch.events.is_empty());
    }
    // Later than the retry window, the same presentation is a second machine's.
    let mut ch = Changes::default();
    let late = pool.heartbeat(
        "lic.1",
        r,
        1,
        Some("k1"),
        NOW + 600 + RETRY_SECONDS,
        &mut ch,
    );
    assert_eq!(late.err(), Some(Gone::CloneDetected));
}

#[test]
fn after_a_retry_the_app_goes_on() {
    let mut pool = Pool::new(terms(5));
    let r = from("ann", "key-a");
    let _ = checkout(&mut pool, r, "lic.1", NOW);
    let _ = pool.heartbeat(
        "lic.1",
        r,
        1,
        Some("k1"),
        NOW + 600,
        &mut Changes::default(),
    );
    let retry = pool.heartbeat(
        "lic.1",
        r,
        1,
        Some("k1"),
        NOW + 605,
        &mut Changes::default(),
    );
    assert!(retry.is_ok());
    // Then it goes on with generation 2 as if nothing happened.
    let on = pool.heartbeat(
        "lic.1",
        r,
        2,
        Some("k2"),
        NOW + 1200,
        &mut Changes::default(),
    );
    assert_eq!(on.map(|c| c.session.generation), Ok(3));
}

#[test]
fn two_machines_sharing_a_lease_are_caught_at_once() {
    let mut pool = Pool::new(terms(5));
    let r = from("ann", "key-a");
    let _ = checkout(&mut pool, r, "lic.1", NOW);
    // Machine A heartbeats with generation 1 and moves on to 2.
    let a = pool.heartbeat(
        "lic.1",
        r,
        1,
        Some("a-1"),
        NOW + 600,
        &mut Changes::default(),
    );
    assert!(a.is_ok());
    // Machine B, holding a copy of generation 1 and of the key, heartbeats in turn with
    // its own idempotency key: the lease is in two places.
    let mut ch = Changes::default();
    let b = pool.heartbeat("lic.1", r, 1, Some("b-1"), NOW + 610, &mut ch);
    assert_eq!(b.err(), Some(Gone::CloneDetected));
    assert_eq!(
        kinds(&ch),
        [(SeatEventKind::Revoked, Some("CLONE_DETECTED"))]
    );
    assert!(ch.membership_changed());
    // A's next heartbeat finds the session gone too.
    let a = pool.heartbeat(
        "lic.1",
        r,
        2,
        Some("a-2"),
        NOW + 1200,
        &mut Changes::default(),
    );
    assert_eq!(a.err(), Some(Gone::Ended));
    assert_eq!(pool.allocated("ide"), 0);
}

#[test]
fn a_clone_without_an_idempotency_key_is_caught_too() {
    let mut pool = Pool::new(terms(5));
    let r = from("ann", "key-a");
    let _ = checkout(&mut pool, r, "lic.1", NOW);
    let _ = pool.heartbeat("lic.1", r, 1, None, NOW + 600, &mut Changes::default());
    let b = pool.heartbeat("lic.1", r, 1, None, NOW + 601, &mut Changes::default());
    assert_eq!(b.err(), Some(Gone::CloneDetected));
}

#[test]
fn a_cloned_installation_ends_only_its_own_session() {
    let mut pool = Pool::new(SeatTerms {
        max_sessions: 2,
        ..terms(5)
    });
    let _ = checkout(&mut pool, from("ann", "key-a"), "lic.1", NOW);
    let _ = checkout(&mut pool, from("ann", "key-b"), "lic.2", NOW);
    let a = from("ann", "key-a");
    let _ = pool.heartbeat("lic.1", a, 1, Some("x"), NOW + 60, &mut Changes::default());
    let mut ch = Changes::default();
    let clone = pool.heartbeat("lic.1", a, 1, Some("y"), NOW + 61, &mut ch);
    assert_eq!(clone.err(), Some(Gone::CloneDetected));
    assert_eq!(
        kinds(&ch),
        [(SeatEventKind::Refreshed, Some("CLONE_DETECTED"))]
    );
    let lease = pool.lease("lic.1").expect("the lease goes on");
    assert_eq!(lease.sessions.len(), 1);
    assert_eq!(lease.sessions[0].installation, "key-b");
}

#[test]
fn a_checkout_again_retires_the_token_it_had() {
    let mut pool = Pool::new(terms(5));
    let r = from("ann", "key-a");
    let _ = checkout(&mut pool, r, "lic.1", NOW);
    let (again, _) = checkout(&mut pool, r, "lic.9", NOW + 10);
    assert_eq!(again.map(|c| c.session.generation), Ok(2));
    let stale = pool.heartbeat("lic.1", r, 1, Some("k"), NOW + 20, &mut Changes::default());
    assert_eq!(stale.err(), Some(Gone::CloneDetected));
}

fn details(name: &str) -> MachineDetails<'_> {
    MachineDetails {
        name,
        platform: "linux-x64",
        fingerprint: "",
    }
}

#[test]
fn a_node_locked_license_lends_only_to_its_machines() {
    let mut pool = Pool::new(node_locked(3, 0));
    let (refused, ch) = checkout(&mut pool, from("ann", "key-a"), "lic.1", NOW);
    assert_eq!(refused.err(), Some(SeatDenial::MachineNotActivated));
    assert_eq!(
        kinds(&ch),
        [(SeatEventKind::Denied, Some("MACHINE_NOT_ACTIVATED"))]
    );
    let mut ch = Changes::default();
    let m = pool
        .activate("key-a", details("desk"), "lic.m1", NOW, &mut ch)
        .expect("activated");
    assert!(m.created);
    assert_eq!(kinds(&ch), [(SeatEventKind::Activated, None)]);
    assert!(ch.machines_saved.contains("key-a") && ch.activations);
    assert!(
        checkout(&mut pool, from("ann", "key-a"), "lic.1", NOW)
            .0
            .is_ok()
    );
    // Activating again is the same machine, not a new one.
    let again = pool
        .activate(
            "key-a",
            details("renamed"),
            "lic.m9",
            NOW + 1,
            &mut Changes::default(),
        )
        .expect("active");
    assert_eq!(
        (again.machine.id.as_str(), again.created),
        ("lic.m1", false)
    );
}

#[test]
fn machines_stop_at_the_limit_until_one_is_deactivated() {
    let mut pool = Pool::new(node_locked(3, 0));
    for (i, key) in ["k1", "k2", "k3"].into_iter().enumerate() {
        let id = alloc::format!("lic.m{i}");
        assert!(
            pool.activate(key, details(key), &id, NOW, &mut Changes::default())
                .is_ok()
        );
    }
    let fourth = pool.activate("k4", details("k4"), "lic.m4", NOW, &mut Changes::default());
    assert_eq!(
        fourth.err(),
        Some(ActivationRefused::Denied(SeatDenial::MachineLimitReached))
    );
    // k2 holds a seat; deactivating it ends the seat and frees the machine.
    assert!(
        checkout(&mut pool, from("bob", "k2"), "lic.b", NOW)
            .0
            .is_ok()
    );
    let mut ch = Changes::default();
    let gone = pool
        .deactivate("lic.m1", NOW + 5, &mut ch)
        .expect("deactivated");
    assert_eq!(gone.installation, "k2");
    assert_eq!(
        kinds(&ch),
        [
            (SeatEventKind::Deactivated, None),
            (SeatEventKind::Revoked, Some("MACHINE_DEACTIVATED"))
        ]
    );
    assert_eq!(pool.allocated("ide"), 0);
    assert!(
        pool.deactivate("lic.m1", NOW + 6, &mut Changes::default())
            .is_none()
    );
    let fourth = pool.activate(
        "k4",
        details("k4"),
        "lic.m4",
        NOW + 7,
        &mut Changes::default(),
    );
    assert!(fourth.is_ok_and(|a| a.created));
}

#[test]
fn activations_per_day_are_limited_with_the_time_to_wait() {
    let mut pool = Pool::new(node_locked(1, 2));
    let mut ch = Changes::default();
    assert!(
        pool.activate("k1", details("a"), "lic.m1", NOW, &mut ch)
            .is_ok()
    );
    let _ = pool.deactivate("lic.m1", NOW + 10, &mut ch);
    assert!(
        pool.activate("k2", details("b"), "lic.m2", NOW + 20, &mut ch)
            .is_ok()
    );
    let _ = pool.deactivate("lic.m2", NOW + 30, &mut ch);
    let mut ch = Changes::default();
    let third = pool.activate("k3", details("c"), "lic.m3", NOW + 40, &mut ch);
    assert_eq!(
        third.err(),
        Some(ActivationRefused::TooManyActivations {
            retry_after: 86_400 - 40
        })
    );
    assert_eq!(
        kinds(&ch),
        [(SeatEventKind::Denied, Some("TOO_MANY_ACTIVATIONS"))]
    );
    // A day after the first, one activation is free again.
    let later = pool.activate(
        "k3",
        details("c"),
        "lic.m3",
        NOW + 86_400,
        &mut Changes::default(),
    );
    assert!(later.is_ok());
}

#[test]
fn a_revoked_or_ended_license_activates_nothing() {
    let mut pool = Pool::new(node_locked(3, 0));
    pool.revoke("admin", NOW, &mut Changes::default());
    let refused = pool.activate("k1", details("a"), "lic.m1", NOW, &mut Changes::default());
    assert_eq!(
        refused.err(),
        Some(ActivationRefused::Denied(SeatDenial::License(
            DenyCode::Revoked
        )))
    );
    let mut ended = Pool::new(node_locked(3, 0));
    let after = NOW + 366 * 86_400;
    let refused = ended.activate("k1", details("a"), "lic.m1", after, &mut Changes::default());
    assert_eq!(
        refused.err(),
        Some(ActivationRefused::Denied(SeatDenial::License(
            DenyCode::LicenseExpired
        )))
    );
}

#[test]
fn machines_survive_a_restore() {
    let mut pool = Pool::new(node_locked(2, 0));
    let m = pool
        .activate("k1", details("a"), "lic.m1", NOW, &mut Changes::default())
        .expect("active")
        .machine;
    let again = Pool::restore(
        "lic",
        PoolState {
            terms: Some(node_locked(2, 0)),
            machines: Vec::from([m.clone()]),
            activations: Vec::from([NOW]),
            ..PoolState::default()
        },
    );
    assert_eq!(again.machine("k1"), Some(&m));
    assert_eq!(again.machine_by_id("lic.m1"), Some(&m));
    assert_eq!(again.activations(), [NOW]);
}
