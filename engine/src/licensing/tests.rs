//! The licensing service over a `MemoryStore`. `NOW` is fixed; nothing reads the clock.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use std::vec;

use super::*;
use crate::DAY;
use crate::decision::Warning;
use crate::records::MAX_TEXT;
use crate::signing::sign;
use crate::store::{LiveState, MemoryKeyUses, MemoryLiveState, MemoryStore};

const NOW: u64 = 1_800_000_000;
const ISSUER: &str = "https://licenses.example";
const INSTANCE: &str = "https://app.example/";

/// Run a future that never waits (every `MemoryStore` call is ready at once).
fn run<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    match f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("MemoryStore futures are always ready"),
    }
}

struct Fixture {
    store: MemoryStore,
    live: MemoryLiveState,
    key_uses: MemoryKeyUses,
    keys: KeySet,
    signer: SigningKey,
}

impl Fixture {
    fn new() -> Fixture {
        let signer = SigningKey::from_seed(&[1; 32]);
        let mut keys = KeySet::new();
        keys.insert_signing_key(&signer).expect("key");
        Fixture {
            store: MemoryStore::new(),
            live: MemoryLiveState::new(),
            key_uses: MemoryKeyUses::default(),
            keys,
            signer,
        }
    }

    fn svc(&self) -> Licensing<'_, MemoryStore, MemoryLiveState, MemoryKeyUses> {
        Licensing {
            store: &self.store,
            live: &self.live,
            key_uses: &self.key_uses,
            keys: &self.keys,
            signer: Some(&self.signer),
            issuer: ISSUER,
        }
    }

    fn issue(&self, lid: &str) -> LicenseRecord {
        run(self.svc().issue(
            request(),
            lid.into(),
            std::format!("{lid}-t1"),
            "admin",
            NOW,
        ))
        .expect("issue")
    }
}

fn request() -> IssueRequest {
    serde_json::from_value(serde_json::json!({
        "company": "Example Labs",
        "instance": "https://APP.example",
        "products": ["tessera-pro"],
        "expires_at": NOW + 365 * DAY,
        "included_users": 15
    }))
    .expect("a valid request")
}

#[test]
fn issue_builds_signed_claims_with_defaults() {
    let f = Fixture::new();
    let record = f.issue("lic-1");
    let c = &record.claims;
    assert_eq!(
        (c.iss.as_str(), c.sub.as_str(), c.lid.as_str()),
        (ISSUER, INSTANCE, "lic-1")
    );
    assert_eq!(
        (c.iat, c.nbf, c.exp, c.lexp),
        (NOW, NOW, NOW + 30 * DAY, NOW + 365 * DAY)
    );
    assert_eq!(
        (c.lic_exp_warn_days, c.tok_exp_warn_days, c.update_days),
        (30, 2, 1)
    );
    assert_eq!(c.limit_by, "users");
    let expect = Expectations::default().issuer(ISSUER).instance(INSTANCE);
    assert!(validate(&record.token, &f.keys, &expect, NOW).is_allowed());
    assert_eq!(run(f.svc().get("lic-1")).expect("stored"), record);
    assert_eq!(
        run(f.svc().list(None, 100)).expect("list").items,
        vec![record.without_token()],
        "lists carry no tokens"
    );
}

#[test]
fn issue_refuses_bad_fields_and_stores_nothing() {
    let f = Fixture::new();
    let cases: [(&str, serde_json::Value); 12] = [
        ("lease_seconds", serde_json::json!(59)),
        ("lease_seconds", serde_json::json!(7 * DAY + 1)),
        ("company", serde_json::json!("")),
        ("instance", serde_json::json!("app.example")),
        ("products", serde_json::json!([])),
        ("products", serde_json::json!([""])),
        ("expires_at", serde_json::json!(NOW)),
        ("expires_at", serde_json::json!(crate::MAX_TIMESTAMP + 1)),
        ("token_days", serde_json::json!(0)),
        ("details_url", serde_json::json!("javascript:alert(1)")),
        ("trial_exp", serde_json::json!(NOW + DAY)),
        ("company", serde_json::json!("x".repeat(MAX_TEXT + 1))),
    ];
    for (field, value) in cases {
        let mut json = serde_json::to_value(request()).expect("json");
        json[field] = value;
        let req: IssueRequest = serde_json::from_value(json).expect("well-typed");
        match run(f.svc().issue(req, "lic".into(), "t".into(), "admin", NOW)) {
            Err(Error::Invalid { field: got, .. }) => assert_eq!(got, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    assert_eq!(f.store.snapshot(), BTreeMap::new());
    assert_eq!(f.live.terms("lic"), None, "no live state either");
}

#[test]
fn the_list_comes_in_pages() {
    let f = Fixture::new();
    for i in 0..5 {
        f.issue(&std::format!("lic-{i}"));
    }
    let first = run(f.svc().list(None, 2)).expect("page 1");
    let lids = |p: &crate::api::Page<LicenseRecord>| {
        p.items.iter().map(|r| r.lid.clone()).collect::<Vec<_>>()
    };
    assert_eq!(lids(&first), ["lic-0", "lic-1"]);
    assert!(
        first.items.iter().all(|r| r.token.is_empty()),
        "lists show no tokens"
    );
    assert!(!run(f.svc().get("lic-0")).expect("get").token.is_empty());
    let second = run(f.svc().list(first.next_cursor.as_deref(), 2)).expect("page 2");
    assert_eq!(lids(&second), ["lic-2", "lic-3"]);
    let last = run(f.svc().list(second.next_cursor.as_deref(), 2)).expect("page 3");
    assert_eq!(
        (lids(&last), last.next_cursor),
        (vec!["lic-4".to_string()], None)
    );
}

#[test]
fn issue_refuses_a_license_whose_token_no_verifier_would_read() {
    let f = Fixture::new();
    let mut json = serde_json::to_value(request()).expect("json");
    // 32 products of 200 bytes: every field within its own limit, the token not.
    json["products"] = serde_json::json!(
        (0..32)
            .map(|i| std::format!("{i:0>200}"))
            .collect::<Vec<_>>()
    );
    let req: IssueRequest = serde_json::from_value(json).expect("well-typed");
    match run(f.svc().issue(req, "lic".into(), "t".into(), "admin", NOW)) {
        Err(Error::Invalid {
            field: "request",
            message,
        }) => assert!(message.contains("8192"), "{message}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(f.store.snapshot(), BTreeMap::new(), "nothing stored");
    assert_eq!(f.live.terms("lic"), None);
}

#[test]
fn issue_opens_the_live_state_with_the_seat_terms() {
    let f = Fixture::new();
    let record = f.issue("lic-1");
    assert_eq!(record.lease_seconds, 1200);
    let terms = f.live.terms("lic-1").expect("opened");
    assert_eq!(terms.seats, 15);
    assert_eq!(terms.products, ["tessera-pro"]);
    assert_eq!((terms.lease_seconds, terms.lexp), (1200, NOW + 365 * DAY));
    let mut json = serde_json::to_value(request()).expect("json");
    json["lease_seconds"] = serde_json::json!(60);
    let req: IssueRequest = serde_json::from_value(json).expect("well-typed");
    let short = run(f.svc().issue(req, "lic-2".into(), "t".into(), "admin", NOW)).expect("issue");
    assert_eq!(short.lease_seconds, 60);
    assert_eq!(f.live.terms("lic-2").map(|t| t.lease_seconds), Some(60));
}

#[test]
fn the_live_state_decides_revocation_even_when_the_record_says_otherwise() {
    let f = Fixture::new();
    let svc = f.svc();
    let record = f.issue("lic-1");
    run(svc.apply(INSTANCE, &record.token, "admin", NOW)).expect("apply");
    // A revocation that reached the live state but whose record copy was overwritten
    // (as by a renewal racing it): every check still sees it.
    run(f.live.revoke("lic-1", "boss", NOW + 1)).expect("revoke");
    assert!(!run(svc.check(INSTANCE, NOW + 2)).expect("check"));
    assert_eq!(
        run(svc.get("lic-1")).expect("get").state,
        LicenseState::Revoked
    );
    assert_eq!(
        run(svc.renew(INSTANCE, "t2".into(), "admin", NOW + 2)).err(),
        Some(Error::Refused(DenyCode::Revoked))
    );
}

#[test]
fn a_renewal_that_overwrote_a_revocations_copy_restores_it() {
    let f = Fixture::new();
    let svc = f.svc();
    let record = f.issue("lic-1");
    run(svc.apply(INSTANCE, &record.token, "admin", NOW)).expect("apply");
    // Renewal reads the record, then (in the race) the revocation lands in the live
    // state before renewal writes the record back. Simulate the interleaving with a
    // live state that reports the revocation only from its second question on.
    struct Late<'a>(&'a MemoryLiveState, core::cell::Cell<u32>);
    impl LiveState for Late<'_> {
        async fn open(&self, terms: &SeatTerms) -> Result<(), Error> {
            self.0.open(terms).await
        }
        async fn revocation(&self, lid: &str) -> Result<Option<Revocation>, Error> {
            let asked = self.1.get();
            self.1.set(asked + 1);
            if asked == 0 {
                return Ok(None);
            }
            self.0.revoke(lid, "boss", NOW + 1).await.map(Some)
        }
        async fn revoke(&self, lid: &str, by: &str, now: u64) -> Result<Revocation, Error> {
            self.0.revoke(lid, by, now).await
        }
    }
    let late = Late(&f.live, core::cell::Cell::new(0));
    let racing = Licensing {
        store: &f.store,
        live: &late,
        key_uses: &f.key_uses,
        keys: svc.keys,
        signer: svc.signer,
        issuer: ISSUER,
    };
    run(racing.renew(INSTANCE, "t2".into(), "admin", NOW + 2))
        .expect("renewed before the revocation");
    let stored: LicenseRecord = run(svc.read(&license_key("lic-1")))
        .expect("read")
        .expect("stored");
    assert_eq!(stored.state, LicenseState::Revoked, "the copy is restored");
    assert_eq!(stored.revoked_by.as_deref(), Some("boss"));
    assert_eq!(
        stored.token,
        run(svc.read::<AppliedLicense>(&applied_key(INSTANCE)))
            .expect("r")
            .expect("a")
            .token
    );
}

#[test]
fn trial_defaults_to_the_license_expiry() {
    let f = Fixture::new();
    let mut req = request();
    req.trial = true;
    let record = run(f.svc().issue(req, "lic-t".into(), "t".into(), "admin", NOW)).expect("issue");
    assert_eq!(record.claims.trial_exp, record.claims.lexp);
}

#[test]
fn unknown_fields_are_refused() {
    let mut json = serde_json::to_value(request()).expect("json");
    json["expires"] = serde_json::json!(1);
    assert!(serde_json::from_value::<IssueRequest>(json).is_err());
}

#[test]
fn the_seed_004_flow() {
    let f = Fixture::new();
    let svc = f.svc();
    let record = f.issue("lic-1");
    assert!(!run(svc.check(INSTANCE, NOW)).expect("check"));

    let status = run(svc.apply(INSTANCE, &record.token, "admin", NOW)).expect("apply");
    assert_eq!(status.claims, record.claims);
    assert_eq!(status.status, 0);
    assert!(run(svc.check(INSTANCE, NOW)).expect("check"));

    let later = NOW + 5 * DAY;
    let renewed = run(svc.renew(INSTANCE, "lic-1-t2".into(), "admin", later)).expect("renew");
    assert_eq!(renewed.claims.jti, "lic-1-t2");
    assert_eq!(renewed.claims.lid, "lic-1");
    assert_eq!(renewed.claims.iat, later);
    assert_eq!(renewed.claims.lexp, record.claims.lexp);
    let token = renewed.token.expect("a fresh token");
    assert_eq!(
        run(svc.get("lic-1")).expect("record").token,
        token,
        "record follows"
    );
    assert!(run(svc.check(INSTANCE, later)).expect("check"));

    run(svc.remove(INSTANCE)).expect("remove");
    assert!(!run(svc.check(INSTANCE, later)).expect("check"));
    run(svc.remove(INSTANCE)).expect("removing again is fine");
}

#[test]
fn apply_refuses_invalid_tokens_and_stores_nothing() {
    let f = Fixture::new();
    let record = f.issue("lic-1");
    let before = f.store.snapshot();
    let other_instance = "https://other.example/";
    let stranger = SigningKey::from_seed(&[7; 32]);
    let foreign = sign(&record.claims, &stranger).expect("sign");
    let seed_example = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0aGlzIjoiaXMiLCJub3QiOiJhIiwidmFsaWQiOiJsaWNlbnNlIn0.bxDzxIoJlYMwiEYKYT_l2s42z0Y30tY-6KKoyz9RuLE";
    let cases = [
        (
            INSTANCE,
            seed_example.to_string(),
            NOW,
            DenyCode::WrongAlgorithm,
        ),
        (INSTANCE, "garbage".to_string(), NOW, DenyCode::Malformed),
        (
            INSTANCE,
            "A".repeat(MAX_TOKEN_BYTES + 1),
            NOW,
            DenyCode::Malformed,
        ),
        (INSTANCE, foreign, NOW, DenyCode::UnknownKey),
        (
            other_instance,
            record.token.clone(),
            NOW,
            DenyCode::WrongInstance,
        ),
        (
            INSTANCE,
            record.token.clone(),
            record.claims.exp,
            DenyCode::Expired,
        ),
    ];
    for (instance, token, now, code) in cases {
        let result = run(f.svc().apply(instance, &token, "admin", now));
        assert_eq!(result.err(), Some(Error::Refused(code)));
    }
    assert_eq!(f.store.snapshot(), before, "nothing stored");
}

#[test]
fn revocation_stops_check_apply_and_renew() {
    let f = Fixture::new();
    let svc = f.svc();
    let record = f.issue("lic-1");
    run(svc.apply(INSTANCE, &record.token, "admin", NOW)).expect("apply");
    let revoked = run(svc.revoke("lic-1", "boss", NOW + 1)).expect("revoke");
    assert_eq!(revoked.state, LicenseState::Revoked);
    assert_eq!(revoked.revoked_by.as_deref(), Some("boss"));
    assert_eq!(
        run(svc.revoke("lic-1", "other", NOW + 2)).expect("again"),
        revoked,
        "idempotent"
    );

    assert!(!run(svc.check(INSTANCE, NOW + 3)).expect("check"));
    let view = run(svc.applied(INSTANCE, NOW + 3))
        .expect("view")
        .expect("applied");
    assert_eq!((view.valid, view.code), (false, Some(DenyCode::Revoked)));
    assert_eq!(view.claims.map(|c| c.lid), Some("lic-1".to_string()));
    assert_eq!(
        run(svc.apply(INSTANCE, &record.token, "admin", NOW + 3)).err(),
        Some(Error::Refused(DenyCode::Revoked))
    );
    assert_eq!(
        run(svc.renew(INSTANCE, "t2".into(), "admin", NOW + 3)).err(),
        Some(Error::Refused(DenyCode::Revoked))
    );
    assert_eq!(
        run(svc.revoke("nope", "boss", NOW)).err(),
        Some(Error::NotFound("license"))
    );
}

#[test]
fn renew_works_on_an_expired_token_but_not_an_expired_license() {
    let f = Fixture::new();
    let svc = f.svc();
    let record = f.issue("lic-1");
    run(svc.apply(INSTANCE, &record.token, "admin", NOW)).expect("apply");
    let after_token = record.claims.exp + DAY;
    assert!(
        !run(svc.check(INSTANCE, after_token)).expect("check"),
        "token expired"
    );
    run(svc.renew(INSTANCE, "t2".into(), "admin", after_token)).expect("renewable");
    assert!(run(svc.check(INSTANCE, after_token)).expect("check"));

    let after_license = record.claims.lexp;
    assert_eq!(
        run(svc.renew(INSTANCE, "t3".into(), "admin", after_license)).err(),
        Some(Error::Refused(DenyCode::LicenseExpired))
    );
    assert_eq!(
        run(svc.renew(
            "https://nothing-applied.example/",
            "t4".into(),
            "admin",
            NOW
        ))
        .err(),
        Some(Error::NotFound("applied license"))
    );
}

#[test]
fn applied_view_reports_warnings() {
    let f = Fixture::new();
    let svc = f.svc();
    let record = f.issue("lic-1");
    run(svc.apply(INSTANCE, &record.token, "admin", NOW)).expect("apply");
    let view = run(svc.applied(INSTANCE, NOW + DAY))
        .expect("view")
        .expect("applied");
    assert!(view.valid);
    assert_eq!(view.warnings, vec![Warning::RenewalDue { at: NOW + DAY }]);
    assert_eq!(
        run(svc.applied("https://none.example/", NOW)).expect("view"),
        None
    );
}

#[test]
fn status_response_has_the_seed_fields_at_the_top_level() {
    let f = Fixture::new();
    let record = f.issue("lic-1");
    let status = run(f.svc().apply(INSTANCE, &record.token, "admin", NOW)).expect("apply");
    let json = serde_json::to_value(&status).expect("json");
    for field in [
        "status",
        "jti",
        "iss",
        "sub",
        "lid",
        "prod",
        "anonymousRatio",
        "included_users",
    ] {
        assert!(json.get(field).is_some(), "{field}");
    }
    assert!(json.get("token").is_none(), "apply does not echo the token");
}

#[test]
fn every_signature_is_noted_first_and_a_failed_note_signs_nothing() {
    let f = Fixture::new();
    let svc = f.svc();
    let record = f.issue("lic-1");
    let kid = f.signer.kid().to_string();
    assert_eq!(
        *f.key_uses.notes.borrow(),
        [(kid.clone(), record.claims.exp)]
    );
    run(svc.apply(INSTANCE, &record.token, "admin", NOW)).expect("apply");

    // The log is unreachable: neither an issue nor a renewal signs, and nothing is stored.
    f.key_uses.failing.set(true);
    let refused = run(svc.issue(request(), "lic-2".into(), "t".into(), "admin", NOW));
    assert!(matches!(refused, Err(Error::Store(_))), "{refused:?}");
    assert_eq!(
        run(svc.read::<LicenseRecord>(&license_key("lic-2"))),
        Ok(None)
    );
    assert!(f.live.terms("lic-2").is_none(), "no live state either");
    let refused = run(svc.renew(INSTANCE, "t2".into(), "admin", NOW + 1));
    assert!(matches!(refused, Err(Error::Store(_))), "{refused:?}");
    let applied = run(svc.read::<AppliedLicense>(&applied_key(INSTANCE))).expect("read");
    assert_eq!(
        applied.map(|a| a.token),
        Some(record.token.clone()),
        "the old token stays"
    );

    f.key_uses.failing.set(false);
    let renewed = run(svc.renew(INSTANCE, "t3".into(), "admin", NOW + 2)).expect("renewed");
    assert_eq!(
        f.key_uses.notes.borrow().last(),
        Some(&(kid, renewed.claims.exp))
    );
}

#[test]
fn reissue_signs_a_fresh_token_for_a_live_license_only() {
    let f = Fixture::new();
    let svc = f.svc();
    let record = f.issue("lic-1");
    let fresh = run(svc.reissue("lic-1", "t2".into(), NOW + 10)).expect("reissued");
    assert_ne!(fresh.token, record.token);
    assert_eq!(fresh.claims.jti, "t2");
    assert_eq!(fresh.claims.iat, NOW + 10);
    assert_eq!(
        fresh.claims.lexp, record.claims.lexp,
        "a token, never a longer license"
    );
    assert_eq!(
        run(svc.get("lic-1")).expect("get").token,
        fresh.token,
        "stored"
    );
    run(svc.revoke("lic-1", "boss", NOW + 20)).expect("revoke");
    assert_eq!(
        run(svc.reissue("lic-1", "t3".into(), NOW + 30)).err(),
        Some(Error::Refused(DenyCode::Revoked))
    );
    assert_eq!(
        run(svc.reissue("nope", "t4".into(), NOW)).err(),
        Some(Error::NotFound("license"))
    );
}
