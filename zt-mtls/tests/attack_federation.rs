//! Attacks across trust domains: a certificate is checked against the bundle of the trust
//! domain named in its own SPIFFE ID, and only that bundle.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{id, td};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use zt_mtls::dev::{DevCa, DevCertSpec};
use zt_mtls::{
    Authorizer, BundleError, SpiffeClientVerifier, SvidError, TrustBundle, TrustBundleSet,
    VerifyError,
};

type Ca = CertifiedIssuer<'static, KeyPair>;

fn ca_params(name: &str, uri: Option<&str>) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.subject_alt_names = uri
        .map(|uri| SanType::URI(uri.try_into().unwrap()))
        .into_iter()
        .collect();
    params
}

/// A chain `[leaf for uri, issuer]` and the leaf's key.
fn issue(uri: &str, issuer: &Ca) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, "leaf");
    params.subject_alt_names = vec![SanType::URI(uri.try_into().unwrap())];
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let key = KeyPair::generate().unwrap();
    let leaf = params.signed_by(&key, issuer).unwrap().der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    (vec![leaf, issuer.der().clone()], key)
}

/// One corporate root (no SPIFFE ID) trusted for two trust domains, as under two SPIRE
/// servers with an upstream authority, and staging's intermediate CA under it.
fn shared_root() -> (Ca, SpiffeClientVerifier) {
    let root =
        CertifiedIssuer::self_signed(ca_params("corp root", None), KeyPair::generate().unwrap())
            .unwrap();
    let staging = CertifiedIssuer::signed_by(
        ca_params("staging CA", Some("spiffe://staging.example")),
        KeyPair::generate().unwrap(),
        &root,
    )
    .unwrap();
    let bundles = TrustBundleSet::new()
        .with(TrustBundle::from_der(td("prod.example"), vec![root.der().clone()]).unwrap())
        .with(TrustBundle::from_der(td("staging.example"), vec![root.der().clone()]).unwrap());
    let verifier = SpiffeClientVerifier::new(bundles, Authorizer::any());
    (staging, verifier)
}

#[test]
fn intermediate_of_another_trust_domain_cannot_vouch_for_a_leaf() {
    let (staging, verifier) = shared_root();
    // The staging intermediate (its own ID: spiffe://staging.example) issues a prod ID.
    let (forged, _) = issue("spiffe://prod.example/ns/prod/sa/payments", &staging);
    let error = verifier.verify_svid(&forged[0], &forged[1..]).unwrap_err();
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
    let (staging, verifier) = shared_root();
    let (chain, _) = issue("spiffe://staging.example/ns/dev/sa/web", &staging);
    let peer = verifier.verify_svid(&chain[0], &chain[1..]).unwrap();
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
    let (staging, _) = shared_root();
    let (chain, key) = issue("spiffe://prod.example/ns/prod/sa/payments", &staging);
    let error = zt_mtls::Svid::new(chain, key).unwrap_err();
    assert!(
        matches!(
            error,
            zt_mtls::LoadError::NotAnSvid(SvidError::SigningCertOtherDomain { index: 1, .. })
        ),
        "{error:?}"
    );
}

#[test]
fn bundle_whose_ca_names_another_trust_domain_is_refused() {
    // Federation paths swapped: the partner's bundle lands in our trust domain's slot.
    let partner = DevCa::new(td("partner.example")).unwrap();
    let spec = DevCertSpec::svid(&id("spiffe://example.org/ns/prod/sa/orders"));
    let forged = partner.issue(&spec).unwrap();
    match TrustBundle::from_der(td("example.org"), vec![partner.cert_der()]) {
        Err(BundleError::AnchorOtherDomain {
            index: 0,
            trust_domain,
        }) => assert_eq!(trust_domain, td("partner.example")),
        Ok(bundle) => {
            let verifier =
                SpiffeClientVerifier::new(TrustBundleSet::new().with(bundle), Authorizer::any());
            panic!(
                "partner CA became an example.org anchor; its example.org ID verifies as {:?}",
                verifier.verify_svid(&forged.chain()[0], &[])
            );
        }
        Err(other) => panic!("refused for another reason: {other:?}"),
    }
}

#[test]
fn bundle_ca_naming_its_own_trust_domain_or_none_is_accepted() {
    let ours = DevCa::new(td("example.org")).unwrap();
    assert!(TrustBundle::from_der(td("example.org"), vec![ours.cert_der()]).is_ok());
    let plain =
        CertifiedIssuer::self_signed(ca_params("corp root", None), KeyPair::generate().unwrap())
            .unwrap();
    assert!(TrustBundle::from_der(td("example.org"), vec![plain.der().clone()]).is_ok());
}
