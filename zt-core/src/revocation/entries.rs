//! One snapshot of revocation entries, indexed by kind so that a request is looked up
//! without allocating.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use super::target::{Revocation, RevocationTarget, TargetRef};
use crate::{CertThumbprint, Principal, SpiffeId};

/// Issuer -> value -> entry; keyed by `Arc<str>` so that `&str` looks up.
type ByIssuer = HashMap<Arc<str>, HashMap<Arc<str>, Revocation>>;

#[derive(Debug, Clone, Default)]
pub(super) struct Entries {
    spiffe_ids: HashMap<SpiffeId, Revocation>,
    thumbprints: HashMap<CertThumbprint, Revocation>,
    token_ids: ByIssuer,
    subjects: ByIssuer,
    len: usize,
}

impl Entries {
    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds `revocation`, returning the entry it replaced.
    pub(super) fn insert(&mut self, revocation: Revocation) -> Option<Revocation> {
        let replaced = match revocation.target.clone() {
            RevocationTarget::SpiffeId(id) => self.spiffe_ids.insert(id, revocation),
            RevocationTarget::Thumbprint(t) => self.thumbprints.insert(t, revocation),
            RevocationTarget::TokenId { issuer, token_id } => self
                .token_ids
                .entry(issuer)
                .or_default()
                .insert(token_id, revocation),
            RevocationTarget::Subject { issuer, subject } => self
                .subjects
                .entry(issuer)
                .or_default()
                .insert(subject, revocation),
        };
        if replaced.is_none() {
            self.len += 1;
        }
        replaced
    }

    pub(super) fn remove(&mut self, target: &RevocationTarget) -> Option<Revocation> {
        let removed = match target.as_ref() {
            TargetRef::SpiffeId(id) => self.spiffe_ids.remove(id),
            TargetRef::Thumbprint(t) => self.thumbprints.remove(t),
            TargetRef::TokenId(issuer, id) => remove_nested(&mut self.token_ids, issuer, id),
            TargetRef::Subject(issuer, sub) => remove_nested(&mut self.subjects, issuer, sub),
        };
        if removed.is_some() {
            self.len -= 1;
        }
        removed
    }

    pub(super) fn get(&self, target: TargetRef<'_>) -> Option<&Revocation> {
        match target {
            TargetRef::SpiffeId(id) => self.spiffe_ids.get(id),
            TargetRef::Thumbprint(t) => self.thumbprints.get(t),
            TargetRef::TokenId(issuer, id) => self.token_ids.get(issuer)?.get(id),
            TargetRef::Subject(issuer, sub) => self.subjects.get(issuer)?.get(sub),
        }
    }

    /// The first entry active at `now` among `keys`.
    pub(super) fn find(&self, keys: &LookupKeys<'_>, now: SystemTime) -> Option<&Revocation> {
        keys.iter()
            .flatten()
            .filter_map(|key| self.get(*key))
            .find(|r| r.is_active(now))
    }

    /// Keeps only entries active at `now`, returning how many were dropped.
    pub(super) fn retain_active(&mut self, now: SystemTime) -> usize {
        let before = self.len;
        self.spiffe_ids.retain(|_, r| r.is_active(now));
        self.thumbprints.retain(|_, r| r.is_active(now));
        retain_nested(&mut self.token_ids, now);
        retain_nested(&mut self.subjects, now);
        self.len = self.spiffe_ids.len()
            + self.thumbprints.len()
            + nested_len(&self.token_ids)
            + nested_len(&self.subjects);
        before - self.len
    }
}

fn remove_nested(map: &mut ByIssuer, issuer: &str, value: &str) -> Option<Revocation> {
    let inner = map.get_mut(issuer)?;
    let removed = inner.remove(value);
    if inner.is_empty() {
        map.remove(issuer);
    }
    removed
}

fn retain_nested(map: &mut ByIssuer, now: SystemTime) {
    map.retain(|_, inner| {
        inner.retain(|_, r| r.is_active(now));
        !inner.is_empty()
    });
}

fn nested_len(map: &ByIssuer) -> usize {
    map.values().map(HashMap::len).sum()
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

/// The keys under which a principal can be revoked, most specific first.
pub(super) type LookupKeys<'a> = [Option<TargetRef<'a>>; 5];

/// Every key under which `principal` can be revoked, most specific first.
pub(super) fn lookup_keys<'a>(
    principal: &'a Principal,
    svid_subject: Option<&'a SpiffeId>,
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
    [thumbprint, peer_id, token_id, sub, svid]
}
