//! A rule policy that can be replaced at run time without locks on the request path.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use arc_swap::ArcSwap;

use super::{PolicyError, RulePolicy};
use crate::{AccessRequest, Decision, Policy};

/// A [`RulePolicy`] behind an atomic pointer: requests read the current policy without
/// locks, and [`reload`](Self::reload) swaps in a new one only if it loads. A policy that
/// fails to load never replaces a working one. Clones share the same policy.
///
/// ```
/// use zt_core::{PolicyHandle, RulePolicy};
///
/// let v1 = "[policy]\nrevision = \"v1\"\n";
/// let handle = PolicyHandle::new(RulePolicy::from_toml(v1)?);
/// assert!(handle.reload("[[rule]]\nname = 1\n").is_err());
/// assert_eq!(handle.current().revision(), "v1");
/// handle.reload("[policy]\nrevision = \"v2\"\n")?;
/// assert_eq!(handle.current().revision(), "v2");
/// # Ok::<(), zt_core::PolicyError>(())
/// ```
#[derive(Clone)]
pub struct PolicyHandle {
    pub(super) current: Arc<ArcSwap<RulePolicy>>,
}

impl PolicyHandle {
    /// A handle serving `policy`.
    pub fn new(policy: RulePolicy) -> Self {
        Self {
            current: Arc::new(ArcSwap::from_pointee(policy)),
        }
    }

    /// The policy now in force.
    pub fn current(&self) -> Arc<RulePolicy> {
        self.current.load_full()
    }

    /// Loads `source` and, if it loads, puts it in force, keeping the current grant store.
    /// Returns the new revision.
    ///
    /// # Errors
    ///
    /// As [`RulePolicy::from_toml`]; the current policy stays in force.
    pub fn reload(&self, source: &str) -> Result<Arc<str>, PolicyError> {
        self.swap_in(RulePolicy::from_toml(source))
    }

    /// Loads the file at `path` and, if it loads, puts it in force, as [`Self::reload`].
    ///
    /// # Errors
    ///
    /// As [`RulePolicy::from_path`]; the current policy stays in force.
    pub fn reload_from_path(&self, path: impl AsRef<Path>) -> Result<Arc<str>, PolicyError> {
        self.swap_in(RulePolicy::from_path(path))
    }

    /// Puts `policy` in force as it is, grant store included.
    pub fn replace(&self, policy: RulePolicy) {
        self.current.store(Arc::new(policy));
    }

    fn swap_in(&self, loaded: Result<RulePolicy, PolicyError>) -> Result<Arc<str>, PolicyError> {
        let mut policy = match loaded {
            Ok(policy) => policy,
            Err(error) => {
                tracing::warn!(%error, "policy reload failed; keeping the current policy");
                return Err(error);
            }
        };
        policy.grants = self.current.load().grants.clone();
        let revision = policy.revision.clone();
        tracing::debug!(policy.revision = %revision, "policy reloaded");
        self.current.store(Arc::new(policy));
        Ok(revision)
    }
}

impl Policy for PolicyHandle {
    fn evaluate(&self, request: &AccessRequest<'_>) -> Decision {
        self.current.load().evaluate(request)
    }
}

impl fmt::Debug for PolicyHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PolicyHandle")
            .field(&**self.current.load())
            .finish()
    }
}
