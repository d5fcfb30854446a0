//! Decision time of a 100-rule `RulePolicy`, beside raw baselines measured in the same run:
//! a linear scan of the same 100 rules as plain strings, and a single `HashMap` lookup.
//!
//! Budget (DESIGN.md): under 1 microsecond median for 100 rules.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::SystemTime;

use criterion::{Criterion, criterion_group, criterion_main};
use http::Method;
use zt_core::{
    AccessRequest, CertThumbprint, PeerIdentity, Policy, Principal, RulePolicy, Subject,
    normalize_path,
};

const SERVICES: usize = 25;

/// 100 rules: per service, a read rule by peer prefix, a write rule by role, a deny on an
/// admin subtree and a host-bound health rule.
fn policy_text() -> String {
    let mut text = String::from("[policy]\nrevision = \"bench\"\n");
    for s in 0..SERVICES {
        text.push_str(&format!(
            r#"
[[rule]]
name = "svc{s}-read"
effect = "allow"
peers = ["spiffe://example.org/ns/svc{s}/*"]
methods = ["GET", "HEAD"]
paths = ["/svc{s}/items", "/svc{s}/items/{{id}}"]

[[rule]]
name = "svc{s}-write"
effect = "allow"
roles = ["svc{s}.write"]
methods = ["POST", "PUT", "DELETE"]
paths = ["/svc{s}/items/*"]

[[rule]]
name = "svc{s}-no-admin"
effect = "deny"
anyone = true
paths = ["/svc{s}/admin/*"]

[[rule]]
name = "svc{s}-health"
effect = "allow"
anyone = true
methods = ["GET"]
paths = ["/svc{s}/health"]
hosts = ["svc{s}.example.org"]
"#
        ));
    }
    text
}

/// The same rules as plain strings, for the baseline scan.
struct RawRule {
    methods: Vec<&'static str>,
    prefix: String,
    peer_prefix: Option<String>,
    allow: bool,
}

fn raw_rules() -> Vec<RawRule> {
    let mut rules = Vec::new();
    for s in 0..SERVICES {
        let peer = Some(format!("spiffe://example.org/ns/svc{s}/"));
        rules.push(RawRule {
            methods: vec!["GET", "HEAD"],
            prefix: format!("/svc{s}/items"),
            peer_prefix: peer,
            allow: true,
        });
        rules.push(RawRule {
            methods: vec!["POST", "PUT", "DELETE"],
            prefix: format!("/svc{s}/items/"),
            peer_prefix: None,
            allow: true,
        });
        rules.push(RawRule {
            methods: vec![],
            prefix: format!("/svc{s}/admin/"),
            peer_prefix: None,
            allow: false,
        });
        rules.push(RawRule {
            methods: vec!["GET"],
            prefix: format!("/svc{s}/health"),
            peer_prefix: None,
            allow: true,
        });
    }
    rules
}

/// Deny wins, then any allow: the least a rule engine must do, over strings.
fn linear_scan(rules: &[RawRule], method: &str, path: &str, peer: &str) -> bool {
    let mut allowed = false;
    for rule in rules {
        let method_ok = rule.methods.is_empty() || rule.methods.contains(&method);
        let peer_ok = rule
            .peer_prefix
            .as_deref()
            .is_none_or(|p| peer.starts_with(p));
        if method_ok && peer_ok && path.starts_with(&rule.prefix) {
            if !rule.allow {
                return false;
            }
            allowed = true;
        }
    }
    allowed
}

fn principal() -> Principal {
    let peer = PeerIdentity {
        spiffe_id: "spiffe://example.org/ns/svc24/sa/web"
            .parse()
            .unwrap_or_else(|e| panic!("{e}")),
        thumbprint: CertThumbprint([1; 32]),
        not_after: SystemTime::now(),
    };
    let subject = Subject {
        issuer: "https://idp.example.org".into(),
        subject: "alice".into(),
        audiences: vec!["svc".to_owned()],
        roles: vec!["svc3.write".to_owned()],
        expires_at: SystemTime::now(),
        token_id: None,
        claims: serde_json::Map::new(),
    };
    Principal {
        peer: Some(Arc::new(peer)),
        subject: Some(Arc::new(subject)),
        ..Principal::default()
    }
}

fn bench_policy(c: &mut Criterion) {
    let policy = RulePolicy::from_toml(&policy_text()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(policy.len(), 100);
    let principal = principal();
    let now = SystemTime::now();
    let read = normalize_path("/svc24/items/42").unwrap_or_else(|e| panic!("{e}"));
    let unknown = normalize_path("/nowhere/at/all").unwrap_or_else(|e| panic!("{e}"));
    let write = normalize_path("/svc3/items/7").unwrap_or_else(|e| panic!("{e}"));

    let mut group = c.benchmark_group("policy_100_rules");
    let request = AccessRequest::new(&Method::GET, &read, &principal, now);
    assert!(policy.evaluate(&request).is_allowed());
    group.bench_function("rule_policy/allow_by_peer_last_service", |b| {
        b.iter(|| black_box(&policy).evaluate(black_box(&request)))
    });
    let request = AccessRequest::new(&Method::DELETE, &write, &principal, now);
    assert!(policy.evaluate(&request).is_allowed());
    group.bench_function("rule_policy/allow_by_role", |b| {
        b.iter(|| black_box(&policy).evaluate(black_box(&request)))
    });
    let request = AccessRequest::new(&Method::GET, &unknown, &principal, now);
    assert!(!policy.evaluate(&request).is_allowed());
    group.bench_function("rule_policy/default_deny", |b| {
        b.iter(|| black_box(&policy).evaluate(black_box(&request)))
    });

    let raw = raw_rules();
    let peer = "spiffe://example.org/ns/svc24/sa/web";
    assert!(linear_scan(&raw, "GET", read.as_str(), peer));
    group.bench_function("baseline/linear_scan_strings", |b| {
        b.iter(|| {
            linear_scan(
                black_box(&raw),
                black_box("GET"),
                black_box(read.as_str()),
                peer,
            )
        })
    });
    let table: HashMap<(String, String), bool> = raw
        .iter()
        .flat_map(|r| {
            r.methods
                .iter()
                .map(|m| ((m.to_string(), r.prefix.clone()), r.allow))
        })
        .collect();
    let key = ("GET".to_owned(), "/svc24/items".to_owned());
    group.bench_function("baseline/hashmap_lookup", |b| {
        b.iter(|| table.get(black_box(&key)).copied())
    });
    group.finish();
}

criterion_group!(benches, bench_policy);
criterion_main!(benches);
