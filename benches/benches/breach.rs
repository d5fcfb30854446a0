//! The request path with revocation and the responder beside the same path without them.
//!
//! Every case decides one allowed request with a small rule policy. `baseline` is the policy
//! alone; `with_breach/*` adds `RevocationList::check` before it and `Responder::observe`
//! after it, with an empty list and with 10,000 entries of every kind that do not match.
//! The hit path (a revoked caller) and the deny path of the responder are measured on their
//! own.
//!
//! `cargo bench -p zt-benches --bench breach`

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use criterion::{Criterion, criterion_group, criterion_main};
use http::Method;
use zt_core::{
    AccessRequest, CertThumbprint, Decision, NormalizedPath, PeerIdentity, Policy, Principal,
    Reason, Responder, ResponderConfig, Revocation, RevocationList, RevocationTarget, RulePolicy,
    Subject, normalize_path,
};

const ISSUER: &str = "https://idp.example.org";

const POLICY: &str = r#"
[[rule]]
name = "orders-read"
effect = "allow"
peers = ["spiffe://example.org/ns/prod/*"]
methods = ["GET"]
paths = ["/orders/{id}"]

[[rule]]
name = "admin"
effect = "deny"
anyone = true
paths = ["/admin/*"]
"#;

fn principal(peer: &str, sub: &str, jti: &str) -> Principal {
    let far = UNIX_EPOCH + Duration::from_secs(4_000_000_000);
    Principal {
        peer: Some(Arc::new(PeerIdentity {
            spiffe_id: peer.parse().unwrap(),
            thumbprint: CertThumbprint([0x11; 32]),
            not_after: far,
        })),
        subject: Some(Arc::new(Subject {
            issuer: Arc::from(ISSUER),
            subject: Arc::from(sub),
            audiences: vec!["orders".into()],
            roles: vec![],
            expires_at: far,
            token_id: Some(jti.into()),
            claims: serde_json::Map::new(),
        })),
        ..Principal::default()
    }
}

/// 10,000 entries, 2,500 of each kind, none matching the benchmarked caller.
fn crowded_list(now: SystemTime) -> RevocationList {
    let list = RevocationList::new();
    for i in 0..2_500u32 {
        let id = format!("spiffe://example.org/ns/other/sa/w{i}")
            .parse()
            .unwrap();
        let mut thumbprint = [0u8; 32];
        thumbprint[..4].copy_from_slice(&i.to_be_bytes());
        let targets = [
            RevocationTarget::SpiffeId(id),
            RevocationTarget::Thumbprint(CertThumbprint(thumbprint)),
            RevocationTarget::token_id(ISSUER, format!("jti-{i}")),
            RevocationTarget::subject(ISSUER, format!("user-{i}")),
        ];
        for target in targets {
            list.revoke(Revocation::new(target, "bench"), now).unwrap();
        }
    }
    list
}

/// One request through revocation, policy and responder, as the tower layer runs it.
fn guarded(
    list: &RevocationList,
    responder: &Responder,
    policy: &RulePolicy,
    path: &NormalizedPath,
    principal: &Principal,
    now: SystemTime,
) -> Decision {
    let decision = match list.check(principal, now) {
        Some(revocation) => revocation.to_decision(),
        None => policy.evaluate(&AccessRequest::new(&Method::GET, path, principal, now)),
    };
    responder.observe(principal, &decision, now);
    decision
}

fn bench_breach(c: &mut Criterion) {
    let policy = RulePolicy::from_toml(POLICY).unwrap();
    let path = normalize_path("/orders/42").unwrap();
    let caller = principal("spiffe://example.org/ns/prod/sa/web", "alice", "jti-alice");
    let now = SystemTime::now();
    let mut group = c.benchmark_group("breach");

    group.bench_function("baseline/policy_only", |b| {
        b.iter(|| {
            let request = AccessRequest::new(&Method::GET, &path, &caller, now);
            let decision = policy.evaluate(black_box(&request));
            assert!(decision.is_allowed());
            decision
        })
    });

    for (name, list) in [
        ("empty_list", RevocationList::new()),
        ("10k_entries", crowded_list(now)),
    ] {
        let list = Arc::new(list);
        let responder = Responder::new(Arc::clone(&list), ResponderConfig::default());
        group.bench_function(format!("with_breach/{name}"), |b| {
            b.iter(|| {
                let decision = guarded(&list, &responder, &policy, &path, black_box(&caller), now);
                assert!(decision.is_allowed());
                decision
            })
        });
    }

    let empty = RevocationList::new();
    group.bench_function("revocation_check/miss_empty", |b| {
        b.iter(|| assert!(empty.check(black_box(&caller), now).is_none()))
    });
    let list = crowded_list(now);
    group.bench_function("revocation_check/miss_10k", |b| {
        b.iter(|| assert!(list.check(black_box(&caller), now).is_none()))
    });
    let revoked = principal("spiffe://example.org/ns/prod/sa/web", "user-7", "jti-x");
    group.bench_function("revocation_check/hit_10k", |b| {
        b.iter(|| list.check(black_box(&revoked), now).unwrap())
    });

    // Denies of 1,000 rotating principals, one second apart: each is seen again after its
    // 10 s window has passed, so none reaches the threshold.
    let list = Arc::new(RevocationList::new());
    let config = ResponderConfig::default().deny_threshold(20, Duration::from_secs(10));
    let responder = Responder::new(list, config);
    let deniers: Vec<Principal> = (0..1_000)
        .map(|i| principal("spiffe://example.org/ns/dev/sa/x", &format!("u{i}"), "j"))
        .collect();
    let deny = Decision::deny(Reason::NoRuleMatched);
    let mut tick = 0u64;
    group.bench_function("responder_observe/deny", |b| {
        b.iter(|| {
            tick += 1;
            let caller = &deniers[(tick % 1_000) as usize];
            responder.observe(black_box(caller), &deny, now + Duration::from_secs(tick));
        })
    });

    group.finish();
}

criterion_group!(benches, bench_breach);
criterion_main!(benches);
