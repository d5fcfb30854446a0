//! The answer a policy gives, and why.

use std::fmt;
use std::sync::Arc;

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
        }
    }
}

/// A policy's answer for one request: the effect, the rule that decided it and the reason.
///
/// A `Decision` is built to be logged and recorded: it holds rule names and reasons, never
/// token or key material.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Allow or deny.
    pub effect: Effect,
    /// The name of the rule that decided, if one did.
    pub rule: Option<Arc<str>>,
    /// Why.
    pub reason: Reason,
}

impl Decision {
    /// A deny with no deciding rule.
    pub fn deny(reason: Reason) -> Self {
        Self {
            effect: Effect::Deny,
            rule: None,
            reason,
        }
    }

    /// Whether the request may proceed.
    pub fn is_allowed(&self) -> bool {
        self.effect == Effect::Allow
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let effect = match self.effect {
            Effect::Allow => "allow",
            Effect::Deny => "deny",
        };
        match &self.rule {
            Some(rule) => write!(f, "{effect} ({}: {rule})", self.reason),
            None => write!(f, "{effect} ({})", self.reason),
        }
    }
}
