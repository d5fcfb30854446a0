//! Time-bound grants: extra roles until an expiry; decisions say when they used one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::Duration;

use serde_json::json;
use support::{ISSUER, ask, from_peer, from_subject, now, policy};
use zt_core::{Grant, GrantStore, Grantee, PolicyHandle, Reason};

const ADMIN: &str = r#"
[[rule]]
name = "admin"
effect = "allow"
roles = ["orders.admin"]
paths = ["/admin/*"]
"#;

fn grant(id: &str, grantee: Grantee, expires_in: Duration) -> Grant {
    Grant {
        id: id.into(),
        grantee,
        roles: vec!["orders.admin".to_owned()],
        expires_at: now() + expires_in,
        reason: "incident 42".into(),
        approver: "bob".into(),
    }
}

fn alice() -> zt_core::Principal {
    from_subject("alice", &["orders.read"], json!({}))
}

#[test]
fn an_active_grant_adds_its_roles_and_the_decision_says_so() {
    let grants = GrantStore::new();
    let p = policy(ADMIN).with_grants(grants.clone());
    assert_eq!(
        ask("GET", "/admin/x", alice()).decide(&p).reason,
        Reason::InsufficientRoles
    );

    let alice_id = Grantee::subject(ISSUER, "alice");
    grants.insert(grant("g1", alice_id, Duration::from_secs(60)));
    let decision = ask("GET", "/admin/x", alice()).decide(&p);
    assert!(decision.is_allowed());
    assert_eq!(
        decision.to_string(),
        "allow (allowed by rule: admin) via grant g1"
    );
    let used = decision.grant.expect("grant recorded");
    assert_eq!(
        (&*used.id, &*used.approver, &*used.reason),
        ("g1", "bob", "incident 42")
    );
}

#[test]
fn an_expired_grant_does_nothing_and_the_decision_says_grant_expired() {
    let grants = GrantStore::new();
    let p = policy(ADMIN).with_grants(grants.clone());
    grants.insert(grant(
        "g1",
        Grantee::subject(ISSUER, "alice"),
        Duration::from_secs(60),
    ));
    let later = ask("GET", "/admin/x", alice()).at(now() + Duration::from_secs(60));
    let decision = later.decide(&p);
    assert!(!decision.is_allowed());
    assert_eq!(decision.reason, Reason::GrantExpired);
    assert_eq!(decision.grant, None);
}

#[test]
fn grants_are_per_principal() {
    let grants = GrantStore::new();
    let p = policy(ADMIN).with_grants(grants.clone());
    grants.insert(grant(
        "g1",
        Grantee::subject(ISSUER, "alice"),
        Duration::from_secs(60),
    ));
    let bob = from_subject("bob", &[], json!({}));
    assert!(!ask("GET", "/admin/x", bob).decide(&p).is_allowed());
    let other_issuer = Grantee::subject("https://other.example", "carol");
    grants.insert(grant("g2", other_issuer, Duration::from_secs(60)));
    let carol = from_subject("carol", &[], json!({}));
    assert!(!ask("GET", "/admin/x", carol).decide(&p).is_allowed());
}

#[test]
fn grants_can_elevate_a_workload_by_its_spiffe_id() {
    let grants = GrantStore::new();
    let p = policy(ADMIN).with_grants(grants.clone());
    let id = "spiffe://example.org/ns/ops/sa/migrator";
    grants.insert(grant(
        "g1",
        Grantee::Peer(id.parse().unwrap()),
        Duration::from_secs(60),
    ));
    assert!(
        ask("GET", "/admin/x", from_peer(id))
            .decide(&p)
            .is_allowed()
    );
}

#[test]
fn a_removed_grant_stops_counting_at_once() {
    let grants = GrantStore::new();
    let p = policy(ADMIN).with_grants(grants.clone());
    grants.insert(grant(
        "g1",
        Grantee::subject(ISSUER, "alice"),
        Duration::from_secs(60),
    ));
    assert!(grants.remove("g1"));
    assert!(!ask("GET", "/admin/x", alice()).decide(&p).is_allowed());
}

#[test]
fn a_rule_satisfied_without_a_grant_is_preferred() {
    let grants = GrantStore::new();
    let p = policy(
        r#"
        [[rule]]
        name = "via-grant"
        effect = "allow"
        roles = ["orders.admin"]
        [[rule]]
        name = "plain"
        effect = "allow"
        roles = ["orders.read"]
        "#,
    )
    .with_grants(grants.clone());
    grants.insert(grant(
        "g1",
        Grantee::subject(ISSUER, "alice"),
        Duration::from_secs(60),
    ));
    let decision = ask("GET", "/", alice()).decide(&p);
    assert_eq!(decision.rule.as_deref(), Some("plain"));
    assert_eq!(decision.grant, None);
}

#[test]
fn a_reload_keeps_the_grant_store() {
    let grants = GrantStore::new();
    let handle = PolicyHandle::new(policy("").with_grants(grants.clone()));
    handle.reload(ADMIN).unwrap();
    grants.insert(grant(
        "g1",
        Grantee::subject(ISSUER, "alice"),
        Duration::from_secs(60),
    ));
    assert!(ask("GET", "/admin/x", alice()).decide(&handle).is_allowed());
}

#[test]
fn purging_drops_only_expired_grants() {
    let grants = GrantStore::new();
    grants.insert(grant(
        "short",
        Grantee::subject(ISSUER, "a"),
        Duration::from_secs(10),
    ));
    grants.insert(grant(
        "long",
        Grantee::subject(ISSUER, "a"),
        Duration::from_secs(100),
    ));
    grants.purge_expired(now() + Duration::from_secs(50));
    let left: Vec<_> = grants.grants().iter().map(|g| g.id.to_string()).collect();
    assert_eq!(left, ["long"]);
}
