//! Attacks on what decides allow or deny: trailing-slash and host confusions that slip a
//! request past a deny rule.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use support::*;
use zt_core::{ConditionError, Principal, Reason, RulePolicy};

/// Everything is allowed except what the deny rules name.
fn allow_all_but(deny: &str) -> RulePolicy {
    policy(&format!(
        r#"
        [[rule]]
        name = "everything"
        effect = "allow"
        anyone = true
        paths = ["/*"]

        [[rule]]
        name = "blocked"
        effect = "deny"
        anyone = true
        {deny}
        "#
    ))
}

fn denied_by_blocked(policy: &RulePolicy, path: &str) -> bool {
    let decision = ask("GET", path, Principal::default()).decide(policy);
    !decision.is_allowed() && decision.rule.as_deref() == Some("blocked")
}

#[test]
fn a_deny_rule_on_an_exact_path_also_denies_it_with_a_trailing_slash() {
    let policy = allow_all_but(r#"paths = ["/admin"]"#);
    for path in ["/admin", "/admin/", "//admin//", "/x/../admin/", "/admin/."] {
        assert!(denied_by_blocked(&policy, path), "{path}");
    }
    assert!(
        ask("GET", "/admin/x", Principal::default())
            .decide(&policy)
            .is_allowed()
    );
}

#[test]
fn a_deny_rule_on_a_wildcard_path_also_denies_it_with_a_trailing_slash() {
    let policy = allow_all_but(r#"paths = ["/users/{id}/delete"]"#);
    assert!(denied_by_blocked(&policy, "/users/7/delete"));
    assert!(denied_by_blocked(&policy, "/users/7/delete/"));
    assert!(
        ask("GET", "/users/7", Principal::default())
            .decide(&policy)
            .is_allowed()
    );
}

#[test]
fn a_deny_rule_written_with_a_trailing_slash_also_denies_the_path_without_it() {
    let policy = allow_all_but(r#"paths = ["/admin/"]"#);
    assert!(denied_by_blocked(&policy, "/admin/"));
    assert!(denied_by_blocked(&policy, "/admin"));
}

#[test]
fn a_deny_rule_on_the_root_still_denies_only_the_root() {
    let policy = allow_all_but(r#"paths = ["/"]"#);
    assert!(denied_by_blocked(&policy, "/"));
    assert!(denied_by_blocked(&policy, "//"));
    assert!(
        ask("GET", "/a", Principal::default())
            .decide(&policy)
            .is_allowed()
    );
}

#[test]
fn an_allow_rule_on_an_exact_path_does_not_stretch_to_a_trailing_slash() {
    let policy = policy(
        r#"
        [[rule]]
        name = "health"
        effect = "allow"
        anyone = true
        paths = ["/health"]
        "#,
    );
    assert!(
        ask("GET", "/health", Principal::default())
            .decide(&policy)
            .is_allowed()
    );
    assert!(
        !ask("GET", "/health/", Principal::default())
            .decide(&policy)
            .is_allowed()
    );
}

#[test]
fn a_malformed_host_matches_a_host_deny_rule() {
    let policy = allow_all_but(r#"hosts = ["admin.example.org"]"#);
    for host in [
        "admin.example.org..",
        "user@admin.example.org",
        " admin.example.org",
        "admin.example.org,public.example.org",
        "admin.example.org:443:443",
        "admin.example.org:abc",
        "admin%2Eexample.org",
        "admin.example.org/",
        "admin.example.org\\",
        "[admin.example.org]",
        "admin..example.org",
        ".admin.example.org",
        "",
    ] {
        let decision = ask("GET", "/x", Principal::default())
            .host(host)
            .decide(&policy);
        assert!(!decision.is_allowed(), "{host:?} was allowed");
        assert_eq!(decision.rule.as_deref(), Some("blocked"), "{host:?}");
        assert!(
            matches!(decision.reason, Reason::ConditionError(_)),
            "{host:?}: {decision}"
        );
        assert!(
            decision
                .errors
                .iter()
                .any(|e| matches!(e.error, ConditionError::MalformedHost)),
            "{host:?}: {:?}",
            decision.errors
        );
    }
}

#[test]
fn well_formed_hosts_are_judged_by_name_not_refused() {
    let policy = allow_all_but(r#"hosts = ["admin.example.org"]"#);
    for host in [
        "admin.example.org",
        "ADMIN.example.org.",
        "admin.example.org.:443",
    ] {
        assert!(
            !ask("GET", "/x", Principal::default())
                .host(host)
                .decide(&policy)
                .is_allowed()
        );
    }
    for host in [
        "public.example.org",
        "public.example.org:8443",
        "[::1]:443",
        "10.0.0.1",
        "x_y.example.org:",
    ] {
        let decision = ask("GET", "/x", Principal::default())
            .host(host)
            .decide(&policy);
        assert!(decision.is_allowed(), "{host:?}: {decision}");
    }
}

#[test]
fn a_malformed_host_never_matches_a_host_allow_rule() {
    let policy = policy(
        r#"
        [[rule]]
        name = "api"
        effect = "allow"
        anyone = true
        hosts = ["api.example.org", "*.example.org"]
        "#,
    );
    assert!(
        ask("GET", "/", Principal::default())
            .host("api.example.org:8443")
            .decide(&policy)
            .is_allowed()
    );
    for host in [
        "api.example.org:abc",
        "api.example.org:443:443",
        "a..example.org",
        "api.example.org:123456",
    ] {
        let decision = ask("GET", "/", Principal::default())
            .host(host)
            .decide(&policy);
        assert!(!decision.is_allowed(), "{host:?} was allowed");
    }
}

#[test]
fn a_deny_rule_naming_a_sub_delimiter_is_not_bypassed_by_escaping_it() {
    let policy = allow_all_but(r#"paths = ["/users/root@example.org", "/v1/jobs:purge"]"#);
    for path in [
        "/users/root@example.org",
        "/users/root%40example.org",
        "/users/root%40example.org/",
        "/v1/jobs%3Apurge",
        "/v1/jobs%3apurge",
    ] {
        assert!(denied_by_blocked(&policy, path), "{path}");
    }
}

#[test]
fn a_path_pattern_with_an_escaped_sub_delimiter_is_refused_at_load() {
    let error = RulePolicy::from_toml(
        r#"
        [[rule]]
        name = "x"
        effect = "deny"
        anyone = true
        paths = ["/users/root%40example.org"]
        "#,
    );
    assert!(
        error.is_err(),
        "an escaped `@` has a raw spelling that would slip past"
    );
}

#[test]
fn a_case_variant_of_an_extension_method_a_rule_names_is_denied() {
    let policy = policy(
        r#"
        [[rule]]
        name = "everything"
        effect = "allow"
        anyone = true

        [[rule]]
        name = "no-purge"
        effect = "deny"
        anyone = true
        methods = ["PURGE", "PROPFIND"]
        "#,
    );
    for method in ["purge", "Purge", "pURGE", "propfind"] {
        let decision = ask(method, "/cache", Principal::default()).decide(&policy);
        assert!(!decision.is_allowed(), "{method} was allowed: {decision}");
        assert_eq!(decision.reason, Reason::NonCanonicalMethod, "{method}");
    }
    assert!(
        !ask("PURGE", "/cache", Principal::default())
            .decide(&policy)
            .is_allowed()
    );
    assert!(
        ask("GET", "/cache", Principal::default())
            .decide(&policy)
            .is_allowed()
    );
    assert!(
        ask("REPORT", "/cache", Principal::default())
            .decide(&policy)
            .is_allowed()
    );
}

#[test]
fn a_type_mismatch_in_contains_on_the_audience_list_makes_a_deny_rule_match() {
    let policy = allow_all_but(r#"when = [{ claim = "aud", contains = 5 }]"#);
    let caller = from_subject("alice", &[], serde_json::json!({}));
    let decision = ask("GET", "/x", caller).decide(&policy);
    assert!(!decision.is_allowed(), "{decision}");
    assert!(
        matches!(decision.reason, Reason::ConditionError(_)),
        "{decision}"
    );
}

mod arbitrary_hosts {
    use proptest::prelude::*;

    use super::support::*;
    use zt_core::Principal;

    /// Near spellings of `api.example.org`, with ports and stray characters.
    const NEAR_HOST: &str =
        "[aA]?[pP]?[iI]?[.]{0,2}(example|EXAMPLE)?[.]?(org)?[.]{0,2}[:@, %/\\[\\]0-9]{0,4}";

    proptest! {
        #[test]
        fn only_a_spelling_of_the_named_host_is_allowed(
            host in NEAR_HOST,
        ) {
            let policy = policy(
                r#"
                [[rule]]
                name = "api"
                effect = "allow"
                anyone = true
                hosts = ["api.example.org"]
                "#,
            );
            let decision = ask("GET", "/", Principal::default()).host(&host).decide(&policy);
            if decision.is_allowed() {
                let lower = host.to_ascii_lowercase();
                let (name, port) = lower.split_once(':').unwrap_or((&lower, ""));
                let named = matches!(name, "api.example.org" | "api.example.org.");
                let digits = port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit());
                prop_assert!(named && digits, "{}", host);
            }
        }
    }
}

fn with_role_claims(role_claims: &str, deny_roles: &str) -> RulePolicy {
    policy(&format!(
        r#"
        [policy]
        role_claims = {role_claims}

        [[rule]]
        name = "everything"
        effect = "allow"
        anyone = true

        [[rule]]
        name = "blocked"
        effect = "deny"
        roles = {deny_roles}
        "#
    ))
}

#[test]
fn a_role_claim_named_by_json_pointer_is_read_by_a_deny_rule() {
    let policy = with_role_claims(r#"["/realm_access/roles"]"#, r#"["suspended"]"#);
    let suspended = serde_json::json!({ "realm_access": { "roles": ["suspended"] } });
    let decision = ask("GET", "/x", from_subject("mallory", &[], suspended)).decide(&policy);
    assert!(!decision.is_allowed(), "{decision}");
    assert_eq!(decision.rule.as_deref(), Some("blocked"));
    let fine = serde_json::json!({ "realm_access": { "roles": ["reader"] } });
    assert!(
        ask("GET", "/x", from_subject("alice", &[], fine))
            .decide(&policy)
            .is_allowed()
    );
}

#[test]
fn a_role_claim_of_the_wrong_type_makes_a_deny_rule_on_roles_match() {
    let policy = with_role_claims(r#"["groups"]"#, r#"["suspended"]"#);
    let odd = serde_json::json!({ "groups": { "suspended": true } });
    let decision = ask("GET", "/x", from_subject("mallory", &[], odd)).decide(&policy);
    assert!(!decision.is_allowed(), "{decision}");
    assert!(
        matches!(decision.reason, Reason::ConditionError(_)),
        "{decision}"
    );
    for fine in [serde_json::json!({}), serde_json::json!({ "groups": null })] {
        let decision = ask("GET", "/x", from_subject("alice", &[], fine)).decide(&policy);
        assert!(decision.is_allowed(), "{decision}");
    }
}

#[test]
fn a_deny_rule_on_get_also_denies_head_which_routers_serve_with_the_get_handler() {
    let policy = policy(
        r#"
        [[rule]]
        name = "everything"
        effect = "allow"
        anyone = true

        [[rule]]
        name = "blocked"
        effect = "deny"
        anyone = true
        methods = ["GET"]
        paths = ["/secret"]
        "#,
    );
    for method in ["GET", "HEAD"] {
        let decision = ask(method, "/secret", Principal::default()).decide(&policy);
        assert!(!decision.is_allowed(), "{method}: {decision}");
        assert_eq!(decision.rule.as_deref(), Some("blocked"), "{method}");
    }
    assert!(
        ask("POST", "/secret", Principal::default())
            .decide(&policy)
            .is_allowed()
    );
}

#[test]
fn an_allow_rule_on_get_does_not_stretch_to_head() {
    let policy = policy(
        r#"
        [[rule]]
        name = "read"
        effect = "allow"
        anyone = true
        methods = ["GET"]
        "#,
    );
    assert!(
        ask("GET", "/x", Principal::default())
            .decide(&policy)
            .is_allowed()
    );
    assert!(
        !ask("HEAD", "/x", Principal::default())
            .decide(&policy)
            .is_allowed()
    );
}

#[test]
fn a_deny_rule_on_a_path_also_denies_its_case_variants() {
    let policy = allow_all_but(r#"paths = ["/admin/*", "/api/{v}/Users/delete"]"#);
    for path in [
        "/admin",
        "/ADMIN",
        "/Admin/x",
        "/aDmIn/",
        "/api/v1/users/DELETE",
        "/API/v1/USERS/delete/",
    ] {
        assert!(denied_by_blocked(&policy, path), "{path}");
    }
    assert!(
        ask("GET", "/administrator", Principal::default())
            .decide(&policy)
            .is_allowed()
    );
}

#[test]
fn an_allow_rule_on_a_path_matches_only_its_own_case() {
    let policy = policy(
        r#"
        [[rule]]
        name = "docs"
        effect = "allow"
        anyone = true
        paths = ["/Docs/*"]
        "#,
    );
    assert!(
        ask("GET", "/Docs/a", Principal::default())
            .decide(&policy)
            .is_allowed()
    );
    assert!(
        !ask("GET", "/docs/a", Principal::default())
            .decide(&policy)
            .is_allowed()
    );
    assert!(
        !ask("GET", "/DOCS/a", Principal::default())
            .decide(&policy)
            .is_allowed()
    );
}

#[test]
fn contains_compares_numbers_by_value_not_by_spelling() {
    let policy = allow_all_but(r#"when = [{ claim = "clearance", contains = 1 }]"#);
    for levels in [
        serde_json::json!([1]),
        serde_json::json!([1.0]),
        serde_json::json!([2, 1.0]),
    ] {
        let caller = from_subject("mallory", &[], serde_json::json!({ "clearance": levels }));
        assert!(denied_by_blocked_as(&policy, caller), "{levels}");
    }
    let caller = from_subject("alice", &[], serde_json::json!({ "clearance": [2] }));
    assert!(ask("GET", "/x", caller).decide(&policy).is_allowed());
}

fn denied_by_blocked_as(policy: &RulePolicy, caller: Principal) -> bool {
    let decision = ask("GET", "/x", caller).decide(policy);
    !decision.is_allowed() && decision.rule.as_deref() == Some("blocked")
}

#[test]
fn a_star_where_no_wildcard_exists_is_refused_at_load_not_matched_as_text() {
    // `methods = ["*"]` on a deny rule would match only a method spelled `*`: a deny rule
    // that silently never fires.
    for key in ["methods", "roles", "issuers", "subjects"] {
        let text =
            format!("[[rule]]\nname = \"x\"\neffect = \"deny\"\nanyone = true\n{key} = [\"*\"]\n");
        match RulePolicy::from_toml(&text) {
            Err(zt_core::PolicyError::Invalid { kind, line, .. }) => {
                assert!(
                    matches!(kind, zt_core::PolicyErrorKind::NeverMatches(_)),
                    "{key}: {kind}"
                );
                assert_eq!(line, 5, "{key}");
            }
            other => panic!("{key} = [\"*\"] loaded: {other:?}"),
        }
    }
}

#[test]
fn a_wildcard_host_pattern_over_an_ip_literal_is_refused_at_load() {
    let text = "[[rule]]\nname = \"x\"\neffect = \"deny\"\nanyone = true\nhosts = [\"*.[::1]\"]\n";
    assert!(
        RulePolicy::from_toml(text).is_err(),
        "`*.[::1]` can never match a host"
    );
}
