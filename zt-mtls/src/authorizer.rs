//! Which verified SPIFFE IDs may complete a handshake.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::Arc;

use zt_core::{SpiffeId, TrustDomain};

/// The peer's certificate chain was valid, but the authorizer refused its SPIFFE ID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("SPIFFE ID {id} is not authorized by rule `{rule}`")]
pub struct Unauthorized {
    /// The refused ID.
    pub id: SpiffeId,
    /// The authorizer rule that refused it: `exact`, `one_of`, `member_of` or `predicate`.
    pub rule: &'static str,
}

/// Decides, at the handshake and after every cryptographic check has passed, whether a
/// peer's SPIFFE ID may connect.
///
/// ```
/// use zt_core::SpiffeId;
/// use zt_mtls::Authorizer;
///
/// let orders: SpiffeId = "spiffe://example.org/orders".parse()?;
/// let web: SpiffeId = "spiffe://example.org/web".parse()?;
/// assert!(Authorizer::exact(orders.clone()).authorize(&orders).is_ok());
/// assert!(Authorizer::exact(orders.clone()).authorize(&web).is_err());
/// assert!(Authorizer::member_of("example.org".parse()?).authorize(&web).is_ok());
/// let ns = Authorizer::predicate(|id| id.path().starts_with("/ns/prod/"));
/// assert!(ns.authorize(&web).is_err());
/// # Ok::<(), zt_core::IdError>(())
/// ```
#[derive(Clone)]
pub struct Authorizer(Rule);

type Predicate = Arc<dyn Fn(&SpiffeId) -> bool + Send + Sync>;

#[derive(Clone)]
enum Rule {
    Any,
    Exact(SpiffeId),
    OneOf(BTreeSet<SpiffeId>),
    MemberOf(BTreeSet<TrustDomain>),
    Predicate(Predicate),
}

impl Authorizer {
    /// Any ID from a trust domain in the bundle set.
    pub fn any() -> Self {
        Self(Rule::Any)
    }

    /// Exactly `id`.
    pub fn exact(id: SpiffeId) -> Self {
        Self(Rule::Exact(id))
    }

    /// Any of `ids`. An empty list refuses everyone.
    pub fn one_of(ids: impl IntoIterator<Item = SpiffeId>) -> Self {
        Self(Rule::OneOf(ids.into_iter().collect()))
    }

    /// Any ID in `trust_domain`.
    pub fn member_of(trust_domain: TrustDomain) -> Self {
        Self::member_of_any([trust_domain])
    }

    /// Any ID in one of `trust_domains`. An empty list refuses everyone.
    pub fn member_of_any(trust_domains: impl IntoIterator<Item = TrustDomain>) -> Self {
        Self(Rule::MemberOf(trust_domains.into_iter().collect()))
    }

    /// Any ID for which `predicate` returns `true`. It runs on the handshake path: keep it
    /// fast and non-blocking.
    pub fn predicate(predicate: impl Fn(&SpiffeId) -> bool + Send + Sync + 'static) -> Self {
        Self(Rule::Predicate(Arc::new(predicate)))
    }

    /// Whether `id` may connect.
    ///
    /// # Errors
    ///
    /// [`Unauthorized`] naming the rule that refused it.
    pub fn authorize(&self, id: &SpiffeId) -> Result<(), Unauthorized> {
        let allowed = match &self.0 {
            Rule::Any => true,
            Rule::Exact(expected) => expected == id,
            Rule::OneOf(ids) => ids.contains(id),
            Rule::MemberOf(domains) => domains.contains(id.trust_domain()),
            Rule::Predicate(predicate) => predicate(id),
        };
        if allowed {
            return Ok(());
        }
        Err(Unauthorized {
            id: id.clone(),
            rule: self.rule_name(),
        })
    }

    /// The name of the rule, as it appears in errors and logs.
    pub fn rule_name(&self) -> &'static str {
        match self.0 {
            Rule::Any => "any",
            Rule::Exact(_) => "exact",
            Rule::OneOf(_) => "one_of",
            Rule::MemberOf(_) => "member_of",
            Rule::Predicate(_) => "predicate",
        }
    }
}

impl fmt::Debug for Authorizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Rule::Any => f.write_str("Authorizer::Any"),
            Rule::Exact(id) => f.debug_tuple("Authorizer::Exact").field(id).finish(),
            Rule::OneOf(ids) => f.debug_tuple("Authorizer::OneOf").field(ids).finish(),
            Rule::MemberOf(tds) => f.debug_tuple("Authorizer::MemberOf").field(tds).finish(),
            Rule::Predicate(_) => f.write_str("Authorizer::Predicate(..)"),
        }
    }
}
