//! The rule policy: default-deny rules loaded from TOML, compiled into an index at load.
//!
//! The file format is documented in the crate docs, section "The policy file".

mod compile;
mod condition;
mod config;
mod error;
mod evaluate;
mod handle;
mod index;
mod matcher;
mod rule;
mod watch;

use std::fmt;
use std::path::Path;
use std::sync::Arc;

pub use error::{PolicyError, PolicyErrorKind};
pub use handle::PolicyHandle;
pub use watch::PolicyWatcher;

use crate::{AccessRequest, Decision, GrantStore, Policy};
use compile::Compiler;
use index::RuleIndex;
use rule::Rule;

/// A default-deny policy of named rules, loaded from TOML and compiled into an index by
/// method and first path segment. The format is described in the
/// [crate docs](crate#the-policy-file).
///
/// ```
/// use std::time::SystemTime;
/// use http::Method;
/// use zt_core::{AccessRequest, Policy, Principal, RulePolicy, normalize_path};
///
/// let policy = RulePolicy::from_toml(r#"
///     [[rule]]
///     name = "health"
///     effect = "allow"
///     anyone = true
///     methods = ["GET"]
///     paths = ["/health"]
/// "#)?;
/// let path = normalize_path("/health")?;
/// let anonymous = Principal::default();
/// let request = AccessRequest::new(&Method::GET, &path, &anonymous, SystemTime::now());
/// let decision = policy.evaluate(&request);
/// assert!(decision.is_allowed());
/// assert_eq!(decision.rule.as_deref(), Some("health"));
///
/// let error = RulePolicy::from_toml("[[rule]]\nname = \"x\"\neffect = \"permit\"\n");
/// assert!(error.unwrap_err().to_string().starts_with("policy line 3, column 10"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct RulePolicy {
    rules: Arc<[Rule]>,
    index: Arc<RuleIndex>,
    revision: Arc<str>,
    role_claims: Arc<[Box<str>]>,
    grants: Option<GrantStore>,
}

impl RulePolicy {
    /// Loads a policy from TOML text.
    ///
    /// # Errors
    ///
    /// [`PolicyError::Invalid`] with the line and column of the first problem.
    pub fn from_toml(source: &str) -> Result<Self, PolicyError> {
        let file: config::PolicyFile = toml::from_str(source).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            let kind = PolicyErrorKind::Syntax(e.message().trim_end().to_owned());
            error::invalid(source, span, None, kind)
        })?;
        let mut compiler = Compiler::new(source);
        let rules = file
            .rules
            .into_iter()
            .map(|rule| compiler.rule(rule))
            .collect::<Result<Vec<_>, _>>()?;
        let revision = file.policy.revision.unwrap_or_else(|| digest(source));
        tracing::debug!(policy.revision = %revision, rules = rules.len(), "policy loaded");
        let role_claims = file
            .policy
            .role_claims
            .into_iter()
            .map(String::into_boxed_str);
        Ok(Self {
            index: Arc::new(RuleIndex::build(&rules)),
            rules: rules.into(),
            revision: revision.into(),
            role_claims: role_claims.collect(),
            grants: None,
        })
    }

    /// Loads a policy from a TOML file.
    ///
    /// # Errors
    ///
    /// [`PolicyError::Io`] if the file cannot be read, else as [`RulePolicy::from_toml`].
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, PolicyError> {
        let path = path.as_ref();
        let source = std::fs::read_to_string(path).map_err(|source| PolicyError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml(&source)
    }

    /// Reads time-bound grants from `grants` when a rule needs roles the caller lacks.
    pub fn with_grants(mut self, grants: GrantStore) -> Self {
        self.grants = Some(grants);
        self
    }

    /// The grant store this policy reads, if any.
    pub fn grants(&self) -> Option<&GrantStore> {
        self.grants.as_ref()
    }

    /// The revision id: `[policy] revision`, or a digest of the policy text.
    pub fn revision(&self) -> &str {
        &self.revision
    }

    /// The rule names, in policy order.
    pub fn rule_names(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| &*r.name)
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether the policy has no rules (and so denies everything).
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

impl Policy for RulePolicy {
    fn evaluate(&self, request: &AccessRequest<'_>) -> Decision {
        evaluate::decide(self, request)
    }
}

impl fmt::Debug for RulePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RulePolicy")
            .field("revision", &self.revision)
            .field("rules", &self.rules.len())
            .field("grants", &self.grants.as_ref().map(GrantStore::len))
            .finish()
    }
}

/// A short, stable digest of the policy text (FNV-1a, 64 bits), used as its revision when
/// the file does not name one.
fn digest(source: &str) -> String {
    use std::hash::Hasher;
    let mut hasher = index::FnvHasher::default();
    hasher.write(source.as_bytes());
    format!("fnv1a-{:016x}", hasher.finish())
}

#[cfg(test)]
mod tests;
