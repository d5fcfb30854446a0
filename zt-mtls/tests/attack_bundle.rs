//! Attacks on trust bundles: what may serve as a trust anchor.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{CLIENT_ID, Cast, id, td};
use rcgen::{
    CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SanType,
};
use rustls_pki_types::CertificateDer;
use zt_mtls::dev::DevCertSpec;
use zt_mtls::{Authorizer, BundleError, SpiffeClientVerifier, TrustBundle, TrustBundleSet};

/// A certificate for `uri` signed with the key of `cert` (a workload's own SVID) as if it
/// were a CA: the issuer name is the SVID's subject.
fn mint_with_svid_key(svid: &zt_mtls::dev::DevCert, uri: &str) -> CertificateDer<'static> {
    let key = KeyPair::from_pem(&svid.private_key_pem()).unwrap();
    let mut issuer_params = CertificateParams::default();
    issuer_params
        .distinguished_name
        .push(DnType::CommonName, "zt dev SVID");
    let issuer = Issuer::new(issuer_params, key);

    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, "forged");
    params.subject_alt_names = vec![SanType::URI(uri.try_into().unwrap())];
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let forged_key = KeyPair::generate().unwrap();
    params
        .signed_by(&forged_key, &issuer)
        .unwrap()
        .der()
        .clone()
}

#[test]
fn bundle_holding_a_workload_leaf_is_refused_so_its_key_cannot_mint_identities() {
    let cast = Cast::new();
    let web = cast.ca.issue(&DevCertSpec::svid(&id(CLIENT_ID))).unwrap();
    let forged = mint_with_svid_key(&web, "spiffe://example.org/ns/prod/sa/admin");

    // A bundle file pointed at the wrong PEM: the root and a workload's SVID.
    let pem = format!("{}{}", cast.ca.cert_pem(), web.chain_pem());
    match TrustBundle::from_pem(td("example.org"), pem.as_bytes()) {
        Err(BundleError::AnchorNotCa { index: 1 }) => {}
        Ok(bundle) => {
            let verifier =
                SpiffeClientVerifier::new(TrustBundleSet::new().with(bundle), Authorizer::any());
            panic!(
                "a leaf became a trust anchor; a forged admin ID then verifies as {:?}",
                verifier.verify_svid(&forged, &[])
            );
        }
        Err(other) => panic!("refused for another reason: {other:?}"),
    }
}

#[test]
fn spiffe_bundle_json_holding_a_leaf_is_refused() {
    use base64::Engine as _;
    let cast = Cast::new();
    let der = base64::engine::general_purpose::STANDARD.encode(&cast.client_svid.chain()[0]);
    let json = format!(r#"{{"keys":[{{"use":"x509-svid","kty":"EC","x5c":["{der}"]}}]}}"#);
    let error = TrustBundle::from_spiffe_json(td("example.org"), json.as_bytes()).unwrap_err();
    assert!(
        matches!(error, BundleError::AnchorNotCa { index: 0 }),
        "{error:?}"
    );
}

#[test]
fn bundle_holding_a_garbage_certificate_is_refused() {
    let junk = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00]);
    assert!(TrustBundle::from_der(td("example.org"), vec![junk]).is_err());
}

#[test]
fn root_and_intermediate_ca_certificates_still_make_a_bundle() {
    let cast = Cast::new();
    let intermediate = cast.ca.intermediate().unwrap();
    let svid = intermediate.issue_svid(&id(CLIENT_ID)).unwrap();
    let ca_chain = svid.chain()[1..].to_vec();
    let mut certificates = vec![cast.ca.cert_der()];
    certificates.extend(ca_chain);
    let bundle = TrustBundle::from_der(td("example.org"), certificates).unwrap();
    assert_eq!(bundle.certificates().len(), 2);
}
