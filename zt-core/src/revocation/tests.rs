use std::time::{Duration, UNIX_EPOCH};

use super::entries::Entries;
use super::*;

#[test]
fn every_fingerprint_picks_a_shard_in_range() {
    for (capacity, shards) in [
        (0, 1),
        (16, 1),
        (1_024, 4),
        (100_000, 256),
        (usize::MAX, 256),
    ] {
        let list = RevocationList::with_capacity(capacity);
        assert_eq!(list.runtime.len(), shards, "capacity {capacity}");
        for fingerprint in [0, 1, u64::MAX, 1 << 63, 0x0fff_ffff_ffff_ffff] {
            assert!(list.shard_of(fingerprint) < shards);
        }
        assert_eq!(list.shard_of(u64::MAX), shards - 1);
    }
}

#[test]
fn full_shard_refuses_without_expired_entries_and_makes_room_with_them() {
    let now = UNIX_EPOCH + Duration::from_secs(100);
    let list = RevocationList::with_capacity(2);
    let revoke = |name: &str, until| {
        let revocation = Revocation::new(RevocationTarget::subject("iss", name), "x").until(until);
        list.revoke(revocation, now)
    };
    revoke("a", now + Duration::from_secs(1)).unwrap();
    revoke("b", now).unwrap(); // already expired
    revoke("c", now + Duration::from_secs(1)).unwrap();
    assert!(matches!(
        revoke("d", now),
        Err(RevocationError::Full { capacity: 2 })
    ));
    assert_eq!(list.runtime_len(), 2);
}

#[test]
fn targets_sharing_a_fingerprint_are_told_apart() {
    let alice = RevocationTarget::subject("iss", "alice");
    let bob = RevocationTarget::subject("iss", "bob");
    let mut entries = Entries::default();
    entries.insert(7, Revocation::new(alice.clone(), "a"));
    entries.insert(7, Revocation::new(bob.clone(), "b"));
    assert_eq!(entries.len(), 2);
    assert_eq!(&*entries.get(7, bob.as_ref()).unwrap().reason, "b");

    assert!(entries.remove(7, alice.as_ref()).is_some());
    assert!(entries.get(7, alice.as_ref()).is_none());
    assert!(entries.get(7, bob.as_ref()).is_some());
    assert_eq!(entries.len(), 1);
}

#[test]
fn retain_active_drops_only_expired_entries() {
    let now = UNIX_EPOCH + Duration::from_secs(100);
    let mut entries = Entries::default();
    let gone = RevocationTarget::subject("iss", "gone");
    let kept = RevocationTarget::subject("iss", "kept");
    entries.insert(1, Revocation::new(gone, "x").until(now));
    entries.insert(2, Revocation::new(kept.clone(), "x"));
    assert_eq!(entries.retain_active(now), 1);
    assert_eq!(entries.len(), 1);
    assert!(entries.get(2, kept.as_ref()).is_some());
}
