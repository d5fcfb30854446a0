//! The verified-token cache, certificate-bound tokens (RFC 8705), the JWT-SVID profile and
//! the minter.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use serde_json::json;
use zt_core::{CertThumbprint, PeerIdentity, TrustDomain};
use zt_token::{
    Elevation, Issuer, KeySet, KeySource, MintError, MintRequest, Minter, TokenError, Validator,
};

fn peer(thumbprint: [u8; 32]) -> PeerIdentity {
    PeerIdentity {
        spiffe_id: "spiffe://example.org/ns/prod/sa/billing".parse().unwrap(),
        thumbprint: CertThumbprint(thumbprint),
        not_after: SystemTime::now() + Duration::from_secs(3600),
    }
}

fn minter_and_validator(
    configure: impl FnOnce(Issuer) -> Issuer,
) -> (Minter, Validator, zt_core::ManualClock) {
    let clock = clock();
    let minter = Minter::generate_es256(ISS)
        .unwrap()
        .with_clock(Arc::new(clock.clone()));
    let keys = KeySource::from_jwks(&minter.jwks()).unwrap();
    let issuer = configure(Issuer::new(ISS, keys).audience(AUD).leeway(Duration::ZERO));
    (minter, validator_with(issuer, &clock), clock)
}

#[test]
fn token_seen_again_is_answered_from_the_cache() {
    let (minter, validator, _) = minter_and_validator(|i| i);
    let token = minter.mint(&MintRequest::new("alice", AUD)).unwrap();
    let first = check(&validator, token.as_str()).unwrap();
    assert_eq!(validator.cached_tokens(), 1);
    let second = check(&validator, token.as_str()).unwrap();
    assert!(
        Arc::ptr_eq(&first, &second),
        "the second answer comes from the cache"
    );
}

#[test]
fn cached_token_still_expires() {
    let (minter, validator, clock) = minter_and_validator(|i| i);
    let token = minter
        .mint(&MintRequest::new("alice", AUD).lifetime(Duration::from_secs(60)))
        .unwrap();
    check(&validator, token.as_str()).unwrap();
    clock.advance(Duration::from_secs(60));
    assert_eq!(
        check(&validator, token.as_str()).unwrap_err(),
        TokenError::Expired
    );
    assert_eq!(validator.cached_tokens(), 0, "an expired entry is dropped");
}

#[test]
fn certificate_bound_token_needs_the_matching_peer_even_from_the_cache() {
    let (minter, validator, _) = minter_and_validator(|i| i);
    let request = MintRequest::new("alice", AUD).bind_to(CertThumbprint([1; 32]));
    let token = minter.mint(&request).unwrap();
    for _ in 0..2 {
        let right = now_or_never(validator.validate(token.as_str(), Some(&peer([1; 32]))));
        assert!(right.is_ok());
        let wrong = now_or_never(validator.validate(token.as_str(), Some(&peer([2; 32]))));
        assert_eq!(wrong.unwrap_err(), TokenError::BindingMismatch);
        let none = now_or_never(validator.validate(token.as_str(), None));
        assert_eq!(none.unwrap_err(), TokenError::BindingWithoutPeer);
    }
}

#[test]
fn binding_can_be_required() {
    let (minter, validator, _) = minter_and_validator(|i| i.require_binding(true));
    let unbound = minter.mint(&MintRequest::new("alice", AUD)).unwrap();
    let result = now_or_never(validator.validate(unbound.as_str(), Some(&peer([1; 32]))));
    assert_eq!(result.unwrap_err(), TokenError::BindingRequired);
}

#[test]
fn malformed_cnf_thumbprint_is_refused() {
    let key = TestKey::es256("ec");
    let (validator, _) = validator(&[&key]);
    let mut c = claims();
    c["cnf"] = json!({ "x5t#S256": "too-short" });
    let error = check(&validator, &key.token(&c)).unwrap_err();
    assert_eq!(error, TokenError::InvalidClaim { claim: "cnf" });
}

fn spiffe_bundle(keys: &[&TestKey]) -> Vec<u8> {
    let mut jwks = jwks(keys);
    for key in jwks["keys"].as_array_mut().unwrap() {
        key["use"] = json!("jwt-svid");
    }
    jwks["keys"].as_array_mut().unwrap().push(json!({
        "kty": "EC", "crv": "P-256", "use": "x509-svid", "kid": "x509",
        "x": keys[0].jwk["x"], "y": keys[0].jwk["y"],
    }));
    jwks["spiffe_sequence"] = json!(1);
    jwks.to_string().into_bytes()
}

#[test]
fn spiffe_bundle_yields_only_its_jwt_svid_keys() {
    let key = TestKey::es256("jwt");
    let keys = KeySet::from_spiffe_bundle(&spiffe_bundle(&[&key])).unwrap();
    assert_eq!(keys.len(), 1);
    assert!(keys.contains_kid("jwt"));
    assert!(!keys.contains_kid("x509"));
}

#[test]
fn jwt_svid_subject_must_be_a_workload_id_in_the_trust_domain() {
    let key = TestKey::es256("jwt");
    let keys =
        KeySource::from_key_set(KeySet::from_spiffe_bundle(&spiffe_bundle(&[&key])).unwrap());
    let trust_domain: TrustDomain = "example.org".parse().unwrap();
    let issuer = Issuer::jwt_svid(ISS, trust_domain, keys).audience(AUD);
    let validator = validator_with(issuer, &clock());
    let mut c = claims();
    for (sub, expected) in [
        ("alice", TokenError::SubjectNotSpiffeId),
        ("spiffe://example.org", TokenError::SubjectNotSpiffeId),
        (
            "spiffe://example.org/a/../b",
            TokenError::SubjectNotSpiffeId,
        ),
        (
            "spiffe://other.org/ns/prod/sa/orders",
            TokenError::WrongTrustDomain,
        ),
    ] {
        c["sub"] = json!(sub);
        assert_eq!(
            check(&validator, &key.token(&c)).unwrap_err(),
            expected,
            "{sub}"
        );
    }
    c["sub"] = json!("spiffe://EXAMPLE.org/ns/prod/sa/orders");
    let subject = check(&validator, &key.token(&c)).unwrap();
    assert_eq!(&*subject.subject, "spiffe://example.org/ns/prod/sa/orders");
}

#[test]
fn minted_tokens_of_both_algorithms_validate_as_access_tokens() {
    for minter in [
        Minter::generate_es256(ISS).unwrap(),
        Minter::generate_ed25519(ISS).unwrap(),
    ] {
        let keys = KeySource::from_jwks(&minter.jwks()).unwrap();
        let validator = Validator::builder()
            .issuer(Issuer::new(ISS, keys).audience(AUD).expected_type("at+jwt"))
            .build()
            .unwrap();
        let token = minter
            .mint(&MintRequest::new("alice", AUD).role("reader"))
            .unwrap();
        let subject = now_or_never(validator.validate(token.as_str(), None)).unwrap();
        assert!(subject.has_role("reader"));
        let lifetime = token
            .expires_at()
            .duration_since(SystemTime::now())
            .unwrap();
        assert!(lifetime <= Duration::from_secs(300));
    }
}

#[test]
fn elevation_carries_roles_reason_and_approver_with_a_capped_lifetime() {
    let (minter, validator, _) = minter_and_validator(|i| i);
    let elevation = Elevation::new("incident 42", "bob").role("admin");
    let request = MintRequest::new("alice", AUD)
        .role("reader")
        .elevate(elevation.clone());
    let subject = check(&validator, minter.mint(&request).unwrap().as_str()).unwrap();
    assert!(subject.has_role("admin") && subject.has_role("reader"));
    assert_eq!(subject.claims["elevation"]["reason"], "incident 42");
    assert_eq!(subject.claims["elevation"]["approver"], "bob");

    let too_long = request.clone().lifetime(Duration::from_secs(301));
    assert!(matches!(
        minter.mint(&too_long),
        Err(MintError::LifetimeTooLong { .. })
    ));
    let unexplained = MintRequest::new("alice", AUD).elevate(Elevation::new("", "bob"));
    assert!(matches!(
        minter.mint(&unexplained),
        Err(MintError::ElevationIncomplete)
    ));
}

#[test]
fn minting_beyond_the_maximum_lifetime_or_over_registered_claims_is_refused() {
    let minter = Minter::generate_ed25519(ISS).unwrap();
    let long = MintRequest::new("alice", AUD).lifetime(Duration::from_secs(15 * 60 + 1));
    assert!(matches!(
        minter.mint(&long),
        Err(MintError::LifetimeTooLong { .. })
    ));
    let sneaky = MintRequest::new("alice", AUD).claim("iss", "https://evil.example");
    assert!(matches!(
        minter.mint(&sneaky),
        Err(MintError::ReservedClaim(_))
    ));
    let zero = MintRequest::new("alice", AUD).lifetime(Duration::ZERO);
    assert!(matches!(minter.mint(&zero), Err(MintError::ZeroLifetime)));
}

#[test]
fn minted_token_and_minter_debug_output_hide_secrets() {
    let minter = Minter::generate_es256(ISS).unwrap();
    let token = minter.mint(&MintRequest::new("alice", AUD)).unwrap();
    let shown = format!("{token:?} {minter:?}");
    assert!(!shown.contains(token.as_str()));
    for segment in token.as_str().split('.') {
        assert!(!shown.contains(segment));
    }
    assert!(shown.contains("redacted"));
    assert!(token.expires_at() > UNIX_EPOCH);
}

#[test]
fn binding_failure_reports_the_verified_subject_and_nothing_else_does() {
    let (minter, validator, _) = minter_and_validator(|i| i);
    let bound = minter.mint(&MintRequest::new("alice", AUD).bind_to(CertThumbprint([1; 32])));
    let bound = bound.unwrap();
    let other = peer([2; 32]);
    for _ in 0..2 {
        let detailed = validator.validate_detailed(bound.as_str(), Some(&other));
        let rejected = now_or_never(detailed).unwrap_err();
        assert_eq!(rejected.error, TokenError::BindingMismatch);
        assert_eq!(
            rejected.verified.as_deref().map(|s| &*s.subject),
            Some("alice")
        );
    }
    let forged = format!("{}x", bound.as_str());
    let rejected = now_or_never(validator.validate_detailed(&forged, Some(&other)));
    let rejected = rejected.unwrap_err();
    assert_eq!(rejected.error, TokenError::BadSignature);
    assert!(rejected.verified.is_none());
}
