//! Adversarial claims, certificate binding (RFC 8705) and the verified-token cache.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, SystemTime};

use common::*;
use serde_json::json;
use zt_core::{CertThumbprint, PeerIdentity};
use zt_token::TokenError;

fn peer(thumbprint: [u8; 32]) -> PeerIdentity {
    PeerIdentity {
        spiffe_id: "spiffe://example.org/ns/prod/sa/billing".parse().unwrap(),
        thumbprint: CertThumbprint(thumbprint),
        not_after: SystemTime::now() + Duration::from_secs(3600),
    }
}

#[test]
fn token_bound_by_an_unsupported_confirmation_method_is_not_accepted_as_bearer() {
    let key = TestKey::es256("ec");
    let (validator, _) = validator(&[&key]);
    let thumb = b64(&[1; 32]);
    let confirmations = [
        json!({ "jkt": thumb }),
        json!({ "X5T#S256": thumb }),
        json!({ "x5t#s256": thumb }),
        json!({ "jwk": { "kty": "OKP", "crv": "Ed25519", "x": thumb } }),
        json!({ "x5t#S256": thumb, "jkt": thumb }),
    ];
    for cnf in confirmations {
        let mut c = claims();
        c["cnf"] = cnf.clone();
        let token = key.token(&c);
        for peer in [None, Some(peer([1; 32])), Some(peer([2; 32]))] {
            let result = now_or_never(validator.validate(&token, peer.as_ref()));
            assert!(result.is_err(), "cnf {cnf} accepted with peer {peer:?}");
        }
    }
}

#[test]
fn padded_or_hex_thumbprints_are_refused() {
    let key = TestKey::es256("ec");
    let (validator, _) = validator(&[&key]);
    let raw = [7u8; 32];
    let padded = format!("{}=", b64(&raw));
    let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    for thumbprint in [padded, hex] {
        let mut c = claims();
        c["cnf"] = json!({ "x5t#S256": thumbprint });
        let result = now_or_never(validator.validate(&key.token(&c), Some(&peer(raw))));
        assert_eq!(
            result.unwrap_err(),
            TokenError::InvalidClaim { claim: "cnf" }
        );
    }
}

#[test]
fn cached_bound_token_is_not_replayable_from_another_peer_or_without_one() {
    let key = TestKey::es256("ec");
    let (validator, _) = validator(&[&key]);
    let mut c = claims();
    c["cnf"] = json!({ "x5t#S256": b64(&[1; 32]) });
    let token = key.token(&c);
    // A failed binding first must not leave the token cached.
    let wrong = now_or_never(validator.validate(&token, Some(&peer([2; 32]))));
    assert_eq!(wrong.unwrap_err(), TokenError::BindingMismatch);
    assert_eq!(validator.cached_tokens(), 0);
    now_or_never(validator.validate(&token, Some(&peer([1; 32])))).unwrap();
    assert_eq!(validator.cached_tokens(), 1);
    let wrong = now_or_never(validator.validate(&token, Some(&peer([2; 32]))));
    assert_eq!(wrong.unwrap_err(), TokenError::BindingMismatch);
    let none = now_or_never(validator.validate(&token, None));
    assert_eq!(none.unwrap_err(), TokenError::BindingWithoutPeer);
}

#[test]
fn numeric_dates_that_are_not_plain_numbers_are_refused() {
    let key = TestKey::es256("ec");
    let (validator, _) = validator(&[&key]);
    let bad = [
        ("exp", json!(-1)),
        ("exp", json!(-0.5)),
        ("exp", json!(1e300)),
        ("exp", json!(u64::MAX)),
        ("exp", json!(i64::MIN)),
        ("exp", json!("1700000300")),
        ("exp", json!(null)),
        ("exp", json!([NOW + 60])),
        ("exp", json!(true)),
        ("iat", json!(-1)),
        ("iat", json!("now")),
        ("nbf", json!({})),
    ];
    for (name, value) in bad {
        let mut c = claims();
        c[name] = value.clone();
        assert!(
            check(&validator, &key.token(&c)).is_err(),
            "{name}: {value}"
        );
    }
}

#[test]
fn fractional_exp_and_lifetime_edges_follow_the_rules() {
    let key = TestKey::es256("ec");
    let (validator, _) = validator(&[&key]);
    let mut c = claims();
    c["exp"] = json!(NOW as f64 + 0.9);
    assert_eq!(
        check(&validator, &key.token(&c)).unwrap_err(),
        TokenError::Expired
    );
    let mut c = claims();
    c["exp"] = json!(NOW + 15 * 60 + 1);
    c.as_object_mut().unwrap().remove("iat");
    assert!(matches!(
        check(&validator, &key.token(&c)).unwrap_err(),
        TokenError::LifetimeTooLong { .. }
    ));
    let mut c = claims();
    c["iat"] = json!(NOW - 10);
    c["exp"] = json!(NOW + 15 * 60);
    assert!(matches!(
        check(&validator, &key.token(&c)).unwrap_err(),
        TokenError::LifetimeTooLong { .. }
    ));
    let mut c = claims();
    c["iat"] = json!(NOW + 1);
    assert_eq!(
        check(&validator, &key.token(&c)).unwrap_err(),
        TokenError::IssuedInFuture
    );
}

#[test]
fn aud_and_iss_shapes_other_than_the_allowed_ones_are_refused() {
    let key = TestKey::es256("ec");
    let (validator, _) = validator(&[&key]);
    let cases = [
        ("aud", json!([])),
        ("aud", json!([AUD, 1])),
        ("aud", json!({ "0": AUD })),
        ("aud", json!(["ORDERS"])),
        ("aud", json!(null)),
        ("iss", json!([ISS])),
        ("iss", json!(format!("{ISS}/"))),
        ("iss", json!(null)),
        ("sub", json!(null)),
        ("sub", json!(["alice"])),
    ];
    for (name, value) in cases {
        let mut c = claims();
        c[name] = value.clone();
        assert!(
            check(&validator, &key.token(&c)).is_err(),
            "{name}: {value}"
        );
    }
    let mut c = claims();
    c["aud"] = json!(["other", AUD]);
    check(&validator, &key.token(&c)).unwrap();
}

#[test]
fn required_claim_given_as_null_counts_as_missing() {
    let key = TestKey::es256("ec");
    let clock = clock();
    let validator = validator_with(issuer(&[&key]).require_claim("tenant"), &clock);
    let mut c = claims();
    c["tenant"] = json!(null);
    assert_eq!(
        check(&validator, &key.token(&c)).unwrap_err(),
        TokenError::MissingClaim {
            claim: "tenant".into()
        }
    );
    c["tenant"] = json!("acme");
    check(&validator, &key.token(&c)).unwrap();
}

#[test]
fn jwt_svid_subjects_that_only_look_like_workload_ids_are_refused() {
    let key = TestKey::es256("jwt");
    let mut bundle = jwks(&[&key]);
    bundle["keys"][0]["use"] = json!("jwt-svid");
    let keys = zt_token::KeySet::from_spiffe_bundle(bundle.to_string().as_bytes()).unwrap();
    let trust_domain: zt_core::TrustDomain = "example.org".parse().unwrap();
    let issuer =
        zt_token::Issuer::jwt_svid(ISS, trust_domain, zt_token::KeySource::from_key_set(keys))
            .audience(AUD)
            .leeway(Duration::ZERO);
    let validator = validator_with(issuer, &clock());
    for sub in [
        "spiffe://example.org/ns/prod/sa/orders?x=1",
        "spiffe://example.org/ns/prod/sa/orders#f",
        "spiffe://example.org/ns/prod/sa/orders/",
        "spiffe://example.org/ns/%2e%2e/sa",
        "spiffe://example.org//ns",
        "spiffe://user@example.org/ns/prod",
        "spiffe://example.org:443/ns/prod",
        "spiffe://example.org.evil.com/ns/prod",
        "spiffe://evil.com/example.org/ns/prod",
        " spiffe://example.org/ns/prod",
    ] {
        let mut c = claims();
        c["sub"] = json!(sub);
        assert!(check(&validator, &key.token(&c)).is_err(), "{sub}");
    }
    let mut c = claims();
    c["sub"] = json!("spiffe://example.org/ns/prod/sa/orders");
    check(&validator, &key.token(&c)).unwrap();
}

#[test]
fn scope_is_split_on_spaces_only_so_other_whitespace_cannot_make_roles() {
    let key = TestKey::es256("ec");
    let (validator, _) = validator(&[&key]);
    let mut c = claims();
    c["scope"] = json!("read\u{a0}admin tenant:x\u{2003}root\tops\nsu");
    let subject = check(&validator, &key.token(&c)).unwrap();
    for smuggled in ["admin", "root", "ops", "su"] {
        assert!(
            !subject.has_role(smuggled),
            "{smuggled} split out of a scope token"
        );
    }
    let mut c = claims();
    c["scope"] = json!("read  write ");
    let subject = check(&validator, &key.token(&c)).unwrap();
    assert!(subject.has_role("read") && subject.has_role("write"));
    assert!(!subject.has_role(""));
}
