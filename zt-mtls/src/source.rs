//! Where the current SVID and trust bundles come from, read lock-free at each handshake.

use std::fmt;
use std::sync::Arc;

use arc_swap::{ArcSwap, ArcSwapOption};
use zt_core::TrustDomain;

use crate::{Svid, TrustBundle, TrustBundleSet};

// TODO: a SPIFFE Workload API source (the SPIRE agent socket) for SVIDs and bundles; today
// they come from memory or from files that another process (such as spiffe-helper) writes.

/// Hands out the SVID to present at the next handshake.
///
/// Read on every handshake, so implementations must be cheap and must not block. `None`
/// means no SVID is loaded yet: the handshake fails.
pub trait SvidSource: Send + Sync + fmt::Debug + 'static {
    /// The SVID to present now.
    fn current_svid(&self) -> Option<Arc<Svid>>;
}

impl<T: SvidSource + ?Sized> SvidSource for Arc<T> {
    fn current_svid(&self) -> Option<Arc<Svid>> {
        (**self).current_svid()
    }
}

impl SvidSource for Svid {
    fn current_svid(&self) -> Option<Arc<Svid>> {
        Some(Arc::new(self.clone()))
    }
}

/// An SVID held in memory and replaced by calling [`InMemorySvidSource::set`].
///
/// ```
/// # #[cfg(feature = "dev")] {
/// use zt_mtls::{InMemorySvidSource, SvidSource};
/// use zt_mtls::dev::DevCa;
///
/// let ca = DevCa::new("example.org".parse()?)?;
/// let source = InMemorySvidSource::empty();
/// assert!(source.current_svid().is_none());
/// source.set(ca.issue_svid(&"spiffe://example.org/web".parse()?)?);
/// assert!(source.current_svid().is_some());
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct InMemorySvidSource {
    current: ArcSwapOption<Svid>,
}

impl InMemorySvidSource {
    /// A source serving `svid`.
    pub fn new(svid: Svid) -> Self {
        Self {
            current: ArcSwapOption::from_pointee(svid),
        }
    }

    /// A source with no SVID yet: every handshake fails until [`InMemorySvidSource::set`].
    pub fn empty() -> Self {
        Self::default()
    }

    /// Serves `svid` from the next handshake on.
    pub fn set(&self, svid: Svid) {
        self.current.store(Some(Arc::new(svid)));
    }

    /// Stops serving any SVID.
    pub fn clear(&self) {
        self.current.store(None);
    }
}

impl SvidSource for InMemorySvidSource {
    fn current_svid(&self) -> Option<Arc<Svid>> {
        self.current.load_full()
    }
}

/// Hands out the trust bundle of a trust domain, read at every handshake.
pub trait BundleSource: Send + Sync + fmt::Debug + 'static {
    /// The bundle of `trust_domain`, or `None` if that domain is not trusted.
    fn bundle_for(&self, trust_domain: &TrustDomain) -> Option<Arc<TrustBundle>>;
}

impl<T: BundleSource + ?Sized> BundleSource for Arc<T> {
    fn bundle_for(&self, trust_domain: &TrustDomain) -> Option<Arc<TrustBundle>> {
        (**self).bundle_for(trust_domain)
    }
}

impl BundleSource for TrustBundleSet {
    fn bundle_for(&self, trust_domain: &TrustDomain) -> Option<Arc<TrustBundle>> {
        self.get(trust_domain).cloned()
    }
}

impl BundleSource for TrustBundle {
    fn bundle_for(&self, trust_domain: &TrustDomain) -> Option<Arc<TrustBundle>> {
        (self.trust_domain() == trust_domain).then(|| Arc::new(self.clone()))
    }
}

/// A bundle set replaced as a whole at run time, lock-free for readers.
///
/// ```
/// # #[cfg(feature = "dev")] {
/// use zt_mtls::{BundleSource, SharedBundleSet, TrustBundleSet};
/// use zt_mtls::dev::DevCa;
///
/// let ca = DevCa::new("example.org".parse()?)?;
/// let shared = SharedBundleSet::new(TrustBundleSet::new());
/// assert!(shared.bundle_for(ca.trust_domain()).is_none());
/// shared.store(TrustBundleSet::new().with(ca.bundle()?));
/// assert!(shared.bundle_for(ca.trust_domain()).is_some());
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct SharedBundleSet {
    current: ArcSwap<TrustBundleSet>,
}

impl SharedBundleSet {
    /// A shared set starting at `set`.
    pub fn new(set: TrustBundleSet) -> Self {
        Self {
            current: ArcSwap::from_pointee(set),
        }
    }

    /// Replaces the whole set from the next handshake on.
    pub fn store(&self, set: TrustBundleSet) {
        self.current.store(Arc::new(set));
    }

    /// Replaces one trust domain's bundle, keeping the others.
    pub fn upsert(&self, bundle: TrustBundle) {
        let bundle = Arc::new(bundle);
        self.current.rcu(|set| {
            let mut next = TrustBundleSet::clone(set);
            next.insert(TrustBundle::clone(&bundle));
            next
        });
    }

    /// The set as it stands.
    pub fn load(&self) -> Arc<TrustBundleSet> {
        self.current.load_full()
    }
}

impl BundleSource for SharedBundleSet {
    fn bundle_for(&self, trust_domain: &TrustDomain) -> Option<Arc<TrustBundle>> {
        self.current.load().get(trust_domain).cloned()
    }
}
