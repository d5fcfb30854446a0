//! Device posture: each source produces the attributes it vouches for, and a signed header
//! that cannot be trusted is an error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod breach_support;

use std::sync::Arc;

use breach_support::{ISSUER, caller, clock, workload};
use http::Method;
use serde_json::json;
use zt_core::{
    AccessRequest, Attributes, ClaimsPosture, Clock, Policy, PostureContext, PostureSource,
    PostureSources, Principal, RulePolicy, StaticPosture, Subject, apply_posture, normalize_path,
};

const LAPTOP: &str = "spiffe://example.org/ns/ops/sa/laptop-7";

fn with_claims(claims: serde_json::Value) -> Principal {
    let mut principal = caller(LAPTOP, 0x11, "alice", "jti-1");
    let mut subject = Subject::clone(principal.subject.as_deref().unwrap());
    subject.claims = claims.as_object().unwrap().clone();
    principal.subject = Some(Arc::new(subject));
    principal
}

fn attributes_of(source: &dyn PostureSource, principal: &Principal) -> Attributes {
    let context = PostureContext {
        principal,
        headers: None,
        now: clock().now(),
    };
    source.attributes(&context).unwrap()
}

#[test]
fn claims_posture_copies_named_claims_pointers_and_objects() {
    let principal = with_claims(json!({
        "device_managed": true,
        "device": {"os_patch": 20261101, "encrypted": true},
    }));
    let source = ClaimsPosture::new()
        .claim("device_managed", "device.managed")
        .claim("/device/os_patch", "device.patch")
        .object("device", "device")
        .claim("missing", "device.missing");
    let attributes = attributes_of(&source, &principal);
    assert_eq!(attributes.get("device.managed"), Some(&json!(true)));
    assert_eq!(attributes.get("device.patch"), Some(&json!(20261101)));
    assert_eq!(attributes.get("device.os_patch"), Some(&json!(20261101)));
    assert_eq!(attributes.get("device.encrypted"), Some(&json!(true)));
    assert_eq!(attributes.get("device.missing"), None);
}

#[test]
fn claims_posture_without_a_token_gives_nothing() {
    let source = ClaimsPosture::new().claim("device_managed", "device.managed");
    assert!(attributes_of(&source, &workload(LAPTOP)).is_empty());
}

#[test]
fn static_posture_matches_peer_and_subject_and_subject_wins() {
    let source = StaticPosture::new()
        .peer(
            LAPTOP.parse().unwrap(),
            [
                ("device.managed", json!(true)),
                ("device.os_patch", json!(1)),
            ]
            .into_iter()
            .collect(),
        )
        .subject(
            ISSUER,
            "alice",
            [("device.os_patch", 2)].into_iter().collect(),
        );

    let both = attributes_of(&source, &caller(LAPTOP, 0x11, "alice", "j"));
    assert_eq!(both.get("device.managed"), Some(&json!(true)));
    assert_eq!(both.get("device.os_patch"), Some(&json!(2)));

    let stranger = caller("spiffe://example.org/other", 0x22, "bob", "j");
    assert!(attributes_of(&source, &stranger).is_empty());
}

#[test]
fn sources_apply_in_order_and_merge_into_the_principal() {
    let first = StaticPosture::new().peer(
        LAPTOP.parse().unwrap(),
        [("device.managed", false)].into_iter().collect(),
    );
    let second = ClaimsPosture::new().claim("device_managed", "device.managed");
    let sources = PostureSources::new().with(first).with(second);

    let mut principal = with_claims(json!({"device_managed": true}));
    principal.attributes.insert("team", "payments");
    apply_posture(&sources, &mut principal, None, clock().now()).unwrap();
    assert_eq!(
        principal.attributes.get("device.managed"),
        Some(&json!(true))
    );
    assert_eq!(principal.attributes.get("team"), Some(&json!("payments")));
}

const MANAGED_DEVICES_ONLY: &str = r#"
[[rule]]
name = "managed-devices"
effect = "allow"
authenticated = true
methods = ["GET"]
paths = ["/orders/*"]
when = [
  { attribute = "device.managed", equals = true },
  { attribute = "device.os_patch", ge = 20261101 },
]
"#;

#[test]
fn posture_conditions_allow_a_managed_patched_device_and_deny_the_others() {
    let policy = RulePolicy::from_toml(MANAGED_DEVICES_ONLY).unwrap();
    let path = normalize_path("/orders/42").unwrap();
    let device = |managed: bool, patch: u64| -> Attributes {
        [
            ("device.managed", json!(managed)),
            ("device.os_patch", json!(patch)),
        ]
        .into_iter()
        .collect()
    };
    let posture = StaticPosture::new()
        .peer(
            "spiffe://example.org/d/good".parse().unwrap(),
            device(true, 20261115),
        )
        .peer(
            "spiffe://example.org/d/stale".parse().unwrap(),
            device(true, 20250101),
        )
        .peer(
            "spiffe://example.org/d/byod".parse().unwrap(),
            device(false, 20261201),
        );

    let cases = [
        ("good", true),
        ("stale", false),
        ("byod", false),
        ("unknown", false),
    ];
    for (name, allowed) in cases {
        let mut principal = workload(&format!("spiffe://example.org/d/{name}"));
        let now = clock().now();
        apply_posture(&posture, &mut principal, None, now).unwrap();
        let request = AccessRequest::new(&Method::GET, &path, &principal, now);
        assert_eq!(policy.evaluate(&request).is_allowed(), allowed, "{name}");
    }
}

#[cfg(feature = "signed-posture")]
mod signed {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use http::{HeaderMap, HeaderValue};
    use zt_core::{PostureError, PostureKey, SignedHeaderPosture, sign_posture_hmac};

    const SECRET: [u8; 32] = [7; 32];

    fn now_secs() -> u64 {
        clock().now().duration_since(UNIX_EPOCH).unwrap().as_secs()
    }

    fn statement(sub: &str, iat: u64, exp: u64) -> serde_json::Value {
        json!({"sub": sub, "iat": iat, "exp": exp,
               "attributes": {"device.managed": true, "device.os_patch": 20261101}})
    }

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-zt-posture", HeaderValue::from_str(value).unwrap());
        headers
    }

    fn evaluate(
        source: &SignedHeaderPosture,
        principal: &Principal,
        headers: &HeaderMap,
    ) -> Result<Attributes, PostureError> {
        let context = PostureContext {
            principal,
            headers: Some(headers),
            now: clock().now(),
        };
        source.attributes(&context)
    }

    fn hmac_source() -> SignedHeaderPosture {
        SignedHeaderPosture::new(PostureKey::hmac_sha256(&SECRET).unwrap())
    }

    #[test]
    fn valid_hmac_statement_for_the_peer_gives_its_attributes() {
        let now = now_secs();
        let value = sign_posture_hmac(&SECRET, &statement(LAPTOP, now, now + 60)).unwrap();
        let attributes = evaluate(&hmac_source(), &workload(LAPTOP), &headers(&value)).unwrap();
        assert_eq!(attributes.get("device.managed"), Some(&json!(true)));
        assert_eq!(attributes.get("device.os_patch"), Some(&json!(20261101)));
    }

    #[test]
    fn signed_posture_lets_the_policy_allow_a_managed_device() {
        let policy = RulePolicy::from_toml(MANAGED_DEVICES_ONLY).unwrap();
        let path = normalize_path("/orders/42").unwrap();
        let now = now_secs();
        let value = sign_posture_hmac(&SECRET, &statement(LAPTOP, now, now + 60)).unwrap();

        let decide = |headers: &HeaderMap| {
            let mut principal = workload(LAPTOP);
            apply_posture(&hmac_source(), &mut principal, Some(headers), clock().now()).unwrap();
            let request = AccessRequest::new(&Method::GET, &path, &principal, clock().now());
            policy.evaluate(&request).is_allowed()
        };
        assert!(decide(&headers(&value)));
        assert!(!decide(&HeaderMap::new()), "no posture, no access");
    }

    #[test]
    fn statement_bound_to_the_token_subject_is_accepted() {
        let now = now_secs();
        let value = sign_posture_hmac(&SECRET, &statement("alice", now, now + 60)).unwrap();
        let principal = caller("spiffe://example.org/gw", 0x11, "alice", "j");
        assert!(evaluate(&hmac_source(), &principal, &headers(&value)).is_ok());
    }

    #[test]
    fn missing_header_gives_no_attributes() {
        let attributes = evaluate(&hmac_source(), &workload(LAPTOP), &HeaderMap::new()).unwrap();
        assert!(attributes.is_empty());
    }

    #[test]
    fn statement_signed_with_another_key_is_refused() {
        let now = now_secs();
        let value = sign_posture_hmac(&[8; 32], &statement(LAPTOP, now, now + 60)).unwrap();
        let got = evaluate(&hmac_source(), &workload(LAPTOP), &headers(&value));
        assert_eq!(got.unwrap_err(), PostureError::BadSignature);
    }

    #[test]
    fn tampered_payload_is_refused() {
        let now = now_secs();
        let value = sign_posture_hmac(&SECRET, &statement(LAPTOP, now, now + 60)).unwrap();
        let (_, tag) = value.split_once('.').unwrap();
        let forged = URL_SAFE_NO_PAD.encode(statement(LAPTOP, now, now + 120).to_string());
        let got = evaluate(
            &hmac_source(),
            &workload(LAPTOP),
            &headers(&format!("{forged}.{tag}")),
        );
        assert_eq!(got.unwrap_err(), PostureError::BadSignature);
    }

    #[test]
    fn expired_statement_is_refused() {
        let now = now_secs();
        let value = sign_posture_hmac(&SECRET, &statement(LAPTOP, now - 120, now)).unwrap();
        let got = evaluate(&hmac_source(), &workload(LAPTOP), &headers(&value));
        assert_eq!(got.unwrap_err(), PostureError::Expired);
    }

    #[test]
    fn statement_living_too_long_is_refused() {
        let now = now_secs();
        let value = sign_posture_hmac(&SECRET, &statement(LAPTOP, now, now + 3600)).unwrap();
        let got = evaluate(&hmac_source(), &workload(LAPTOP), &headers(&value));
        assert_eq!(
            got.unwrap_err(),
            PostureError::LifetimeTooLong { max_secs: 300 }
        );
    }

    #[test]
    fn statement_issued_in_the_future_is_refused() {
        let now = now_secs();
        let value = sign_posture_hmac(&SECRET, &statement(LAPTOP, now + 120, now + 180)).unwrap();
        let got = evaluate(&hmac_source(), &workload(LAPTOP), &headers(&value));
        assert_eq!(got.unwrap_err(), PostureError::NotYetValid);
    }

    #[test]
    fn statement_for_another_caller_is_refused() {
        let now = now_secs();
        let other = "spiffe://example.org/ns/ops/sa/laptop-8";
        let value = sign_posture_hmac(&SECRET, &statement(other, now, now + 60)).unwrap();
        let got = evaluate(&hmac_source(), &workload(LAPTOP), &headers(&value));
        assert_eq!(got.unwrap_err(), PostureError::WrongCaller);
    }

    #[test]
    fn attribute_outside_the_prefix_is_refused() {
        let now = now_secs();
        let statement = json!({"sub": LAPTOP, "iat": now, "exp": now + 60,
                               "attributes": {"role": "admin"}});
        let value = sign_posture_hmac(&SECRET, &statement).unwrap();
        let got = evaluate(&hmac_source(), &workload(LAPTOP), &headers(&value));
        assert!(matches!(got, Err(PostureError::AttributeNotAllowed(name)) if name == "role"));
    }

    #[test]
    fn malformed_and_repeated_headers_are_refused() {
        let source = hmac_source();
        for bad in ["", "abc", "a.b.c", "!!!.???"] {
            let got = evaluate(&source, &workload(LAPTOP), &headers(bad));
            assert!(
                matches!(got, Err(PostureError::Malformed(_))),
                "{bad:?}: {got:?}"
            );
        }
        let now = now_secs();
        let value = sign_posture_hmac(&SECRET, &statement(LAPTOP, now, now + 60)).unwrap();
        let mut twice = headers(&value);
        twice.append("x-zt-posture", HeaderValue::from_str(&value).unwrap());
        let got = evaluate(&source, &workload(LAPTOP), &twice);
        assert_eq!(got.unwrap_err(), PostureError::Malformed("header repeated"));
    }

    #[test]
    fn ed25519_statement_verifies_with_the_agent_public_key() {
        let pair = Ed25519KeyPair::generate().unwrap();
        let public: [u8; 32] = pair.public_key().as_ref().try_into().unwrap();
        let source = SignedHeaderPosture::new(PostureKey::ed25519(public));

        let now = now_secs();
        let payload = URL_SAFE_NO_PAD.encode(statement(LAPTOP, now, now + 60).to_string());
        let signature = URL_SAFE_NO_PAD.encode(pair.sign(payload.as_bytes()).as_ref());
        let value = format!("{payload}.{signature}");
        let attributes = evaluate(&source, &workload(LAPTOP), &headers(&value)).unwrap();
        assert_eq!(attributes.get("device.managed"), Some(&json!(true)));

        let other = Ed25519KeyPair::generate().unwrap();
        let forged = URL_SAFE_NO_PAD.encode(other.sign(payload.as_bytes()).as_ref());
        let got = evaluate(
            &source,
            &workload(LAPTOP),
            &headers(&format!("{payload}.{forged}")),
        );
        assert_eq!(got.unwrap_err(), PostureError::BadSignature);
    }

    #[test]
    fn short_hmac_secret_is_refused_and_key_debug_is_redacted() {
        assert_eq!(
            PostureKey::hmac_sha256(&[1; 16]).unwrap_err(),
            PostureError::KeyTooShort { min: 32 }
        );
        let debug = format!("{:?}", hmac_source());
        assert!(
            debug.contains("<redacted>") && !debug.contains("7, 7"),
            "{debug}"
        );
    }

    #[test]
    fn failed_posture_leaves_the_principal_unchanged() {
        let mut principal = workload(LAPTOP);
        let value = sign_posture_hmac(&[8; 32], &statement(LAPTOP, 0, 60)).unwrap();
        let at = UNIX_EPOCH + Duration::from_secs(30);
        let got = apply_posture(&hmac_source(), &mut principal, Some(&headers(&value)), at);
        assert_eq!(got.unwrap_err(), PostureError::BadSignature);
        assert!(principal.attributes.is_empty());
    }
}
