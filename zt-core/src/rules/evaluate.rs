//! Deciding one request: enforced deny rules first, then allow rules, dry-run rules on the
//! side, and the most useful reason when nothing allows.

use std::sync::Arc;

use super::RulePolicy;
use super::compile::STANDARD_METHODS;
use super::index::Bucket;
use super::rule::{Context, Outcome, Rule};
use crate::grant::Grant;
use crate::{AccessRequest, ConditionError, Decision, DryRunOutcome, Effect, Reason, RuleError};

/// The closest an allow rule came when none matched, in order of usefulness to the caller.
#[derive(Debug, Default)]
struct NearMiss<'p> {
    grant_expired: Option<&'p Rule>,
    missing_roles: Option<&'p Rule>,
    unknown: Option<(&'p Rule, ConditionError)>,
}

pub(super) fn decide(policy: &RulePolicy, request: &AccessRequest<'_>) -> Decision {
    let method = request.method.as_str();
    let mut errors = Vec::new();
    let decision = if is_lowercase_standard(method) || policy.index.is_case_variant(method) {
        Decision::deny(Reason::NonCanonicalMethod)
    } else {
        let bucket = policy.index.candidates(method, request.path);
        let cx = Context {
            grants: policy.grants.as_ref(),
            role_claims: &policy.role_claims,
        };
        let mut decision = enforce(policy, bucket, request, cx, &mut errors);
        decision.dry_run = dry_run(policy, bucket, request, cx, &mut errors);
        decision
    };
    Decision {
        revision: Some(policy.revision.clone()),
        errors,
        ..decision
    }
}

/// Whether `method` spells a standard method in other than uppercase (`delete`).
fn is_lowercase_standard(method: &str) -> bool {
    let standard = method.len() <= 7 && method.bytes().any(|b| b.is_ascii_lowercase());
    standard
        && STANDARD_METHODS
            .iter()
            .any(|m| m.eq_ignore_ascii_case(method))
}

fn rules<'p>(policy: &'p RulePolicy, at: &[u32]) -> impl Iterator<Item = &'p Rule> {
    at.iter().filter_map(|&i| policy.rules.get(i as usize))
}

fn enforce(
    policy: &RulePolicy,
    bucket: &Bucket,
    request: &AccessRequest<'_>,
    cx: Context<'_>,
    errors: &mut Vec<RuleError>,
) -> Decision {
    // Any matching deny rule wins; one that cannot be evaluated counts as matching.
    for rule in rules(policy, &bucket.deny) {
        match rule.evaluate(request, cx) {
            Outcome::Match { grant } => return decided(rule, Reason::DeniedByRule, grant),
            Outcome::Unknown(error) => {
                errors.push(rule_error(rule, error.clone()));
                return decided(rule, Reason::ConditionError(error.to_string()), None);
            }
            Outcome::NoMatch | Outcome::MissingRoles { .. } => {}
        }
    }

    let mut allowed: Option<(&Rule, Option<Arc<Grant>>)> = None;
    let mut near = NearMiss::default();
    for rule in rules(policy, &bucket.allow) {
        match rule.evaluate(request, cx) {
            // A rule that needs no grant is the better answer; stop looking.
            Outcome::Match { grant: None } => {
                allowed = Some((rule, None));
                break;
            }
            Outcome::Match { grant } => {
                allowed.get_or_insert((rule, grant));
            }
            Outcome::MissingRoles {
                grant_expired: true,
            } => {
                near.grant_expired.get_or_insert(rule);
            }
            Outcome::MissingRoles {
                grant_expired: false,
            } => {
                near.missing_roles.get_or_insert(rule);
            }
            Outcome::Unknown(error) => {
                errors.push(rule_error(rule, error.clone()));
                near.unknown.get_or_insert((rule, error));
            }
            Outcome::NoMatch => {}
        }
    }
    match allowed {
        Some((rule, grant)) => decided(rule, Reason::AllowedByRule, grant),
        None => near.into_denial(),
    }
}

impl NearMiss<'_> {
    fn into_denial(self) -> Decision {
        let (rule, reason) = if let Some(rule) = self.grant_expired {
            (rule, Reason::GrantExpired)
        } else if let Some(rule) = self.missing_roles {
            (rule, Reason::InsufficientRoles)
        } else if let Some((rule, error)) = self.unknown {
            (rule, Reason::ConditionError(error.to_string()))
        } else {
            return Decision::deny(Reason::NoRuleMatched);
        };
        let mut decision = Decision::deny(reason);
        decision.rule = Some(rule.name.clone());
        decision
    }
}

/// A decision taken by `rule`, with the rule's effect.
fn decided(rule: &Rule, reason: Reason, grant: Option<Arc<Grant>>) -> Decision {
    let mut decision = Decision::new(rule.effect, Some(rule.name.clone()), reason);
    decision.audit = rule.audit;
    decision.grant = grant.map(|g| g.to_use());
    decision
}

fn rule_error(rule: &Rule, error: ConditionError) -> RuleError {
    RuleError {
        rule: rule.name.clone(),
        error,
    }
}

/// What each matching dry-run rule would have decided.
fn dry_run(
    policy: &RulePolicy,
    bucket: &Bucket,
    request: &AccessRequest<'_>,
    cx: Context<'_>,
    errors: &mut Vec<RuleError>,
) -> Vec<DryRunOutcome> {
    let mut outcomes = Vec::new();
    for rule in rules(policy, &bucket.dry_run) {
        let matched = match rule.evaluate(request, cx) {
            Outcome::Match { .. } => true,
            Outcome::Unknown(error) => {
                errors.push(rule_error(rule, error));
                rule.effect == Effect::Deny
            }
            Outcome::NoMatch | Outcome::MissingRoles { .. } => false,
        };
        if matched {
            outcomes.push(DryRunOutcome {
                rule: rule.name.clone(),
                effect: rule.effect,
            });
        }
    }
    outcomes
}
