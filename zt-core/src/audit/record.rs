//! One decision, as kept by an audit sink.

use std::sync::Arc;
use std::time::SystemTime;

use http::Method;
use serde_json::{Value, json};

use crate::civil_time::format_rfc3339;
use crate::{AccessRequest, Decision, DryRunOutcome, Effect, Principal, SpiffeId};

/// What an audit sink keeps about one decision: when, what was decided by which rule and
/// why, who asked (peer ID, token issuer and subject) and what (method, path, host).
///
/// Holds no token or key material.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DecisionRecord {
    /// When the request was decided.
    pub time: SystemTime,
    /// Allow or deny.
    pub effect: Effect,
    /// The deciding rule.
    pub rule: Option<Arc<str>>,
    /// Why, as a log reader reads it.
    pub reason: String,
    /// Why, as a short stable code ([`Reason::code`](crate::Reason::code)).
    pub reason_code: &'static str,
    /// Whether the deciding rule is an audit rule.
    pub audit: bool,
    /// The revision of the policy that decided.
    pub revision: Option<Arc<str>>,
    /// The id of the grant the decision relied on.
    pub grant: Option<Arc<str>>,
    /// The mTLS peer's SPIFFE ID.
    pub peer_id: Option<SpiffeId>,
    /// The token's `iss`.
    pub issuer: Option<Arc<str>>,
    /// The token's `sub`.
    pub subject: Option<Arc<str>>,
    /// The HTTP method.
    pub method: String,
    /// The normalized path.
    pub path: String,
    /// The host, as received.
    pub host: Option<String>,
    /// The request id (`x-request-id` or similar), if the caller set one.
    pub request_id: Option<String>,
    /// Whether any dry-run rule matched; see `dry_run_outcomes`.
    pub dry_run: bool,
    /// What the matching dry-run rules would have decided.
    pub dry_run_outcomes: Vec<DryRunOutcome>,
    /// Conditions that could not be evaluated, as text.
    pub errors: Vec<String>,
}

impl DecisionRecord {
    /// The record of `decision` taken for `request`.
    pub fn new(request: &AccessRequest<'_>, decision: &Decision) -> Self {
        let mut record = Self::from_parts(
            request.method,
            request.path.as_str(),
            request.principal,
            request.now,
            decision,
        );
        record.host = request.host.map(str::to_owned);
        record
    }

    /// The record of `decision` (a deny) for a request refused before any policy was asked
    /// because its path could not be normalized: `raw_path` is kept as received, since there
    /// is no normalized one.
    pub fn unnormalized_path(
        method: &Method,
        raw_path: &str,
        host: Option<&str>,
        principal: &Principal,
        now: SystemTime,
        decision: &Decision,
    ) -> Self {
        let mut record = Self::from_parts(method, raw_path, principal, now, decision);
        record.host = host.map(str::to_owned);
        record
    }

    fn from_parts(
        method: &Method,
        path: &str,
        principal: &Principal,
        now: SystemTime,
        decision: &Decision,
    ) -> Self {
        let subject = principal.subject.as_deref();
        Self {
            time: now,
            effect: decision.effect,
            rule: decision.rule.clone(),
            reason: decision.reason.to_string(),
            reason_code: decision.reason.code(),
            audit: decision.audit,
            revision: decision.revision.clone(),
            grant: decision.grant.as_ref().map(|g| g.id.clone()),
            peer_id: principal.peer_id().cloned(),
            issuer: subject.map(|s| s.issuer.clone()),
            subject: subject.map(|s| s.subject.clone()),
            method: method.as_str().to_owned(),
            path: path.to_owned(),
            host: None,
            request_id: None,
            dry_run: !decision.dry_run.is_empty(),
            dry_run_outcomes: decision.dry_run.clone(),
            errors: decision.errors.iter().map(ToString::to_string).collect(),
        }
    }

    /// Sets the request id.
    pub fn with_request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }

    /// The record as one JSON object; `dropped` is the number of records lost before it.
    pub fn to_json(&self, dropped: u64) -> Value {
        let outcomes: Vec<Value> = self
            .dry_run_outcomes
            .iter()
            .map(|o| json!({ "rule": &*o.rule, "effect": o.effect.as_str() }))
            .collect();
        let mut value = json!({
            "time": format_rfc3339(self.time),
            "effect": self.effect.as_str(),
            "rule": self.rule.as_deref(),
            "reason": self.reason,
            "reason_code": self.reason_code,
            "audit": self.audit,
            "policy_revision": self.revision.as_deref(),
            "grant": self.grant.as_deref(),
            "peer_id": self.peer_id.as_ref().map(ToString::to_string),
            "issuer": self.issuer.as_deref(),
            "subject": self.subject.as_deref(),
            "method": self.method,
            "path": self.path,
            "host": self.host,
            "request_id": self.request_id,
            "dry_run": self.dry_run,
            "dry_run_outcomes": outcomes,
            "errors": self.errors,
        });
        if dropped > 0 {
            value["dropped_before"] = json!(dropped);
        }
        value
    }
}
