//! The keyring: lifecycle, sealing, retirement. `NOW` is fixed.

use std::vec;
use std::vec::Vec;

use super::*;
use crate::claims::DAY;

const NOW: u64 = 1_800_000_000;
/// How far ahead of signing a key is published in these tests.
const PUBLISH: u64 = 330;

fn root() -> SigningKey {
    SigningKey::from_seed(&[1; 32]).with_kid("root")
}

fn seed(i: u8) -> [u8; 32] {
    [i.wrapping_add(2); 32]
}

fn sealer() -> DeploymentSecret {
    DeploymentSecret::from_bytes([5; 32])
}

/// A keyring opened from `root` and `entries` under [`sealer`], nothing retired.
fn open(root: SigningKey, entries: Vec<RotatedKey>, uses: &[KeyUse]) -> Keyring {
    let opened = Keyring::open(root, &[], &sealer(), entries, uses, &mut || Some([9; 12]));
    assert!(
        opened.ring.unopened().is_empty(),
        "{:?}",
        opened.ring.unopened()
    );
    opened.ring
}

fn kids(ring: &Keyring) -> Vec<String> {
    ring.key_set()
        .expect("set")
        .kids()
        .map(String::from)
        .collect()
}

#[test]
fn a_rotated_key_is_published_at_once_and_signs_from_its_time() {
    let mut ring = open(root(), Vec::new(), &[]);
    let entry = ring
        .rotate(&sealer(), &seed(0), &[7; 12], NOW, NOW + PUBLISH)
        .expect("rotate");
    assert_eq!(
        kids(&ring),
        ["root".to_string(), entry.kid.clone()],
        "in the JWKS now"
    );
    assert_eq!(
        ring.active(NOW + PUBLISH - 1).expect("a signer").kid(),
        "root",
        "not signing yet"
    );
    assert_eq!(
        ring.active(NOW + PUBLISH).expect("a signer").kid(),
        entry.kid
    );
    assert!(
        !entry.sealed.contains(&B64.encode(seed(0))),
        "the seed is sealed"
    );

    // Reopened from storage, the same key signs at the same time.
    let reopened = open(root(), vec![entry.clone()], &[]);
    assert_eq!(
        reopened
            .active(NOW + PUBLISH)
            .expect("a signer")
            .public_bytes(),
        SigningKey::from_seed(&seed(0)).public_bytes()
    );
    let infos = reopened.describe(NOW);
    assert_eq!(
        infos
            .iter()
            .filter(|k| k.active)
            .map(|k| k.kid.as_str())
            .collect::<Vec<_>>(),
        ["root"]
    );
    assert_eq!(infos[1].activates_at, NOW + PUBLISH);
}

#[test]
fn the_newest_activated_key_signs_whatever_the_stored_order() {
    let mut ring = open(root(), Vec::new(), &[]);
    let a = ring
        .rotate(&sealer(), &seed(0), &[1; 12], NOW, NOW)
        .expect("a");
    let b = ring
        .rotate(&sealer(), &seed(1), &[2; 12], NOW + 10, NOW + 10)
        .expect("b");
    let ring = open(root(), vec![b.clone(), a.clone()], &[]);
    assert_eq!(ring.active(NOW + 10).expect("a signer").kid(), b.kid);
    assert_eq!(ring.active(NOW + 9).expect("a signer").kid(), a.kid);
}

#[test]
fn a_key_retires_once_no_token_it_signed_can_be_valid() {
    let mut ring = open(root(), Vec::new(), &[]);
    let a = ring
        .rotate(&sealer(), &seed(0), &[1; 12], NOW, NOW)
        .expect("a");
    let b = ring
        .rotate(&sealer(), &seed(1), &[2; 12], NOW + DAY, NOW + DAY)
        .expect("b");
    let license_exp = NOW + 40 * DAY;
    let uses = [KeyUse {
        kid: a.kid.clone(),
        last_exp: license_exp,
    }];
    let ring = open(root(), vec![a.clone(), b.clone()], &uses);
    assert!(ring.retirable(NOW + DAY - 1).is_empty(), "a still signs");
    assert!(
        ring.retirable(license_exp).is_empty(),
        "a license a signed is valid until then"
    );
    assert_eq!(
        ring.retirable(license_exp + 1),
        core::slice::from_ref(&a.kid)
    );
    assert!(
        !ring.retirable(license_exp + 1).contains(&b.kid),
        "the signer never retires"
    );
    // A key that signed no license still waits out the leases it may have signed.
    let quiet = open(root(), vec![a.clone(), b], &[]);
    let leases = NOW + DAY + u64::from(MAX_LEASE_SECONDS);
    assert!(quiet.retirable(leases).is_empty());
    assert_eq!(quiet.retirable(leases + 1), [a.kid]);
}

#[test]
fn a_hundred_rotations_never_brick_the_key_set() {
    let mut entries: Vec<RotatedKey> = Vec::new();
    let mut now = NOW;
    for i in 0..100u8 {
        let mut ring = open(root(), entries.clone(), &[]);
        match ring.rotate(&sealer(), &seed(i), &[i; 12], now, now + PUBLISH) {
            Ok(entry) => entries.push(entry),
            Err(Error::Conflict(_)) => {
                // Full: some keys must retire before another is made. Time passes.
                now += 8 * DAY;
                let retired = ring.retirable(now);
                assert!(!retired.is_empty(), "old keys retire with time");
                entries.retain(|e| !retired.contains(&e.kid));
                continue;
            }
            Err(other) => panic!("{other:?}"),
        }
        let ring = open(root(), entries.clone(), &[]);
        assert!(ring.key_set().is_ok(), "the JWKS always builds");
        assert!(entries.len() <= MAX_LIVE_KEYS);
        now += 60;
    }
    // Without retirement the 33rd rotation is refused, and the set still builds.
    let mut full = open(root(), Vec::new(), &[]);
    for i in 0..MAX_LIVE_KEYS as u8 {
        full.rotate(&sealer(), &seed(i), &[i; 12], NOW, NOW)
            .expect("room");
    }
    assert!(matches!(
        full.rotate(&sealer(), &seed(200), &[0; 12], NOW, NOW),
        Err(Error::Conflict(_))
    ));
    assert_eq!(
        full.key_set().expect("builds").kids().count(),
        MAX_LIVE_KEYS + 1
    );
}

#[test]
fn rotating_to_an_existing_key_is_refused() {
    let mut ring = open(SigningKey::from_seed(&[1; 32]), Vec::new(), &[]);
    assert!(matches!(
        ring.rotate(&sealer(), &[1; 32], &[0; 12], NOW, NOW),
        Err(Error::DuplicateKid(_))
    ));
}

#[test]
fn a_changed_or_foreign_entry_is_skipped_and_listed_never_fatal() {
    let mut ring = open(root(), Vec::new(), &[]);
    let entry = ring
        .rotate(&sealer(), &seed(0), &[3; 12], NOW, NOW)
        .expect("rotate");
    let good = ring
        .rotate(&sealer(), &seed(1), &[4; 12], NOW, NOW)
        .expect("rotate");
    let skipped = |entries: Vec<RotatedKey>, sealer: &DeploymentSecret| {
        let opened = Keyring::open(root(), &[], sealer, entries, &[], &mut || None);
        (opened.ring.unopened().to_vec(), kids(&opened.ring))
    };
    // Another deployment secret: neither opens; the root still signs.
    let other = DeploymentSecret::from_bytes([6; 32]);
    let (unopened, published) = skipped(vec![entry.clone(), good.clone()], &other);
    assert_eq!(unopened, [entry.kid.clone(), good.kid.clone()]);
    assert_eq!(published, ["root"]);
    // Bound to its dates: moving its activation does not open; the other key does.
    let moved = RotatedKey {
        activates_at: Some(NOW + 1),
        ..entry.clone()
    };
    let (unopened, published) = skipped(vec![moved, good.clone()], &sealer());
    assert_eq!(unopened, *core::slice::from_ref(&entry.kid));
    assert_eq!(published, ["root".to_string(), good.kid.clone()]);
    let mut flipped = B64.decode(&entry.sealed).expect("b64");
    flipped[20] ^= 1;
    for broken in [
        RotatedKey {
            sealed: B64.encode(flipped),
            ..entry.clone()
        },
        RotatedKey {
            sealed: B64.encode([0u8; 32]),
            ..entry.clone()
        },
        RotatedKey {
            version: 9,
            ..entry.clone()
        },
    ] {
        assert_eq!(
            skipped(vec![broken], &sealer()).0,
            *core::slice::from_ref(&entry.kid)
        );
    }
    // Replacing the root secret loses no rotated key: they are sealed apart from it.
    let new_root = SigningKey::from_seed(&[42; 32]);
    let opened = Keyring::open(
        new_root,
        &[],
        &sealer(),
        vec![entry, good],
        &[],
        &mut || None,
    );
    assert!(opened.ring.unopened().is_empty());
    assert!(opened.resealed.is_empty());
}

/// An entry sealed as version 1 (the seed XORed with an HMAC pad of the root).
fn version_1(root: &SigningKey, seed: [u8; 32]) -> RotatedKey {
    let key = SigningKey::from_seed(&seed);
    let mut mac = <hmac::Hmac<sha2::Sha256> as hmac::Mac>::new_from_slice(&root.seed_bytes()[..])
        .expect("mac");
    hmac::Mac::update(&mut mac, b"tessera keyring v1\0");
    hmac::Mac::update(&mut mac, key.kid().as_bytes());
    let pad: [u8; 32] = hmac::Mac::finalize(mac).into_bytes().into();
    let sealed: Vec<u8> = seed.iter().zip(pad).map(|(s, p)| s ^ p).collect();
    let json = serde_json::json!({
        "kid": key.kid(), "x": B64.encode(key.public_bytes()), "sealed": B64.encode(sealed), "created_at": NOW
    });
    serde_json::from_value(json).expect("a version-1 record")
}

#[test]
fn a_version_1_entry_opens_once_and_comes_back_sealed_anew() {
    let entry = version_1(&root(), seed(5));
    assert_eq!(entry.version, 1);
    let opened = Keyring::open(
        root(),
        &[],
        &sealer(),
        vec![entry.clone()],
        &[],
        &mut || Some([8; 12]),
    );
    assert_eq!(
        opened.ring.active(NOW).expect("a signer").kid(),
        entry.kid,
        "a version-1 key signed from its creation"
    );
    let [fresh] = opened.resealed.as_slice() else {
        panic!("one entry sealed anew: {:?}", opened.resealed);
    };
    assert_eq!((fresh.version, fresh.activates_at), (3, Some(NOW)));
    assert_eq!(fresh.kid, entry.kid);
    // Sealed anew, it no longer depends on the root: it opens under another one.
    let other_root = SigningKey::from_seed(&[42; 32]);
    let reopened = Keyring::open(
        other_root.clone(),
        &[],
        &sealer(),
        vec![fresh.clone()],
        &[],
        &mut || None,
    );
    assert!(reopened.ring.unopened().is_empty());
    assert!(reopened.resealed.is_empty(), "version 3 stays as it is");
    // The version-1 entry itself needs its root: under another it is skipped.
    let stale = Keyring::open(
        other_root,
        &[],
        &sealer(),
        vec![entry.clone()],
        &[],
        &mut || None,
    );
    assert_eq!(stale.ring.unopened(), core::slice::from_ref(&entry.kid));
    // No nonce to seal with: it still opens, and is sealed anew next time.
    let later = Keyring::open(root(), &[], &sealer(), vec![entry], &[], &mut || None);
    assert!(later.resealed.is_empty() && later.ring.unopened().is_empty());
}

#[test]
fn any_key_but_the_signer_retires_at_once_the_root_included() {
    let mut ring = open(root(), Vec::new(), &[]);
    assert!(
        matches!(ring.retire("root", NOW), Err(Error::Conflict(_))),
        "the root signs"
    );
    let next = ring
        .rotate(&sealer(), &seed(0), &[1; 12], NOW, NOW)
        .expect("rotate, activating now");
    assert_eq!(ring.retire("root", NOW), Ok(Retired::Root));
    assert_eq!(
        kids(&ring),
        *core::slice::from_ref(&next.kid),
        "gone from the JWKS"
    );
    assert_eq!(ring.active(NOW).expect("a signer").kid(), next.kid);
    assert!(ring.describe(NOW).iter().all(|k| k.kid != "root"));
    assert!(
        matches!(ring.retire(&next.kid, NOW), Err(Error::Conflict(_))),
        "the signer"
    );
    assert_eq!(ring.retire("nope", NOW), Err(Error::NotFound("key")));

    // Reopened with the root named retired: not published, never signing — even when
    // the only rotated key is lost (another deployment secret), nothing falls back to it.
    let retired = ["root".to_string()];
    let opened = Keyring::open(
        root(),
        &retired,
        &sealer(),
        vec![next.clone()],
        &[],
        &mut || None,
    );
    assert_eq!(kids(&opened.ring), *core::slice::from_ref(&next.kid));
    let lost = Keyring::open(
        root(),
        &retired,
        &DeploymentSecret::from_bytes([6; 32]),
        vec![next.clone()],
        &[],
        &mut || None,
    );
    assert!(matches!(lost.ring.active(NOW), Err(Error::Config(_))));
    assert!(kids(&lost.ring).is_empty());
    // A pending (published, not yet signing) rotated key retires too.
    let mut ring = opened.ring;
    let pending = ring
        .rotate(&sealer(), &seed(1), &[2; 12], NOW, NOW + PUBLISH)
        .expect("rotate");
    assert_eq!(ring.retire(&pending.kid, NOW), Ok(Retired::Rotated));
    assert_eq!(kids(&ring), [next.kid]);
}

/// A signer held elsewhere (as the worker's Web Crypto keys are): only its id and
/// public key, and a marker that it was swapped in.
#[derive(Debug, Clone)]
struct Held {
    kid: String,
    public: [u8; 32],
}

impl Sign for Held {
    fn kid(&self) -> &str {
        &self.kid
    }
    fn public_bytes(&self) -> [u8; 32] {
        self.public
    }
    async fn signature(&self, _input: &[u8]) -> Result<String, Error> {
        Err(Error::Signing("held elsewhere".into()))
    }
}

#[test]
fn keys_swapped_for_signers_held_elsewhere_keep_the_same_lifecycle() {
    let mut ring = open(root(), Vec::new(), &[]);
    let first = ring
        .rotate(&sealer(), &seed(0), &[7; 12], NOW, NOW)
        .expect("rotate");
    let pending = ring
        .rotate(&sealer(), &seed(1), &[8; 12], NOW, NOW + PUBLISH)
        .expect("rotate");
    let seen: Vec<String> = ring.keys().map(|k| k.kid().to_string()).collect();
    assert_eq!(
        seen,
        ["root".to_string(), first.kid.clone(), pending.kid.clone()]
    );
    let before = (ring.describe(NOW), kids(&ring));
    let mut held = ring
        .clone()
        .map_keys(|k| {
            Ok::<_, Error>(Held {
                kid: k.kid().to_string(),
                public: k.public_bytes(),
            })
        })
        .expect("every key swapped");
    assert_eq!(held.describe(NOW), before.0);
    let held_kids: Vec<String> = held
        .key_set()
        .expect("set")
        .kids()
        .map(String::from)
        .collect();
    assert_eq!(held_kids, before.1);
    assert_eq!(held.active(NOW).expect("signer").kid(), first.kid);
    assert_eq!(
        held.active(NOW + PUBLISH).expect("signer").kid(),
        pending.kid
    );
    assert_eq!(held.retire("root", NOW), Ok(Retired::Root));
    assert!(
        held.retire(&first.kid, NOW).is_err(),
        "the signer never retires"
    );
    // A swap that fails for one key fails as a whole.
    let failed = ring.map_keys(|k| {
        if k.kid() == pending.kid {
            Err("no import")
        } else {
            Ok(())
        }
    });
    assert_eq!(failed.err(), Some("no import"));
}
