use super::matcher::{HostPattern, PathPattern, PeerPattern};
use crate::{SpiffeId, normalize_path};

fn path_matches(pattern: &str, path: &str) -> bool {
    let pattern = PathPattern::parse(pattern).unwrap();
    pattern.matches(&normalize_path(path).unwrap())
}

#[test]
fn exact_path_patterns_match_only_that_path() {
    assert!(path_matches("/health", "/health"));
    assert!(!path_matches("/health", "/health/"));
    assert!(!path_matches("/health", "/healthz"));
    assert!(!path_matches("/health", "/health/x"));
    assert!(path_matches("/", "/"));
    assert!(!path_matches("/", "/a"));
}

#[test]
fn prefix_patterns_match_the_prefix_and_everything_below() {
    assert!(path_matches("/orders/*", "/orders"));
    assert!(path_matches("/orders/*", "/orders/"));
    assert!(path_matches("/orders/*", "/orders/1/items"));
    assert!(!path_matches("/orders/*", "/ordersx"));
    assert!(!path_matches("/orders/*", "/order"));
    assert!(path_matches("/*", "/anything/at/all"));
}

#[test]
fn segment_wildcards_match_one_non_empty_segment() {
    assert!(path_matches("/orders/{id}", "/orders/42"));
    assert!(!path_matches("/orders/{id}", "/orders/"));
    assert!(!path_matches("/orders/{id}", "/orders"));
    assert!(!path_matches("/orders/{id}", "/orders/42/items"));
    assert!(path_matches("/orders/{id}/items/*", "/orders/42/items/7"));
}

#[test]
fn malformed_path_patterns_are_refused() {
    for bad in [
        "orders",
        "/a*",
        "/a/*/b",
        "/a//b",
        "/a/../b",
        "/a/./b",
        "/{}",
        "/{a-b}",
        "/a;x",
        "/%2f",
        "/%7e",
        "/a%2F",
        "/**",
        "/items/:id",
        "/:id/x",
    ] {
        assert!(PathPattern::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn peer_patterns_match_exact_ids_domains_and_prefixes() {
    let id: SpiffeId = "spiffe://example.org/ns/prod/sa/web".parse().unwrap();
    let other: SpiffeId = "spiffe://example.org/ns/production/sa/web".parse().unwrap();
    let foreign: SpiffeId = "spiffe://evil.org/ns/prod/sa/web".parse().unwrap();
    let prefix = PeerPattern::parse("spiffe://example.org/ns/prod/*").unwrap();
    assert!(prefix.matches(&id));
    assert!(!prefix.matches(&other));
    assert!(!prefix.matches(&foreign));
    let domain = PeerPattern::parse("spiffe://EXAMPLE.org/*").unwrap();
    assert!(domain.matches(&id) && domain.matches(&other) && !domain.matches(&foreign));
    let exact = PeerPattern::parse("spiffe://example.org/ns/prod/sa/web").unwrap();
    assert!(exact.matches(&id) && !exact.matches(&other));
}

#[test]
fn bare_trust_domain_ids_are_refused_as_peer_patterns() {
    assert!(PeerPattern::parse("spiffe://example.org").is_err());
    assert!(PeerPattern::parse("spiffe://example.org/a/*/b").is_err());
    assert!(PeerPattern::parse("https://example.org/*").is_err());
}

#[test]
fn hosts_match_case_insensitively_ignoring_port_and_trailing_dot() {
    let exact = HostPattern::parse("api.example.org").unwrap();
    for host in [
        "api.example.org",
        "API.Example.ORG",
        "api.example.org:8443",
        "api.example.org.",
    ] {
        assert!(exact.matches(host), "{host}");
    }
    assert!(exact.matches("api.example.org.:443"));
    assert!(!exact.matches("api.example.org.."));
    assert!(!exact.matches("xapi.example.org"));
    let wildcard = HostPattern::parse("*.example.org").unwrap();
    assert!(wildcard.matches("a.EXAMPLE.org:80"));
    assert!(!wildcard.matches("example.org"));
    assert!(!wildcard.matches("evilexample.org"));
}

#[test]
fn host_patterns_with_ports_or_dots_are_refused() {
    for bad in [
        "",
        "api.example.org:80",
        "api.example.org.",
        "a b",
        "*.",
        "*",
    ] {
        assert!(HostPattern::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn ipv6_hosts_keep_their_colons() {
    let v6 = HostPattern::parse("[::1]").unwrap();
    assert!(v6.matches("[::1]:8080"));
    assert!(v6.matches("[::1]"));
}

mod index_agrees_with_a_linear_scan {
    use std::sync::Arc;
    use std::time::{Duration, UNIX_EPOCH};

    use http::Method;
    use proptest::prelude::*;

    use super::super::RulePolicy;
    use super::super::index::RuleIndex;
    use crate::{AccessRequest, Policy, Principal, normalize_path};

    const METHODS: [&str; 4] = [
        "",
        "methods = [\"GET\"]",
        "methods = [\"POST\", \"DELETE\"]",
        "methods = [\"PURGE\"]",
    ];
    const PATHS: [&str; 10] = [
        "",
        "paths = [\"/a\"]",
        "paths = [\"/a/*\"]",
        "paths = [\"/a/{x}\", \"/b/c\"]",
        "paths = [\"/*\"]",
        "paths = [\"/{x}/c\"]",
        "paths = [\"/\"]",
        "paths = [\"/b/*\", \"/c\"]",
        "paths = [\"/c/\", \"/a/{x}/\"]",
        "paths = [\"/B/*\", \"/a/X\"]",
    ];
    const REQUEST_METHODS: [&str; 8] = [
        "GET", "POST", "DELETE", "PUT", "PURGE", "get", "purge", "Purge",
    ];
    const REQUEST_PATHS: [&str; 15] = [
        "/", "/a", "/a/b", "/a/", "/b/c", "/c/c", "/c", "/d/e/f", "/c/", "/a/b/", "/b/c/", "/A/",
        "/b/C", "/B/c", "/a/x",
    ];

    fn rule() -> impl Strategy<Value = String> {
        (0..METHODS.len(), 0..PATHS.len(), any::<bool>(), 0..5u8).prop_map(|(m, p, deny, mode)| {
            let effect = if deny { "deny" } else { "allow" };
            let dry_run = if mode == 0 { "dry_run = true" } else { "" };
            format!(
                "effect = \"{effect}\"\nanyone = true\n{}\n{}\n{dry_run}\n",
                METHODS[m], PATHS[p]
            )
        })
    }

    fn policy_text() -> impl Strategy<Value = String> {
        proptest::collection::vec(rule(), 0..12).prop_map(|rules| {
            rules
                .iter()
                .enumerate()
                .map(|(i, body)| format!("[[rule]]\nname = \"r{i}\"\n{body}"))
                .collect()
        })
    }

    proptest! {
        #[test]
        fn for_every_request(
            text in policy_text(),
            m in 0..REQUEST_METHODS.len(),
            p in 0..REQUEST_PATHS.len(),
        ) {
            let indexed = RulePolicy::from_toml(&text).unwrap();
            let linear = RulePolicy {
                index: Arc::new(RuleIndex::linear(&indexed.rules)),
                ..indexed.clone()
            };
            let method = Method::from_bytes(REQUEST_METHODS[m].as_bytes()).unwrap();
            let path = normalize_path(REQUEST_PATHS[p]).unwrap();
            let principal = Principal::default();
            let now = UNIX_EPOCH + Duration::from_secs(1_000);
            let request = AccessRequest::new(&method, &path, &principal, now);
            prop_assert_eq!(indexed.evaluate(&request), linear.evaluate(&request));
        }

        #[test]
        fn a_catch_all_deny_rule_denies_every_request(
            text in policy_text(),
            m in 0..REQUEST_METHODS.len(),
            p in 0..REQUEST_PATHS.len(),
        ) {
            let deny_all = "[[rule]]\nname = \"deny-all\"\neffect = \"deny\"\nanyone = true\n";
            let text = format!("{text}{deny_all}");
            let policy = RulePolicy::from_toml(&text).unwrap();
            let method = Method::from_bytes(REQUEST_METHODS[m].as_bytes()).unwrap();
            let path = normalize_path(REQUEST_PATHS[p]).unwrap();
            let principal = Principal::default();
            let now = UNIX_EPOCH + Duration::from_secs(1_000);
            let decision = policy.evaluate(&AccessRequest::new(&method, &path, &principal, now));
            prop_assert!(!decision.is_allowed());
        }
    }
}
