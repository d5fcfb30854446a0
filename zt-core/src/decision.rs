//! The answer a policy gives, and why.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

/// Whether a request may proceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// The request may proceed.
    Allow,
    /// The request is refused.
    Deny,
}

/// Why a decision came out the way it did, in terms a log reader understands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// No rule matched the request; default deny.
    NoRuleMatched,
    /// An allow rule matched and no deny rule did.
    AllowedByRule,
    /// A deny rule matched.
    DeniedByRule,
    /// An allow rule matched on everything but the caller's roles or scopes.
    InsufficientRoles,
    /// A rule's condition could not be evaluated; a deny rule counts as matched.
    ConditionError(String),
    /// The only rule that would have allowed the request relied on a grant that expired.
    GrantExpired,
    /// The request path could not be normalized.
    PathRejected(String),
    /// The caller was authenticated but something on the way failed; fail closed.
    Error(String),
    /// The method is a case variant of a standard method (`delete` for `DELETE`) or of a
    /// method the policy names (`purge` for `PURGE`); methods are case-sensitive, so it is
    /// refused rather than matched as something else.
    NonCanonicalMethod,
    /// The caller is on the revocation list (or quarantined); the policy was not consulted.
    Revoked(String),
}

impl Reason {
    /// A short, stable code for metric labels and log filters, such as `denied_by_rule`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoRuleMatched => "no_rule_matched",
            Self::AllowedByRule => "allowed_by_rule",
            Self::DeniedByRule => "denied_by_rule",
            Self::InsufficientRoles => "insufficient_roles",
            Self::ConditionError(_) => "condition_error",
            Self::GrantExpired => "grant_expired",
            Self::PathRejected(_) => "path_rejected",
            Self::Error(_) => "error",
            Self::NonCanonicalMethod => "non_canonical_method",
            Self::Revoked(_) => "revoked",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoRuleMatched => f.write_str("no rule matched"),
            Self::AllowedByRule => f.write_str("allowed by rule"),
            Self::DeniedByRule => f.write_str("denied by rule"),
            Self::InsufficientRoles => f.write_str("missing a required role or scope"),
            Self::ConditionError(e) => write!(f, "condition could not be evaluated: {e}"),
            Self::GrantExpired => f.write_str("grant expired"),
            Self::PathRejected(e) => write!(f, "path rejected: {e}"),
            Self::Error(e) => write!(f, "error: {e}"),
            Self::NonCanonicalMethod => {
                f.write_str("method is a case variant of a standard or named one")
            }
            Self::Revoked(e) => write!(f, "revoked: {e}"),
        }
    }
}

/// A policy's answer for one request: the effect, the rule that decided it and the reason,
/// plus what a log reader needs to trust it (revision, grant, dry-run outcomes, errors).
///
/// A `Decision` is built to be logged and recorded: it holds rule names and reasons, never
/// token or key material. Build one with [`Decision::deny`] or [`Decision::allow`]; the
/// other fields start empty.
///
/// ```
/// use zt_core::{Decision, Effect, Reason};
///
/// let decision = Decision::allow("orders-read", Reason::AllowedByRule);
/// assert!(decision.is_allowed());
/// assert_eq!(decision.to_string(), "allow (allowed by rule: orders-read)");
/// assert_eq!(Decision::deny(Reason::NoRuleMatched).effect, Effect::Deny);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Decision {
    /// Allow or deny.
    pub effect: Effect,
    /// The name of the rule that decided, if one did.
    pub rule: Option<Arc<str>>,
    /// Why.
    pub reason: Reason,
    /// The revision of the policy that decided, if the policy has one.
    pub revision: Option<Arc<str>>,
    /// Whether the deciding rule is an audit rule, whose decisions are always logged.
    pub audit: bool,
    /// The time-bound grant that supplied a role the deciding rule needed.
    pub grant: Option<GrantUse>,
    /// What dry-run rules that matched would have decided; they did not decide.
    pub dry_run: Vec<DryRunOutcome>,
    /// Conditions that could not be evaluated on the way, by rule.
    pub errors: Vec<RuleError>,
}

/// A time-bound grant that a decision relied on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantUse {
    /// The grant's id.
    pub id: Arc<str>,
    /// Who approved the grant.
    pub approver: Arc<str>,
    /// Why the grant was given.
    pub reason: Arc<str>,
    /// When the grant stops counting.
    pub expires_at: SystemTime,
}

/// A dry-run rule that matched a request: what it would have decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DryRunOutcome {
    /// The rule's name.
    pub rule: Arc<str>,
    /// What it would have decided.
    pub effect: Effect,
}

/// A rule condition that could not be evaluated for a request. A deny rule counts it as a
/// match and an allow rule as no match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// The rule's name.
    pub rule: Arc<str>,
    /// What could not be evaluated.
    pub error: ConditionError,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rule {}: {}", self.rule, self.error)
    }
}

/// Why a rule condition could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConditionError {
    /// The request has no token subject, so no claim can be read.
    #[error("no token subject to read claim `{claim}` from")]
    NoSubject {
        /// The claim the condition reads.
        claim: Arc<str>,
    },
    /// The claim is not in the token.
    #[error("claim `{claim}` is missing")]
    MissingClaim {
        /// The claim the condition reads.
        claim: Arc<str>,
    },
    /// The attribute is not set.
    #[error("attribute `{attribute}` is missing")]
    MissingAttribute {
        /// The attribute the condition reads.
        attribute: Arc<str>,
    },
    /// The value has a type the operator cannot compare with.
    #[error("`{name}` is {found}, which `{operator}` cannot compare")]
    TypeMismatch {
        /// The claim or attribute.
        name: Arc<str>,
        /// The operator (`equals`, `gt`, ...).
        operator: &'static str,
        /// The JSON type that was found.
        found: &'static str,
    },
    /// The rule matches on the host but the request carried none.
    #[error("the request carries no host")]
    NoHost,
    /// The rule matches on the host but the request's host is not a well-formed host
    /// (`a..b`, `user@host`, `host:port:port`, stray characters), so no name can be read
    /// from it.
    #[error("the request's host is malformed")]
    MalformedHost,
    /// The rule matches on headers but the request's headers were not given to the policy.
    #[error("the request's headers are not available")]
    NoHeaders,
    /// A header the rule reads has a value that is not visible ASCII.
    #[error("header `{header}` has a value that is not visible ASCII")]
    HeaderNotText {
        /// The header name.
        header: Arc<str>,
    },
}

impl Decision {
    /// A deny with no deciding rule.
    pub fn deny(reason: Reason) -> Self {
        Self::new(Effect::Deny, None, reason)
    }

    /// An allow decided by `rule`.
    pub fn allow(rule: impl Into<Arc<str>>, reason: Reason) -> Self {
        Self::new(Effect::Allow, Some(rule.into()), reason)
    }

    /// A decision with every optional field empty.
    pub fn new(effect: Effect, rule: Option<Arc<str>>, reason: Reason) -> Self {
        Self {
            effect,
            rule,
            reason,
            revision: None,
            audit: false,
            grant: None,
            dry_run: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// Whether the request may proceed.
    pub fn is_allowed(&self) -> bool {
        self.effect == Effect::Allow
    }
}

impl Effect {
    /// `"allow"` or `"deny"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Deny => "deny",
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let effect = self.effect.as_str();
        match &self.rule {
            Some(rule) => write!(f, "{effect} ({}: {rule})", self.reason)?,
            None => write!(f, "{effect} ({})", self.reason)?,
        }
        match &self.grant {
            Some(grant) => write!(f, " via grant {}", grant.id),
            None => Ok(()),
        }
    }
}
