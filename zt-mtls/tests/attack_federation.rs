//! Attacks across trust domains: a certificate is checked against the bundle of the trust
//! domain named in its own SPIFFE ID, and only that bundle.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{id, td};
use zt_mtls::dev::{DevCa, DevCertSpec};
use zt_mtls::{Authorizer, SpiffeClientVerifier, SvidError, TrustBundle, VerifyError};

/// One root CA trusted for two trust domains (a corporate upstream root under two SPIRE
/// servers), and an intermediate CA of staging under it.
fn shared_root() -> (DevCa, DevCa, SpiffeClientVerifier) {
    let root = DevCa::new(td("staging.example")).unwrap();
    let staging = root.intermediate().unwrap();
    let bundles = zt_mtls::TrustBundleSet::new()
        .with(TrustBundle::from_der(td("prod.example"), vec![root.cert_der()]).unwrap())
        .with(TrustBundle::from_der(td("staging.example"), vec![root.cert_der()]).unwrap());
    let verifier = SpiffeClientVerifier::new(bundles, Authorizer::any());
    (root, staging, verifier)
}

#[test]
fn intermediate_of_another_trust_domain_cannot_vouch_for_a_leaf() {
    let (_root, staging, verifier) = shared_root();
    // The staging intermediate (its own ID: spiffe://staging.example) issues a prod ID.
    let forged = staging
        .issue(&DevCertSpec::svid(&id(
            "spiffe://prod.example/ns/prod/sa/payments",
        )))
        .unwrap();
    let error = verifier
        .verify_svid(&forged.chain()[0], &forged.chain()[1..])
        .unwrap_err();
    assert!(
        matches!(
            error,
            VerifyError::Svid(SvidError::SigningCertOtherDomain { index: 1, .. })
        ),
        "{error:?}"
    );
}

#[test]
fn intermediate_of_the_leafs_own_trust_domain_still_vouches_for_it() {
    let (_root, staging, verifier) = shared_root();
    let svid = staging
        .issue_svid(&id("spiffe://staging.example/ns/dev/sa/web"))
        .unwrap();
    let peer = verifier
        .verify_svid(&svid.chain()[0], &svid.chain()[1..])
        .unwrap();
    assert_eq!(peer.spiffe_id, id("spiffe://staging.example/ns/dev/sa/web"));
}

#[test]
fn ca_of_one_federated_domain_cannot_sign_for_another() {
    let ours = DevCa::new(td("example.org")).unwrap();
    let partner = DevCa::new(td("partner.example")).unwrap();
    let bundles = zt_mtls::TrustBundleSet::new()
        .with(ours.bundle().unwrap())
        .with(partner.bundle().unwrap());
    let verifier = SpiffeClientVerifier::new(bundles, Authorizer::any());
    // Directly, and through one of the partner's intermediates.
    let spec = DevCertSpec::svid(&id("spiffe://example.org/ns/prod/sa/orders"));
    let direct = partner.issue(&spec).unwrap();
    let via = partner.intermediate().unwrap().issue(&spec).unwrap();
    for svid in [direct, via] {
        let error = verifier
            .verify_svid(&svid.chain()[0], &svid.chain()[1..])
            .unwrap_err();
        assert!(
            matches!(
                error,
                VerifyError::UnknownIssuer { .. } | VerifyError::Svid(_)
            ),
            "{error:?}"
        );
    }
}

#[test]
fn svid_whose_chain_holds_another_domains_intermediate_does_not_load() {
    let (_root, staging, _verifier) = shared_root();
    let spec = DevCertSpec::svid(&id("spiffe://prod.example/ns/prod/sa/payments"));
    let error = staging.issue(&spec).unwrap().into_svid().unwrap_err();
    assert!(
        matches!(
            error,
            zt_mtls::LoadError::NotAnSvid(SvidError::SigningCertOtherDomain { index: 1, .. })
        ),
        "{error:?}"
    );
}
