//! `when` conditions and validity windows, with fail-closed semantics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use serde_json::json;
use support::{ask, from_peer, from_subject, now, policy};
use zt_core::{Attributes, ConditionError, Effect, Principal, Reason};

fn allow_when(condition: &str) -> zt_core::RulePolicy {
    policy(&format!(
        "[[rule]]\nname = \"r\"\neffect = \"allow\"\nanyone = true\nwhen = [{condition}]\n"
    ))
}

fn deny_when(condition: &str) -> zt_core::RulePolicy {
    policy(&format!(
        "[[rule]]\nname = \"all\"\neffect = \"allow\"\nanyone = true\n\
         [[rule]]\nname = \"d\"\neffect = \"deny\"\nanyone = true\nwhen = [{condition}]\n"
    ))
}

fn with_claims(claims: serde_json::Value) -> Principal {
    from_subject("alice", &[], claims)
}

#[test]
fn equals_compares_strings_numbers_and_booleans() {
    let p = allow_when(r#"{ claim = "tenant", equals = "acme" }"#);
    assert!(
        ask("GET", "/", with_claims(json!({ "tenant": "acme" })))
            .decide(&p)
            .is_allowed()
    );
    assert!(
        !ask("GET", "/", with_claims(json!({ "tenant": "evil" })))
            .decide(&p)
            .is_allowed()
    );
    let p = allow_when(r#"{ claim = "level", equals = 3 }"#);
    assert!(
        ask("GET", "/", with_claims(json!({ "level": 3.0 })))
            .decide(&p)
            .is_allowed()
    );
    let p = allow_when(r#"{ claim = "mfa", equals = true }"#);
    assert!(
        ask("GET", "/", with_claims(json!({ "mfa": true })))
            .decide(&p)
            .is_allowed()
    );
}

#[test]
fn a_missing_claim_makes_an_allow_rule_not_match_and_says_why() {
    let p = allow_when(r#"{ claim = "tenant", equals = "acme" }"#);
    let decision = ask("GET", "/", with_claims(json!({}))).decide(&p);
    assert_eq!(decision.effect, Effect::Deny);
    assert!(matches!(decision.reason, Reason::ConditionError(_)));
    assert_eq!(
        decision.errors[0].error,
        ConditionError::MissingClaim {
            claim: "tenant".into()
        }
    );
}

#[test]
fn a_missing_claim_makes_a_deny_rule_match() {
    let p = deny_when(r#"{ claim = "tenant", equals = "evil" }"#);
    let decision = ask("GET", "/", with_claims(json!({}))).decide(&p);
    assert_eq!(decision.effect, Effect::Deny);
    assert_eq!(decision.rule.as_deref(), Some("d"));
    assert!(matches!(decision.reason, Reason::ConditionError(_)));
}

#[test]
fn no_token_at_all_makes_a_claim_deny_rule_match() {
    let p = deny_when(r#"{ claim = "tenant", equals = "evil" }"#);
    let decision = ask("GET", "/", from_peer("spiffe://example.org/a")).decide(&p);
    assert_eq!(decision.rule.as_deref(), Some("d"));
    assert!(matches!(
        decision.errors[0].error,
        ConditionError::NoSubject { .. }
    ));
}

#[test]
fn a_type_mismatch_makes_a_deny_rule_match_and_an_allow_rule_not() {
    let caller = || with_claims(json!({ "tenant": 42 }));
    let deny = deny_when(r#"{ claim = "tenant", equals = "evil" }"#);
    assert_eq!(ask("GET", "/", caller()).decide(&deny).effect, Effect::Deny);
    let allow = allow_when(r#"{ claim = "tenant", equals = "acme" }"#);
    let decision = ask("GET", "/", caller()).decide(&allow);
    assert_eq!(decision.effect, Effect::Deny);
    assert!(matches!(
        decision.errors[0].error,
        ConditionError::TypeMismatch { .. }
    ));
}

#[test]
fn a_deny_rule_that_definitely_fails_elsewhere_does_not_match_on_an_error() {
    let p = policy(
        r#"
        [[rule]]
        name = "all"
        effect = "allow"
        anyone = true
        [[rule]]
        name = "d"
        effect = "deny"
        anyone = true
        when = [{ claim = "tenant", equals = "evil" }, { attribute = "blocked", equals = true }]
        "#,
    );
    let mut caller = with_claims(json!({}));
    caller.attributes.insert("blocked", false);
    assert!(ask("GET", "/", caller).decide(&p).is_allowed());
}

#[test]
fn one_of_matches_any_listed_value() {
    let p = allow_when(r#"{ claim = "tier", one_of = ["gold", "silver"] }"#);
    assert!(
        ask("GET", "/", with_claims(json!({ "tier": "silver" })))
            .decide(&p)
            .is_allowed()
    );
    assert!(
        !ask("GET", "/", with_claims(json!({ "tier": "bronze" })))
            .decide(&p)
            .is_allowed()
    );
}

#[test]
fn contains_reads_arrays_and_space_separated_strings() {
    let p = allow_when(r#"{ claim = "amr", contains = "mfa" }"#);
    assert!(
        ask("GET", "/", with_claims(json!({ "amr": ["pwd", "mfa"] })))
            .decide(&p)
            .is_allowed()
    );
    assert!(
        !ask("GET", "/", with_claims(json!({ "amr": ["pwd"] })))
            .decide(&p)
            .is_allowed()
    );
    assert!(
        ask("GET", "/", with_claims(json!({ "amr": "pwd mfa" })))
            .decide(&p)
            .is_allowed()
    );
    let decision = ask("GET", "/", with_claims(json!({ "amr": 1 }))).decide(&p);
    assert!(matches!(
        decision.errors[0].error,
        ConditionError::TypeMismatch { .. }
    ));
}

#[test]
fn exists_treats_a_missing_value_as_an_answer() {
    let p = allow_when(r#"{ claim = "act", exists = false }"#);
    assert!(
        ask("GET", "/", with_claims(json!({})))
            .decide(&p)
            .is_allowed()
    );
    assert!(
        !ask("GET", "/", with_claims(json!({ "act": {} })))
            .decide(&p)
            .is_allowed()
    );
    let p = allow_when(r#"{ claim = "act", exists = true }"#);
    assert!(
        ask("GET", "/", with_claims(json!({ "act": {} })))
            .decide(&p)
            .is_allowed()
    );
    assert!(
        ask("GET", "/", with_claims(json!({})))
            .decide(&p)
            .errors
            .is_empty()
    );
}

#[test]
fn numeric_ranges_compare_numbers_and_refuse_other_types() {
    let p = allow_when(r#"{ claim = "acr", ge = 2, lt = 4 }"#);
    for (acr, allowed) in [(1, false), (2, true), (3, true), (4, false)] {
        let caller = with_claims(json!({ "acr": acr }));
        assert_eq!(
            ask("GET", "/", caller).decide(&p).is_allowed(),
            allowed,
            "{acr}"
        );
    }
    let decision = ask("GET", "/", with_claims(json!({ "acr": "3" }))).decide(&p);
    assert!(matches!(
        decision.errors[0].error,
        ConditionError::TypeMismatch { .. }
    ));
}

#[test]
fn json_pointers_reach_nested_claims() {
    let p = allow_when(r#"{ claim = "/realm_access/roles", contains = "admin" }"#);
    let caller = with_claims(json!({ "realm_access": { "roles": ["admin"] } }));
    assert!(ask("GET", "/", caller).decide(&p).is_allowed());
}

#[test]
fn standard_claims_are_read_from_the_subject_fields() {
    let p = allow_when(r#"{ claim = "aud", contains = "orders" }"#);
    assert!(
        ask("GET", "/", with_claims(json!({})))
            .decide(&p)
            .is_allowed()
    );
    let p = allow_when(r#"{ claim = "sub", equals = "alice" }"#);
    assert!(
        ask("GET", "/", with_claims(json!({})))
            .decide(&p)
            .is_allowed()
    );
}

#[test]
fn caller_and_request_attributes_are_read_separately() {
    let p = allow_when(r#"{ attribute = "device.managed", equals = true }"#);
    let mut managed = from_peer("spiffe://example.org/a");
    managed.attributes.insert("device.managed", true);
    assert!(ask("GET", "/", managed).decide(&p).is_allowed());

    let p = allow_when(r#"{ request_attribute = "geo", equals = "eu" }"#);
    let mut request = ask("GET", "/", Principal::default());
    request.attributes = Some(Attributes::from_iter([("geo", "eu")]));
    assert!(request.decide(&p).is_allowed());
    let decision = ask("GET", "/", Principal::default()).decide(&p);
    assert!(matches!(
        decision.errors[0].error,
        ConditionError::MissingAttribute { .. }
    ));
}

#[test]
fn rules_apply_only_inside_their_validity_window() {
    let p = policy(
        r#"
        [[rule]]
        name = "window"
        effect = "allow"
        anyone = true
        not_before = 2026-05-01T00:00:00Z
        not_after = 2026-06-01T02:00:00+02:00
        "#,
    );
    let decide = |t| {
        ask("GET", "/", Principal::default())
            .at(t)
            .decide(&p)
            .is_allowed()
    };
    assert!(!decide(now()));
    assert!(decide(now() - Duration::from_secs(1)));
    assert!(!decide(now() - Duration::from_secs(32 * 86_400)));
}

#[test]
fn large_integers_compare_exactly() {
    let p = allow_when(r#"{ claim = "id", equals = 9007199254740993 }"#);
    let exact = with_claims(json!({ "id": 9_007_199_254_740_993_u64 }));
    let off_by_one = with_claims(json!({ "id": 9_007_199_254_740_992_u64 }));
    assert!(ask("GET", "/", exact).decide(&p).is_allowed());
    assert!(!ask("GET", "/", off_by_one).decide(&p).is_allowed());
}
