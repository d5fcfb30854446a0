//! The rule language: who, what, when, deny wins, default deny, fail-closed conditions,
//! dry-run and audit rules.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use serde_json::json;
use support::{ask, from_peer, from_subject, policy};
use zt_core::{ConditionError, Effect, Principal, Reason};

const WEB: &str = "spiffe://example.org/ns/prod/sa/web";

const ORDERS: &str = r#"
[[rule]]
name = "orders-read"
effect = "allow"
peers = ["spiffe://example.org/ns/prod/*"]
methods = ["GET", "HEAD"]
paths = ["/orders", "/orders/{id}"]

[[rule]]
name = "orders-write"
effect = "allow"
authenticated = true
roles = ["orders.write"]
methods = ["POST", "DELETE"]
paths = ["/orders/*"]

[[rule]]
name = "no-admin"
effect = "deny"
anyone = true
paths = ["/orders/admin/*"]
"#;

#[test]
fn an_empty_policy_denies_everything() {
    let empty = policy("");
    let decision = ask("GET", "/", from_peer(WEB)).decide(&empty);
    assert_eq!(decision.effect, Effect::Deny);
    assert_eq!(decision.reason, Reason::NoRuleMatched);
    assert_eq!(decision.rule, None);
}

#[test]
fn a_matching_allow_rule_allows_and_names_itself() {
    let p = policy(ORDERS);
    let decision = ask("GET", "/orders/42", from_peer(WEB)).decide(&p);
    assert!(decision.is_allowed());
    assert_eq!(decision.rule.as_deref(), Some("orders-read"));
    assert_eq!(decision.reason, Reason::AllowedByRule);
    assert_eq!(decision.revision.as_deref(), Some(p.revision()));
}

#[test]
fn a_request_no_rule_matches_is_denied() {
    let p = policy(ORDERS);
    for (method, path) in [
        ("GET", "/orders/42/items"),
        ("PUT", "/orders/1"),
        ("GET", "/x"),
    ] {
        let decision = ask(method, path, from_peer(WEB)).decide(&p);
        assert_eq!(decision.reason, Reason::NoRuleMatched, "{method} {path}");
    }
}

#[test]
fn a_matching_deny_rule_wins_over_allow_rules() {
    let p = policy(ORDERS);
    let caller = from_subject("alice", &["orders.write"], json!({}));
    let decision = ask("POST", "/orders/admin/purge", caller).decide(&p);
    assert_eq!(decision.effect, Effect::Deny);
    assert_eq!(decision.rule.as_deref(), Some("no-admin"));
    assert_eq!(decision.reason, Reason::DeniedByRule);
}

#[test]
fn deny_wins_whatever_the_rule_order() {
    let p = policy(
        r#"
        [[rule]]
        name = "allow-all"
        effect = "allow"
        anyone = true
        [[rule]]
        name = "deny-secret"
        effect = "deny"
        anyone = true
        paths = ["/secret"]
        "#,
    );
    assert!(
        ask("GET", "/public", Principal::default())
            .decide(&p)
            .is_allowed()
    );
    let decision = ask("GET", "/secret", Principal::default()).decide(&p);
    assert_eq!(decision.rule.as_deref(), Some("deny-secret"));
}

#[test]
fn a_foreign_trust_domain_does_not_match_a_peer_prefix() {
    let p = policy(ORDERS);
    let decision = ask(
        "GET",
        "/orders",
        from_peer("spiffe://evil.org/ns/prod/sa/web"),
    )
    .decide(&p);
    assert!(!decision.is_allowed());
    let decision = ask(
        "GET",
        "/orders",
        from_peer("spiffe://example.org/ns/dev/sa/web"),
    )
    .decide(&p);
    assert!(!decision.is_allowed());
}

#[test]
fn anonymous_callers_only_match_anyone_rules() {
    let p = policy(ORDERS);
    let decision = ask("DELETE", "/orders/1", Principal::default()).decide(&p);
    assert_eq!(decision.reason, Reason::NoRuleMatched);
}

#[test]
fn missing_roles_on_an_otherwise_matching_allow_rule_is_insufficient_roles() {
    let p = policy(ORDERS);
    let caller = from_subject("alice", &["orders.read"], json!({}));
    let decision = ask("DELETE", "/orders/1", caller).decide(&p);
    assert_eq!(decision.effect, Effect::Deny);
    assert_eq!(decision.reason, Reason::InsufficientRoles);
    assert_eq!(decision.rule.as_deref(), Some("orders-write"));
}

#[test]
fn roles_can_come_from_configured_claims() {
    let p = policy(
        r#"
        [policy]
        role_claims = ["groups", "scope"]
        [[rule]]
        name = "admins"
        effect = "allow"
        roles = ["admin"]
        "#,
    );
    let by_group = from_subject("a", &[], json!({ "groups": ["staff", "admin"] }));
    let by_scope = from_subject("b", &[], json!({ "scope": "read admin" }));
    let neither = from_subject("c", &[], json!({ "groups": "staff", "other": ["admin"] }));
    assert!(ask("GET", "/", by_group).decide(&p).is_allowed());
    assert!(ask("GET", "/", by_scope).decide(&p).is_allowed());
    assert_eq!(
        ask("GET", "/", neither).decide(&p).reason,
        Reason::InsufficientRoles
    );
}

#[test]
fn issuer_and_subject_must_both_match() {
    let p = policy(&format!(
        r#"
        [[rule]]
        name = "alice"
        effect = "allow"
        issuers = ["{}"]
        subjects = ["alice"]
        "#,
        support::ISSUER
    ));
    assert!(
        ask("GET", "/", from_subject("alice", &[], json!({})))
            .decide(&p)
            .is_allowed()
    );
    assert!(
        !ask("GET", "/", from_subject("bob", &[], json!({})))
            .decide(&p)
            .is_allowed()
    );
    assert!(!ask("GET", "/", from_peer(WEB)).decide(&p).is_allowed());
}

#[test]
fn trust_domains_match_every_peer_of_the_domain() {
    let p = policy(
        r#"
        [[rule]]
        name = "domain"
        effect = "allow"
        trust_domains = ["Example.org"]
        "#,
    );
    assert!(ask("GET", "/", from_peer(WEB)).decide(&p).is_allowed());
    assert!(
        !ask("GET", "/", from_peer("spiffe://example.com/a"))
            .decide(&p)
            .is_allowed()
    );
}

#[test]
fn lowercase_spellings_of_standard_methods_are_denied() {
    let p = policy(
        r#"
        [[rule]]
        name = "any-method"
        effect = "allow"
        anyone = true
        "#,
    );
    let decision = ask("delete", "/orders/1", from_peer(WEB)).decide(&p);
    assert_eq!(decision.effect, Effect::Deny);
    assert_eq!(decision.reason, Reason::NonCanonicalMethod);
    assert!(
        ask("DELETE", "/orders/1", from_peer(WEB))
            .decide(&p)
            .is_allowed()
    );
    assert!(
        ask("PURGE", "/orders/1", from_peer(WEB))
            .decide(&p)
            .is_allowed()
    );
}

#[test]
fn methods_are_matched_case_sensitively() {
    let p = policy(
        r#"
        [[rule]]
        name = "purge"
        effect = "allow"
        anyone = true
        methods = ["PURGE"]
        "#,
    );
    assert!(ask("PURGE", "/", from_peer(WEB)).decide(&p).is_allowed());
    assert!(!ask("Purge", "/", from_peer(WEB)).decide(&p).is_allowed());
}

const HOSTS: &str = r#"
[[rule]]
name = "api"
effect = "allow"
anyone = true
hosts = ["api.example.org"]

[[rule]]
name = "no-internal"
effect = "deny"
anyone = true
hosts = ["*.internal.example.org"]
"#;

#[test]
fn hosts_match_ignoring_case_port_and_one_trailing_dot() {
    let p = policy(HOSTS);
    for host in ["api.example.org", "API.EXAMPLE.ORG:443", "api.example.org."] {
        assert!(
            ask("GET", "/", from_peer(WEB))
                .host(host)
                .decide(&p)
                .is_allowed(),
            "{host}"
        );
    }
    assert!(
        !ask("GET", "/", from_peer(WEB))
            .host("api.example.org..")
            .decide(&p)
            .is_allowed()
    );
}

#[test]
fn a_missing_host_makes_a_host_deny_rule_match() {
    let p = policy(HOSTS);
    let decision = ask("GET", "/", from_peer(WEB)).decide(&p);
    assert_eq!(decision.effect, Effect::Deny);
    assert_eq!(decision.rule.as_deref(), Some("no-internal"));
    assert!(matches!(decision.reason, Reason::ConditionError(_)));
    assert_eq!(decision.errors[0].error, ConditionError::NoHost);
}

const HEADERS: &str = r#"
[[rule]]
name = "prod-only"
effect = "allow"
anyone = true
headers = { "x-env" = ["prod"] }

[[rule]]
name = "no-debug"
effect = "deny"
anyone = true
headers = { "x-debug" = "*" }
"#;

#[test]
fn a_deny_rule_sees_every_value_of_a_repeated_header() {
    let p = policy(HEADERS);
    let caller = || from_peer(WEB);
    let ok = ask("GET", "/", caller()).header("x-env", "prod");
    assert!(ok.decide(&p).is_allowed());
    let repeated = ask("GET", "/", caller())
        .header("x-env", "prod")
        .header("x-debug", "1");
    assert_eq!(repeated.decide(&p).rule.as_deref(), Some("no-debug"));
}

#[test]
fn an_allow_rule_needs_every_value_of_a_comma_joined_header_listed() {
    let p = policy(HEADERS);
    let joined = ask("GET", "/", from_peer(WEB)).header("x-env", "prod, dev");
    assert!(!joined.decide(&p).is_allowed());
    let repeated = ask("GET", "/", from_peer(WEB))
        .header("x-env", "prod")
        .header("x-env", "dev");
    assert!(!repeated.decide(&p).is_allowed());
    let absent = ask("GET", "/", from_peer(WEB)).no_headers_but_available();
    assert_eq!(absent.decide(&p).reason, Reason::NoRuleMatched);
}

#[test]
fn a_deny_rule_sees_a_value_hidden_in_a_comma_joined_header() {
    let p = policy(
        r#"
        [[rule]]
        name = "no-legacy"
        effect = "deny"
        anyone = true
        headers = { "x-client" = "legacy" }
        [[rule]]
        name = "all"
        effect = "allow"
        anyone = true
        "#,
    );
    let hidden = ask("GET", "/", from_peer(WEB)).header("x-client", "modern,legacy");
    assert_eq!(hidden.decide(&p).rule.as_deref(), Some("no-legacy"));
}

#[test]
fn headers_the_policy_cannot_see_make_a_header_deny_rule_match() {
    let p = policy(HEADERS);
    let decision = ask("GET", "/", from_peer(WEB)).decide(&p);
    assert_eq!(decision.rule.as_deref(), Some("no-debug"));
    assert_eq!(decision.errors[0].error, ConditionError::NoHeaders);
}

#[test]
fn paths_are_matched_after_normalization() {
    let p = policy(ORDERS);
    let caller = from_subject("alice", &["orders.write"], json!({}));
    let sneaky = ask("POST", "/orders/x/../admin/./purge", caller);
    assert_eq!(sneaky.decide(&p).rule.as_deref(), Some("no-admin"));
}

#[test]
fn audit_rules_allow_and_mark_the_decision() {
    let p = policy(
        r#"
        [[rule]]
        name = "break-glass"
        effect = "allow"
        audit = true
        roles = ["oncall"]
        "#,
    );
    let decision = ask("GET", "/", from_subject("alice", &["oncall"], json!({}))).decide(&p);
    assert!(decision.is_allowed());
    assert!(decision.audit);
}

#[test]
fn dry_run_rules_are_recorded_without_deciding() {
    let p = policy(
        r#"
        [[rule]]
        name = "allow-all"
        effect = "allow"
        anyone = true
        [[rule]]
        name = "future-deny"
        effect = "deny"
        dry_run = true
        anyone = true
        paths = ["/legacy/*"]
        "#,
    );
    let decision = ask("GET", "/legacy/x", from_peer(WEB)).decide(&p);
    assert!(decision.is_allowed());
    assert_eq!(decision.rule.as_deref(), Some("allow-all"));
    assert_eq!(decision.dry_run.len(), 1);
    assert_eq!(&*decision.dry_run[0].rule, "future-deny");
    assert_eq!(decision.dry_run[0].effect, Effect::Deny);
    assert!(
        ask("GET", "/new", from_peer(WEB))
            .decide(&p)
            .dry_run
            .is_empty()
    );
}

#[test]
fn a_dry_run_allow_rule_does_not_allow() {
    let p = policy(
        r#"
        [[rule]]
        name = "maybe"
        effect = "allow"
        dry_run = true
        anyone = true
        "#,
    );
    let decision = ask("GET", "/", from_peer(WEB)).decide(&p);
    assert_eq!(decision.reason, Reason::NoRuleMatched);
    assert_eq!(decision.dry_run[0].effect, Effect::Allow);
}

#[test]
fn the_revision_comes_from_the_file_or_a_digest() {
    let named = policy("[policy]\nrevision = \"r7\"\n");
    assert_eq!(named.revision(), "r7");
    let a = policy(ORDERS);
    let b = policy(ORDERS);
    let c = policy(HOSTS);
    assert_eq!(a.revision(), b.revision());
    assert_ne!(a.revision(), c.revision());
    assert_eq!(
        a.rule_names().collect::<Vec<_>>(),
        ["orders-read", "orders-write", "no-admin"]
    );
}
