//! Time-bound grants for just-in-time elevation: extra roles for one principal until an
//! expiry, with a reason and an approver.
//!
//! A [`GrantStore`] is shared between the code that approves grants and the
//! [`RulePolicy`](crate::RulePolicy) that reads them: hand a clone of the store to
//! [`RulePolicy::with_grants`](crate::RulePolicy::with_grants). Grants live only at run time,
//! never in the policy file, so an approval never needs a policy reload. Reads on the request
//! path take a lock-free snapshot; adding or removing a grant publishes a new snapshot.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use zt_core::{Grant, GrantStore, Grantee};
//!
//! let store = GrantStore::new();
//! let now = UNIX_EPOCH + Duration::from_secs(1_000);
//! store.insert(Grant {
//!     id: "chg-42".into(),
//!     grantee: Grantee::subject("https://idp.example.org", "alice"),
//!     roles: vec!["orders.admin".to_owned()],
//!     expires_at: now + Duration::from_secs(900),
//!     reason: "incident 42".into(),
//!     approver: "bob".into(),
//! });
//! assert_eq!(store.len(), 1);
//! store.purge_expired(now + Duration::from_secs(901));
//! assert!(store.is_empty());
//! ```

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use arc_swap::ArcSwap;

use crate::{GrantUse, Principal, SpiffeId};

/// Whom a grant elevates.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Grantee {
    /// A workload, by the SPIFFE ID of its mTLS peer certificate.
    Peer(SpiffeId),
    /// A token subject, by issuer and `sub`.
    Subject {
        /// The `iss` claim.
        issuer: Arc<str>,
        /// The `sub` claim.
        subject: Arc<str>,
    },
}

impl Grantee {
    /// The token subject `subject` of `issuer`.
    pub fn subject(issuer: impl Into<Arc<str>>, subject: impl Into<Arc<str>>) -> Self {
        Self::Subject {
            issuer: issuer.into(),
            subject: subject.into(),
        }
    }
}

/// Extra roles for one principal until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// A unique id; inserting a grant with an existing id replaces it.
    pub id: Arc<str>,
    /// Whom the grant elevates.
    pub grantee: Grantee,
    /// The roles it adds.
    pub roles: Vec<String>,
    /// When it stops counting. A grant counts while `now < expires_at`.
    pub expires_at: SystemTime,
    /// Why it was given.
    pub reason: Arc<str>,
    /// Who approved it.
    pub approver: Arc<str>,
}

impl Grant {
    /// Whether the grant counts at `now`.
    pub fn is_active(&self, now: SystemTime) -> bool {
        now < self.expires_at
    }

    /// Whether the grant adds `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// The record of this grant in a decision.
    pub fn to_use(&self) -> GrantUse {
        GrantUse {
            id: self.id.clone(),
            approver: self.approver.clone(),
            reason: self.reason.clone(),
            expires_at: self.expires_at,
        }
    }
}

type GrantMap = HashMap<Grantee, Vec<Arc<Grant>>>;

/// The grants in force, shared by clones, read without locks.
#[derive(Debug, Clone, Default)]
pub struct GrantStore {
    grants: Arc<ArcSwap<GrantMap>>,
}

/// How a principal's grants bear on a role check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GrantLookup {
    /// An active grant gives one of the roles.
    Active(Arc<Grant>),
    /// Only an expired grant would have given one of the roles.
    Expired,
    /// No grant gives any of the roles.
    None,
}

impl GrantStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `grant`, replacing any grant with the same id.
    pub fn insert(&self, grant: Grant) {
        let grant = Arc::new(grant);
        self.grants.rcu(|current| {
            let mut next = without_id(current, &grant.id);
            next.entry(grant.grantee.clone())
                .or_default()
                .push(grant.clone());
            next
        });
    }

    /// Removes the grant with `id`; returns whether there was one.
    pub fn remove(&self, id: &str) -> bool {
        let mut removed = false;
        self.grants.rcu(|current| {
            removed = current.values().flatten().any(|g| &*g.id == id);
            without_id(current, id)
        });
        removed
    }

    /// Drops every grant that no longer counts at `now`.
    pub fn purge_expired(&self, now: SystemTime) {
        self.grants.rcu(|current| {
            let mut next = (**current).clone();
            next.values_mut()
                .for_each(|g| g.retain(|g| g.is_active(now)));
            next.retain(|_, g| !g.is_empty());
            next
        });
    }

    /// Number of grants held, expired ones included until purged.
    pub fn len(&self) -> usize {
        self.grants.load().values().map(Vec::len).sum()
    }

    /// Whether no grant is held.
    pub fn is_empty(&self) -> bool {
        self.grants.load().is_empty()
    }

    /// Every grant held, in no particular order.
    pub fn grants(&self) -> Vec<Arc<Grant>> {
        self.grants.load().values().flatten().cloned().collect()
    }

    /// Looks for a grant of `principal` that gives one of `roles` at `now`.
    pub(crate) fn lookup<'r>(
        &self,
        principal: &Principal,
        roles: impl Iterator<Item = &'r str> + Clone,
        now: SystemTime,
    ) -> GrantLookup {
        let map = self.grants.load();
        if map.is_empty() {
            return GrantLookup::None;
        }
        let mut expired = false;
        for grant in grants_of(&map, principal) {
            if !roles.clone().any(|role| grant.has_role(role)) {
                continue;
            }
            if grant.is_active(now) {
                return GrantLookup::Active(grant.clone());
            }
            expired = true;
        }
        match expired {
            true => GrantLookup::Expired,
            false => GrantLookup::None,
        }
    }
}

fn without_id(current: &GrantMap, id: &str) -> GrantMap {
    let mut next = current.clone();
    next.values_mut().for_each(|g| g.retain(|g| &*g.id != id));
    next.retain(|_, g| !g.is_empty());
    next
}

/// The grants for the principal's peer and for its token subject.
fn grants_of<'m>(map: &'m GrantMap, principal: &Principal) -> impl Iterator<Item = &'m Arc<Grant>> {
    let by_peer = principal
        .peer_id()
        .and_then(|id| map.get(&Grantee::Peer(id.clone())));
    let by_subject = principal.subject.as_deref().and_then(|s| {
        map.get(&Grantee::Subject {
            issuer: s.issuer.clone(),
            subject: s.subject.clone(),
        })
    });
    by_peer.into_iter().chain(by_subject).flatten()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    fn grant(id: &str, expires: u64) -> Grant {
        Grant {
            id: id.into(),
            grantee: Grantee::subject("iss", "alice"),
            roles: vec!["admin".to_owned()],
            expires_at: UNIX_EPOCH + Duration::from_secs(expires),
            reason: "test".into(),
            approver: "bob".into(),
        }
    }

    #[test]
    fn inserting_an_existing_id_replaces_the_grant() {
        let store = GrantStore::new();
        store.insert(grant("g", 10));
        store.insert(grant("g", 20));
        assert_eq!(store.len(), 1);
        assert_eq!(
            store.grants()[0].expires_at,
            UNIX_EPOCH + Duration::from_secs(20)
        );
    }

    #[test]
    fn removing_a_grant_says_whether_it_was_there() {
        let store = GrantStore::new();
        store.insert(grant("g", 10));
        assert!(store.remove("g"));
        assert!(!store.remove("g"));
        assert!(store.is_empty());
    }

    #[test]
    fn clones_share_the_same_grants() {
        let store = GrantStore::new();
        let clone = store.clone();
        store.insert(grant("g", 10));
        assert_eq!(clone.len(), 1);
    }
}
