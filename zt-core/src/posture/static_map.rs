//! Posture from a fixed map, for known workloads and test set-ups.

use std::collections::HashMap;

use super::{PostureContext, PostureError, PostureSource, merge};
use crate::{Attributes, SpiffeId};

/// Fixed attributes per mTLS peer (by SPIFFE ID) and per token subject (by issuer and
/// `sub`). When both match, the subject's attributes override the peer's.
///
/// ```
/// use std::time::SystemTime;
/// use zt_core::{Attributes, PostureContext, PostureSource, StaticPosture};
///
/// let managed: Attributes = [("device.managed", true)].into_iter().collect();
/// let posture = StaticPosture::new()
///     .peer("spiffe://example.org/ns/ops/sa/laptop-7".parse()?, managed);
/// # let _ = posture;
/// # Ok::<(), zt_core::IdError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct StaticPosture {
    peers: HashMap<SpiffeId, Attributes>,
    /// Issuer -> subject -> attributes, so that a request looks up without allocating.
    subjects: HashMap<String, HashMap<String, Attributes>>,
}

impl StaticPosture {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the attributes of the peer `id`.
    pub fn peer(mut self, id: SpiffeId, attributes: Attributes) -> Self {
        self.peers.insert(id, attributes);
        self
    }

    /// Sets the attributes of the token subject `subject` of `issuer`.
    pub fn subject(
        mut self,
        issuer: impl Into<String>,
        subject: impl Into<String>,
        attributes: Attributes,
    ) -> Self {
        self.subjects
            .entry(issuer.into())
            .or_default()
            .insert(subject.into(), attributes);
        self
    }
}

impl PostureSource for StaticPosture {
    fn attributes(&self, context: &PostureContext<'_>) -> Result<Attributes, PostureError> {
        let mut attributes = Attributes::new();
        let principal = context.principal;
        if let Some(found) = principal.peer_id().and_then(|id| self.peers.get(id)) {
            merge(&mut attributes, found.clone());
        }
        let by_subject = principal
            .subject
            .as_deref()
            .and_then(|s| self.subjects.get(&*s.issuer)?.get(&*s.subject));
        if let Some(found) = by_subject {
            merge(&mut attributes, found.clone());
        }
        Ok(attributes)
    }
}
