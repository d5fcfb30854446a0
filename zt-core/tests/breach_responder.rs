//! Responder: each trigger quarantines and releases; memory stays bounded under a flood of
//! distinct bad principals.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod breach_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use breach_support::{ISSUER, caller, clock, peer, workload};
use zt_core::{
    Clock, Decision, Principal, Quarantine, Reason, Responder, ResponderConfig, RevocationList,
    RevocationOrigin, RevocationTarget, SecurityEvent, Trigger,
};

const ORDERS: &str = "spiffe://example.org/ns/prod/sa/orders";
const BILLING: &str = "spiffe://example.org/ns/prod/sa/billing";
const QUARANTINE: Duration = Duration::from_secs(300);

fn deny() -> Decision {
    Decision::deny(Reason::NoRuleMatched)
}

/// A responder with a threshold of 3 denies in 10 s, and the quarantines it reported.
fn responder(
    config: ResponderConfig,
) -> (Responder, Arc<RevocationList>, Arc<Mutex<Vec<Quarantine>>>) {
    let revocations = Arc::new(RevocationList::new());
    let paged = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&paged);
    let responder = Responder::new(Arc::clone(&revocations), config)
        .on_quarantine(move |q| sink.lock().unwrap().push(q.clone()));
    (responder, revocations, paged)
}

fn config() -> ResponderConfig {
    ResponderConfig::default()
        .deny_threshold(3, Duration::from_secs(10))
        .quarantine_for(QUARANTINE)
}

#[test]
fn deny_threshold_quarantines_the_subject_and_releases_it_after_the_quarantine() {
    let (responder, revocations, paged) = responder(config());
    let clock = clock();
    let alice = caller(ORDERS, 0x11, "alice", "jti-1");

    responder.observe(&alice, &deny(), clock.now());
    responder.observe(&alice, &deny(), clock.now());
    assert!(
        revocations.check(&alice, clock.now()).is_none(),
        "two denies are below three"
    );
    responder.observe(&alice, &deny(), clock.now());

    let hit = revocations.check(&alice, clock.now()).expect("quarantined");
    assert_eq!(hit.origin, RevocationOrigin::Quarantine);
    assert_eq!(hit.target, RevocationTarget::subject(ISSUER, "alice"));
    let paged = paged.lock().unwrap();
    assert_eq!(paged.len(), 1);
    assert_eq!(paged[0].trigger, Trigger::DenyThreshold { denies: 3 });
    assert_eq!(paged[0].until, clock.now() + QUARANTINE);
    assert!(paged[0].recorded);

    clock.advance(QUARANTINE);
    assert!(
        revocations.check(&alice, clock.now()).is_none(),
        "released at expiry"
    );
}

#[test]
fn denies_spread_wider_than_the_window_do_not_quarantine() {
    let (responder, revocations, paged) = responder(config());
    let clock = clock();
    let bob = workload(BILLING);
    for _ in 0..10 {
        responder.observe(&bob, &deny(), clock.now());
        clock.advance(Duration::from_secs(6));
    }
    assert!(revocations.check(&bob, clock.now()).is_none());
    assert!(paged.lock().unwrap().is_empty());
}

#[test]
fn peer_without_token_is_quarantined_by_spiffe_id() {
    let (responder, revocations, _) = responder(config());
    let clock = clock();
    let bob = workload(BILLING);
    for _ in 0..3 {
        responder.observe(&bob, &deny(), clock.now());
    }
    let hit = revocations.check(&bob, clock.now()).unwrap();
    assert_eq!(
        hit.target,
        RevocationTarget::SpiffeId(BILLING.parse().unwrap())
    );
}

#[test]
fn allows_anonymous_denies_and_revoked_denies_are_not_counted() {
    let (responder, revocations, paged) = responder(config());
    let clock = clock();
    let alice = caller(ORDERS, 0x11, "alice", "jti-1");
    let allow = Decision::allow("read", Reason::AllowedByRule);
    let revoked = Decision::deny(Reason::Revoked("subject x revoked".into()));
    for _ in 0..10 {
        responder.observe(&alice, &allow, clock.now());
        responder.observe(&alice, &revoked, clock.now());
        responder.observe(&Principal::default(), &deny(), clock.now());
    }
    assert!(revocations.is_empty());
    assert!(paged.lock().unwrap().is_empty());
    assert_eq!(responder.tracked_principals(), 0);
}

#[test]
fn released_principal_starts_afresh() {
    let (responder, revocations, paged) = responder(config());
    let clock = clock();
    let bob = workload(BILLING);
    for _ in 0..3 {
        responder.observe(&bob, &deny(), clock.now());
    }
    let target = RevocationTarget::SpiffeId(BILLING.parse().unwrap());
    assert!(responder.release(&target).is_some());
    assert!(revocations.check(&bob, clock.now()).is_none());

    responder.observe(&bob, &deny(), clock.now());
    assert!(
        revocations.check(&bob, clock.now()).is_none(),
        "count was reset"
    );
    assert_eq!(paged.lock().unwrap().len(), 1);
}

#[test]
fn bound_token_over_a_mismatched_certificate_quarantines_token_and_peer() {
    let (responder, revocations, paged) = responder(config());
    let clock = clock();
    let event = SecurityEvent::BoundTokenMismatch {
        issuer: ISSUER.into(),
        subject: "alice".into(),
        token_id: Some("jti-1".into()),
        peer: Some(peer(BILLING, 0x22)),
    };
    responder.report(event, clock.now());

    let with_token = caller(ORDERS, 0x11, "alice", "jti-1");
    let hit = revocations.check(&with_token, clock.now()).unwrap();
    assert_eq!(hit.target, RevocationTarget::token_id(ISSUER, "jti-1"));
    assert!(
        revocations.check(&workload(BILLING), clock.now()).is_some(),
        "peer too"
    );
    assert!(
        revocations
            .check(&caller(ORDERS, 0x11, "alice", "jti-2"), clock.now())
            .is_none()
    );
    assert_eq!(
        paged.lock().unwrap()[0].trigger,
        Trigger::BoundTokenMismatch
    );
    assert_eq!(paged.lock().unwrap()[0].targets.len(), 2);

    clock.advance(QUARANTINE);
    assert!(revocations.check(&with_token, clock.now()).is_none());
    assert!(revocations.check(&workload(BILLING), clock.now()).is_none());
}

#[test]
fn bound_token_mismatch_can_be_switched_off() {
    let mut config = config();
    config.quarantine_on_bound_token_mismatch = false;
    let (responder, revocations, _) = responder(config);
    let event = SecurityEvent::BoundTokenMismatch {
        issuer: ISSUER.into(),
        subject: "alice".into(),
        token_id: None,
        peer: None,
    };
    responder.report(event, clock().now());
    assert!(revocations.is_empty());
}

#[test]
fn token_id_seen_from_two_peers_quarantines_the_token_once() {
    let (responder, revocations, paged) = responder(config());
    let clock = clock();
    let allow = Decision::allow("read", Reason::AllowedByRule);
    let from_orders = caller(ORDERS, 0x11, "alice", "jti-1");
    let from_billing = caller(BILLING, 0x22, "alice", "jti-1");

    responder.observe(&from_orders, &allow, clock.now());
    responder.observe(&from_orders, &allow, clock.now());
    assert!(revocations.is_empty(), "same peer twice is fine");

    responder.observe(&from_billing, &allow, clock.now());
    let hit = revocations.check(&from_orders, clock.now()).unwrap();
    assert_eq!(hit.target, RevocationTarget::token_id(ISSUER, "jti-1"));
    responder.observe(&from_billing, &allow, clock.now());
    assert_eq!(paged.lock().unwrap().len(), 1, "reported once");
    assert_eq!(paged.lock().unwrap()[0].trigger, Trigger::TokenReplay);

    clock.advance(QUARANTINE);
    assert!(revocations.check(&from_orders, clock.now()).is_none());
}

#[test]
fn reported_token_replay_quarantines_and_releases() {
    let (responder, revocations, _) = responder(config());
    let clock = clock();
    let event = SecurityEvent::TokenReplay {
        issuer: ISSUER.into(),
        token_id: "jti-5".into(),
    };
    responder.report(event, clock.now());
    let holder = caller(ORDERS, 0x11, "alice", "jti-5");
    assert!(revocations.check(&holder, clock.now()).is_some());
    clock.advance(QUARANTINE);
    assert!(revocations.check(&holder, clock.now()).is_none());
}

#[test]
fn ten_thousand_distinct_bad_principals_stay_within_the_bounds() {
    let config = config().max_tracked(1_024, 1_024);
    let (responder, revocations, paged) = responder(config);
    let clock = clock();
    let allow = Decision::allow("read", Reason::AllowedByRule);
    for i in 0..10_000 {
        let bad = caller(ORDERS, 0x11, &format!("bad-{i}"), &format!("jti-{i}"));
        responder.observe(&bad, &deny(), clock.now());
        responder.observe(&bad, &allow, clock.now());
        assert!(responder.tracked_principals() <= 1_024);
    }
    assert!(responder.tracked_tokens() <= 1_024);
    assert!(revocations.is_empty() && paged.lock().unwrap().is_empty());
}

#[test]
fn quarantines_of_ten_thousand_principals_stay_within_the_revocation_capacity() {
    let revocations = Arc::new(RevocationList::with_capacity(1_024));
    let config = ResponderConfig::default().deny_threshold(1, Duration::from_secs(10));
    let not_contained = Arc::new(Mutex::new(0));
    let counter = Arc::clone(&not_contained);
    let responder = Responder::new(Arc::clone(&revocations), config).on_quarantine(move |q| {
        if !q.recorded {
            *counter.lock().unwrap() += 1;
        }
    });
    let clock = clock();
    for i in 0..10_000 {
        let bad = workload(&format!("spiffe://example.org/bad/{i}"));
        responder.observe(&bad, &deny(), clock.now());
    }
    let recorded = revocations.runtime_len();
    assert!((512..=1_024).contains(&recorded), "{recorded} entries");
    assert_eq!(
        *not_contained.lock().unwrap(),
        10_000 - recorded,
        "refusals are reported"
    );
    assert_eq!(responder.tracked_principals(), 0);
}

#[test]
fn repeat_offender_survives_a_flood_of_one_off_principals() {
    let config = ResponderConfig::default()
        .deny_threshold(20, Duration::from_secs(600))
        .max_tracked(256, 256);
    let (responder, revocations, _) = responder(config);
    let clock = clock();
    let mallory = workload(BILLING);
    for _ in 0..19 {
        responder.observe(&mallory, &deny(), clock.now());
    }
    for i in 0..10_000 {
        let one_off = workload(&format!("spiffe://example.org/flood/{i}"));
        responder.observe(&one_off, &deny(), clock.now());
    }
    assert!(responder.tracked_principals() <= 256);
    responder.observe(&mallory, &deny(), clock.now());
    assert!(revocations.check(&mallory, clock.now()).is_some());
}
