//! One snapshot of revocation entries, indexed by a keyed 64-bit fingerprint of the target so
//! that a request is looked up with one SipHash per key and without allocating.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::SystemTime;

use super::target::{KindCounts, Revocation, TargetRef};
use crate::{Principal, SpiffeId};

/// Fingerprints targets with a per-list random key, so collisions cannot be aimed at. Entries
/// with the same fingerprint are kept side by side and told apart by their full target.
#[derive(Debug, Default)]
pub(super) struct Fingerprinter(RandomState);

impl Fingerprinter {
    pub(super) fn of(&self, target: TargetRef<'_>) -> u64 {
        self.0.hash_one(target)
    }
}

/// Cloned on every run-time write, so an entry is a flat value (a clone costs reference-count
/// increments, no allocation). Two targets with the same fingerprint are practically never
/// seen (64-bit keyed hash); the second one goes to `collisions`.
#[derive(Debug, Clone, Default)]
pub(super) struct Entries {
    by_fingerprint: HashMap<u64, Revocation, Remix>,
    collisions: Vec<(u64, Revocation)>,
    kinds: KindCounts,
}

impl Entries {
    /// Entries from `revocations`; a later entry for the same target replaces an earlier one.
    pub(super) fn build(revocations: Vec<Revocation>, fingerprints: &Fingerprinter) -> Self {
        let mut entries = Self::default();
        for revocation in revocations {
            let fingerprint = fingerprints.of(revocation.target.as_ref());
            entries.insert(fingerprint, revocation);
        }
        entries
    }

    pub(super) fn len(&self) -> usize {
        self.by_fingerprint.len() + self.collisions.len()
    }

    /// Entries per kind, so that a lookup can skip kinds nobody revoked.
    pub(super) fn kinds(&self) -> KindCounts {
        self.kinds
    }

    /// Adds `revocation`, returning the entry it replaced.
    pub(super) fn insert(
        &mut self,
        fingerprint: u64,
        revocation: Revocation,
    ) -> Option<Revocation> {
        let kind = revocation.target.kind_index();
        let Some(first) = self.by_fingerprint.get_mut(&fingerprint) else {
            self.by_fingerprint.insert(fingerprint, revocation);
            self.kinds[kind] += 1;
            return None;
        };
        if first.target == revocation.target {
            return Some(std::mem::replace(first, revocation));
        }
        let same =
            |(f, r): &&mut (u64, Revocation)| *f == fingerprint && r.target == revocation.target;
        if let Some((_, old)) = self.collisions.iter_mut().find(same) {
            return Some(std::mem::replace(old, revocation));
        }
        self.collisions.push((fingerprint, revocation));
        self.kinds[kind] += 1;
        None
    }

    pub(super) fn remove(&mut self, fingerprint: u64, target: TargetRef<'_>) -> Option<Revocation> {
        let is_target = |f: u64, r: &Revocation| f == fingerprint && r.target.as_ref() == target;
        if let Some(at) = self.collisions.iter().position(|(f, r)| is_target(*f, r)) {
            self.kinds[target.kind_index()] -= 1;
            return Some(self.collisions.swap_remove(at).1);
        }
        let first = self.by_fingerprint.get(&fingerprint)?;
        if first.target.as_ref() != target {
            return None;
        }
        let removed = self.by_fingerprint.remove(&fingerprint)?;
        self.kinds[target.kind_index()] -= 1;
        // Promote a colliding entry so that lookups keep finding it.
        if let Some(at) = self.collisions.iter().position(|(f, _)| *f == fingerprint) {
            let (_, promoted) = self.collisions.swap_remove(at);
            self.by_fingerprint.insert(fingerprint, promoted);
        }
        Some(removed)
    }

    pub(super) fn get(&self, fingerprint: u64, target: TargetRef<'_>) -> Option<&Revocation> {
        let first = self.by_fingerprint.get(&fingerprint)?;
        if first.target.as_ref() == target {
            return Some(first);
        }
        self.collisions
            .iter()
            .find(|(f, r)| *f == fingerprint && r.target.as_ref() == target)
            .map(|(_, r)| r)
    }

    /// The first entry active at `now` among `keys`.
    pub(super) fn find(&self, keys: &LookupKeys<'_>, now: SystemTime) -> Option<&Revocation> {
        keys.iter()
            .flatten()
            .filter_map(|(key, fingerprint)| self.get(*fingerprint, *key))
            .find(|r| r.is_active(now))
    }

    /// Whether any entry expired by `now`, without copying anything.
    pub(super) fn has_expired(&self, now: SystemTime) -> bool {
        let expired = |r: &Revocation| !r.is_active(now);
        self.by_fingerprint.values().any(expired) || self.collisions.iter().any(|(_, r)| expired(r))
    }

    /// Keeps only entries active at `now`, returning how many were dropped.
    pub(super) fn retain_active(&mut self, now: SystemTime) -> usize {
        let before = self.len();
        self.collisions.retain(|(_, r)| r.is_active(now));
        self.by_fingerprint.retain(|_, r| r.is_active(now));
        self.kinds = KindCounts::default();
        for revocation in self.by_fingerprint.values() {
            self.kinds[revocation.target.kind_index()] += 1;
        }
        // Promote collisions whose main slot was freed; `insert` counts them.
        for (fingerprint, revocation) in std::mem::take(&mut self.collisions) {
            self.insert(fingerprint, revocation);
        }
        before - self.len()
    }
}

/// The fingerprint is already a keyed hash: the map only spreads its bits (Fibonacci
/// hashing) instead of hashing it again.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Remix;

impl BuildHasher for Remix {
    type Hasher = RemixHasher;

    fn build_hasher(&self) -> RemixHasher {
        RemixHasher(0)
    }
}

#[derive(Debug)]
pub(crate) struct RemixHasher(u64);

impl Hasher for RemixHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Only `u64` keys are hashed; this keeps the hasher correct for anything else.
        for byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*byte);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    fn finish(&self) -> u64 {
        self.0.wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }
}

/// The subject of a JWT-SVID parsed as a SPIFFE ID, so that revoking a workload also
/// refuses its JWT-SVIDs. `None` for ordinary subjects.
pub(super) fn svid_subject(principal: &Principal) -> Option<SpiffeId> {
    let subject = principal.subject.as_deref()?;
    if !subject.subject.starts_with("spiffe://") {
        return None;
    }
    subject.subject.parse().ok()
}

/// The keys under which a principal can be revoked, most specific first, with their
/// fingerprints.
pub(super) type LookupKeys<'a> = [Option<(TargetRef<'a>, u64)>; 5];

/// Every key under which `principal` can be revoked, most specific first, skipping kinds
/// that `present` (entry counts per kind) says nobody revoked.
pub(super) fn lookup_keys<'a>(
    principal: &'a Principal,
    svid_subject: Option<&'a SpiffeId>,
    fingerprints: &Fingerprinter,
    present: KindCounts,
) -> LookupKeys<'a> {
    let peer = principal.peer.as_deref();
    let subject = principal.subject.as_deref();
    let thumbprint = peer.map(|p| TargetRef::Thumbprint(&p.thumbprint));
    let peer_id = peer.map(|p| TargetRef::SpiffeId(&p.spiffe_id));
    let token_id = subject.and_then(|s| {
        let id = s.token_id.as_deref()?;
        Some(TargetRef::TokenId(&s.issuer, id))
    });
    let sub = subject.map(|s| TargetRef::Subject(&s.issuer, &s.subject));
    let svid = svid_subject.map(TargetRef::SpiffeId);
    [thumbprint, peer_id, token_id, sub, svid].map(|key| {
        let key = key.filter(|k| present[k.kind_index()] > 0)?;
        Some((key, fingerprints.of(key)))
    })
}
