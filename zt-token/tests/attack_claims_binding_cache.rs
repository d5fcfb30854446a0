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
        assert_eq!(result.unwrap_err(), TokenError::InvalidClaim { claim: "cnf" });
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
        assert!(check(&validator, &key.token(&c)).is_err(), "{name}: {value}");
    }
}

#[test]
fn fractional_exp_and_lifetime_edges_follow_the_rules() {
    let key = TestKey::es256("ec");
    let (validator, _) = validator(&[&key]);
    let mut c = claims();
    c["exp"] = json!(NOW as f64 + 0.9);
    assert_eq!(check(&validator, &key.token(&c)).unwrap_err(), TokenError::Expired);
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
        assert!(check(&validator, &key.token(&c)).is_err(), "{name}: {value}");
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
