//! What a revocation entry names, and the entry itself.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::SystemTime;

use crate::{CertThumbprint, Decision, Reason, SpiffeId};

/// What a revocation entry denies.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RevocationTarget {
    /// A workload, by SPIFFE ID: matches the mTLS peer and JWT-SVID subjects with that ID.
    SpiffeId(SpiffeId),
    /// One certificate, by the SHA-256 thumbprint of its DER bytes.
    Thumbprint(CertThumbprint),
    /// One token, by issuer and `jti`. Token bytes are never stored.
    TokenId {
        /// The `iss` claim.
        issuer: Arc<str>,
        /// The `jti` claim.
        token_id: Arc<str>,
    },
    /// Every token of one subject of one issuer, by `iss` and `sub`.
    Subject {
        /// The `iss` claim.
        issuer: Arc<str>,
        /// The `sub` claim.
        subject: Arc<str>,
    },
}

impl RevocationTarget {
    /// A token id target.
    pub fn token_id(issuer: impl Into<Arc<str>>, token_id: impl Into<Arc<str>>) -> Self {
        Self::TokenId {
            issuer: issuer.into(),
            token_id: token_id.into(),
        }
    }

    /// A subject target.
    pub fn subject(issuer: impl Into<Arc<str>>, subject: impl Into<Arc<str>>) -> Self {
        Self::Subject {
            issuer: issuer.into(),
            subject: subject.into(),
        }
    }

    /// The kind of target, as used in metric labels.
    pub fn kind(&self) -> RevocationKind {
        match self {
            Self::SpiffeId(_) => RevocationKind::SpiffeId,
            Self::Thumbprint(_) => RevocationKind::Thumbprint,
            Self::TokenId { .. } => RevocationKind::TokenId,
            Self::Subject { .. } => RevocationKind::Subject,
        }
    }

    /// The kind as an index into per-kind counters.
    pub(super) fn kind_index(&self) -> usize {
        self.as_ref().kind_index()
    }

    pub(super) fn as_ref(&self) -> TargetRef<'_> {
        match self {
            Self::SpiffeId(id) => TargetRef::SpiffeId(id),
            Self::Thumbprint(t) => TargetRef::Thumbprint(t),
            Self::TokenId { issuer, token_id } => TargetRef::TokenId(issuer, token_id),
            Self::Subject { issuer, subject } => TargetRef::Subject(issuer, subject),
        }
    }
}

impl Hash for RevocationTarget {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_ref().hash(state);
    }
}

impl fmt::Display for RevocationTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SpiffeId(id) => write!(f, "spiffe {id}"),
            Self::Thumbprint(t) => write!(f, "thumbprint {t}"),
            Self::TokenId { issuer, token_id } => write!(f, "token {issuer} {token_id}"),
            Self::Subject { issuer, subject } => write!(f, "subject {issuer} {subject}"),
        }
    }
}

/// A borrowed target, so that a request can be looked up without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum TargetRef<'a> {
    SpiffeId(&'a SpiffeId),
    Thumbprint(&'a CertThumbprint),
    TokenId(&'a str, &'a str),
    Subject(&'a str, &'a str),
}

impl TargetRef<'_> {
    pub(super) fn kind_index(self) -> usize {
        match self {
            Self::SpiffeId(_) => 0,
            Self::Thumbprint(_) => 1,
            Self::TokenId(..) => 2,
            Self::Subject(..) => 3,
        }
    }
}

/// Entry counts per kind, indexed by `kind_index`.
pub(super) type KindCounts = [usize; 4];

/// The kind of a [`RevocationTarget`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RevocationKind {
    /// [`RevocationTarget::SpiffeId`].
    SpiffeId,
    /// [`RevocationTarget::Thumbprint`].
    Thumbprint,
    /// [`RevocationTarget::TokenId`].
    TokenId,
    /// [`RevocationTarget::Subject`].
    Subject,
}

impl RevocationKind {
    /// The kind's name in the revocation file and in metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SpiffeId => "spiffe",
            Self::Thumbprint => "thumbprint",
            Self::TokenId => "token",
            Self::Subject => "subject",
        }
    }
}

/// Where a revocation entry came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RevocationOrigin {
    /// The revocation file.
    File,
    /// A call to [`RevocationList::revoke`](crate::RevocationList::revoke).
    Api,
    /// A quarantine by the [`Responder`](crate::Responder).
    Quarantine,
}

/// One revocation entry: what is denied, why, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// What is denied.
    pub target: RevocationTarget,
    /// Why, for logs and audit records.
    pub reason: Arc<str>,
    /// When the entry stops applying; `None` means until removed.
    pub expires_at: Option<SystemTime>,
    /// Where the entry came from.
    pub origin: RevocationOrigin,
}

impl Revocation {
    /// A permanent entry made through the API.
    pub fn new(target: RevocationTarget, reason: impl Into<Arc<str>>) -> Self {
        Self {
            target,
            reason: reason.into(),
            expires_at: None,
            origin: RevocationOrigin::Api,
        }
    }

    /// Sets the expiry: the entry applies strictly before `expires_at`.
    pub fn until(mut self, expires_at: SystemTime) -> Self {
        self.expires_at = Some(expires_at);
        self
    }

    /// Sets the origin.
    pub fn origin(mut self, origin: RevocationOrigin) -> Self {
        self.origin = origin;
        self
    }

    /// Whether the entry applies at `now`.
    pub fn is_active(&self, now: SystemTime) -> bool {
        self.expires_at.is_none_or(|at| now < at)
    }

    /// The deny decision to record for a request refused by this entry.
    pub fn to_decision(&self) -> Decision {
        Decision::deny(Reason::Revoked(format!(
            "{} ({})",
            self.target, self.reason
        )))
    }
}

impl fmt::Display for Revocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} revoked: {}", self.target, self.reason)
    }
}
