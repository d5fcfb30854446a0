//! Adversarial use of the minter: lifetime and elevation caps, role smuggling, overflow.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use zt_token::{Elevation, Issuer, KeySource, MintError, MintRequest, Minter, Validator};

fn validator_for(minter: &Minter) -> Validator {
    let keys = KeySource::from_jwks(&minter.jwks()).unwrap();
    validator_with(Issuer::new(ISS, keys).audience(AUD), &clock())
}

fn minter() -> Minter {
    Minter::generate_es256(ISS)
        .unwrap()
        .with_clock(Arc::new(clock()))
}

#[test]
fn extra_claims_cannot_smuggle_roles_through_the_scope_claim() {
    let minter = minter();
    let validator = validator_for(&minter);
    let request = MintRequest::new("alice", AUD).claim("scope", "admin");
    match minter.mint(&request) {
        Err(MintError::ReservedClaim(name)) => assert_eq!(name, "scope"),
        Ok(token) => {
            let subject = check(&validator, token.as_str()).unwrap();
            assert!(
                !subject.has_role("admin"),
                "an extra claim granted a role without .role() or an elevation"
            );
        }
        Err(other) => panic!("unexpected error {other}"),
    }
}

#[test]
fn elevation_lifetime_stays_under_its_cap_whatever_the_defaults() {
    let minter = minter()
        .with_max_lifetime(Duration::from_secs(900))
        .with_lifetime(Duration::from_secs(900))
        .with_elevation_max_lifetime(Duration::from_secs(3600));
    let elevation = Elevation::new("incident", "bob").role("admin");
    // The elevation maximum never exceeds the minter maximum.
    let long = MintRequest::new("alice", AUD)
        .elevate(elevation.clone())
        .lifetime(Duration::from_secs(901));
    assert!(matches!(
        minter.mint(&long),
        Err(MintError::LifetimeTooLong { .. })
    ));
    let minter = minter.with_elevation_max_lifetime(Duration::from_secs(60));
    let default = MintRequest::new("alice", AUD).elevate(elevation);
    let token = minter.mint(&default).unwrap();
    let lifetime = token
        .expires_at()
        .duration_since(std::time::UNIX_EPOCH + Duration::from_secs(NOW))
        .unwrap();
    assert!(lifetime <= Duration::from_secs(60), "{lifetime:?}");
}

#[test]
fn an_overflowing_lifetime_is_an_error_not_a_panic() {
    let minter = minter().with_max_lifetime(Duration::MAX);
    let request = MintRequest::new("alice", AUD).lifetime(Duration::from_secs(u64::MAX));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        minter.mint(&request).map(|_| ())
    }));
    assert!(
        matches!(result, Ok(Err(MintError::LifetimeTooLong { .. }))),
        "minting panicked or passed"
    );
}
