//! What was verified about a caller: its transport identity and its token subject.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use crate::SpiffeId;

/// SHA-256 digest of a DER certificate, as RFC 8705 `x5t#S256` uses it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CertThumbprint(pub [u8; 32]);

impl CertThumbprint {
    /// The digest bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hexadecimal form, as used in logs and revocation files.
    pub fn to_hex(&self) -> String {
        use fmt::Write;
        self.0.iter().fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    }
}

impl fmt::Debug for CertThumbprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CertThumbprint({})", self.to_hex())
    }
}

impl fmt::Display for CertThumbprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// A workload identity proven at the TLS handshake by an X509-SVID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerIdentity {
    /// The SPIFFE ID from the leaf certificate's URI SAN.
    pub spiffe_id: SpiffeId,
    /// SHA-256 of the leaf certificate's DER bytes.
    pub thumbprint: CertThumbprint,
    /// When the leaf certificate stops being valid.
    pub not_after: SystemTime,
}

/// How a connection was authenticated: a closed set, never an optional string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportIdentity {
    /// The connection is plain TCP; nothing about the peer is known.
    Plaintext,
    /// TLS without a client certificate: the channel is private, the peer is anonymous.
    TlsAnonymous,
    /// TLS with a client certificate verified as an X509-SVID.
    Verified(Arc<PeerIdentity>),
}

impl TransportIdentity {
    /// The verified peer, if there is one.
    pub fn peer(&self) -> Option<&Arc<PeerIdentity>> {
        match self {
            Self::Verified(peer) => Some(peer),
            Self::Plaintext | Self::TlsAnonymous => None,
        }
    }
}

/// What a validated token says about whom a request speaks for.
///
/// Holds no token bytes: a `Subject` can be logged and kept.
#[derive(Debug, Clone, PartialEq)]
pub struct Subject {
    /// The `iss` claim.
    pub issuer: Arc<str>,
    /// The `sub` claim.
    pub subject: Arc<str>,
    /// The `aud` claim, as a list.
    pub audiences: Vec<String>,
    /// Roles or scopes, from the claims the validator was told to read.
    pub roles: Vec<String>,
    /// The `exp` claim.
    pub expires_at: SystemTime,
    /// The `jti` claim, if present.
    pub token_id: Option<String>,
    /// The remaining claims, as JSON.
    pub claims: serde_json::Map<String, serde_json::Value>,
}

impl Subject {
    /// Whether the subject holds `role` (a role or a scope).
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

/// Attributes of a caller or a request that policy conditions can read, such as device
/// posture (`device.managed`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attributes(BTreeMap<String, serde_json::Value>);

impl Attributes {
    /// No attributes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `value`, returning the previous value.
    pub fn insert(
        &mut self,
        key: impl Into<String>,
        value: impl Into<serde_json::Value>,
    ) -> Option<serde_json::Value> {
        self.0.insert(key.into(), value.into())
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&serde_json::Value> {
        self.0.get(key)
    }

    /// Whether there are no attributes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// All attributes, ordered by key.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &serde_json::Value)> {
        self.0.iter()
    }
}

impl<K: Into<String>, V: Into<serde_json::Value>> FromIterator<(K, V)> for Attributes {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self(
            iter.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

/// Everything verified about a caller: the workload on the other end of the connection, the
/// user or service its token speaks for, and extra attributes such as device posture.
///
/// A principal with neither a peer nor a subject is anonymous; the rule policy denies it
/// unless a rule explicitly allows unauthenticated callers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Principal {
    /// The mTLS peer, if the connection had a verified client certificate.
    pub peer: Option<Arc<PeerIdentity>>,
    /// The token subject, if the request carried a valid token.
    pub subject: Option<Arc<Subject>>,
    /// Attributes of the caller, such as device posture.
    pub attributes: Attributes,
}

impl Principal {
    /// Whether anything about the caller was verified.
    pub fn is_authenticated(&self) -> bool {
        self.peer.is_some() || self.subject.is_some()
    }

    /// The peer's SPIFFE ID, if any.
    pub fn peer_id(&self) -> Option<&SpiffeId> {
        self.peer.as_deref().map(|p| &p.spiffe_id)
    }
}
