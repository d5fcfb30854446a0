//! Trust bundles: PEM, the SPIFFE bundle format, federation and run-time swaps.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use zt_core::TrustDomain;
use zt_mtls::dev::DevCa;
use zt_mtls::{
    Authorizer, BundleError, SharedBundleSet, SpiffeClientVerifier, TrustBundle, TrustBundleSet,
    VerifyError,
};

fn td(s: &str) -> TrustDomain {
    s.parse().unwrap()
}

#[test]
fn spiffe_bundle_json_loads_x509_svid_keys_and_skips_jwt_keys() {
    let ca = DevCa::new(td("example.org")).unwrap();
    let der = STANDARD.encode(ca.cert_der());
    let json = format!(
        r#"{{"keys":[
            {{"use":"jwt-svid","kty":"EC","kid":"k1","crv":"P-256","x":"AA","y":"AA"}},
            {{"use":"x509-svid","kty":"EC","crv":"P-256","x5c":["{der}"]}}
        ],"spiffe_sequence":7}}"#
    );
    let bundle = TrustBundle::from_spiffe_json(td("example.org"), json.as_bytes()).unwrap();
    assert_eq!(bundle.certificates(), &[ca.cert_der()]);
}

#[test]
fn x509_svid_key_with_two_x5c_entries_is_refused() {
    let ca = DevCa::new(td("example.org")).unwrap();
    let der = STANDARD.encode(ca.cert_der());
    let json = format!(r#"{{"keys":[{{"use":"x509-svid","x5c":["{der}","{der}"]}}]}}"#);
    let error = TrustBundle::from_spiffe_json(td("example.org"), json.as_bytes()).unwrap_err();
    assert!(matches!(
        error,
        BundleError::X5cCount { index: 0, found: 2 }
    ));
}

#[test]
fn spiffe_bundle_without_x509_keys_is_empty_and_refused() {
    let json = br#"{"keys":[{"use":"jwt-svid","kty":"EC"}]}"#;
    let error = TrustBundle::from_spiffe_json(td("example.org"), json).unwrap_err();
    assert!(matches!(error, BundleError::Empty { .. }));
}

#[test]
fn garbage_bundle_inputs_are_typed_errors() {
    assert!(matches!(
        TrustBundle::from_spiffe_json(td("example.org"), b"{"),
        Err(BundleError::Json(_))
    ));
    assert!(matches!(
        TrustBundle::from_pem(td("example.org"), b"nothing here"),
        Err(BundleError::Empty { .. })
    ));
    let json = br#"{"keys":[{"use":"x509-svid","x5c":["%%%"]}]}"#;
    assert!(matches!(
        TrustBundle::from_spiffe_json(td("example.org"), json),
        Err(BundleError::X5cBase64 { index: 0, .. })
    ));
    let json = format!(
        r#"{{"keys":[{{"use":"x509-svid","x5c":["{}"]}}]}}"#,
        STANDARD.encode(b"junk")
    );
    assert!(matches!(
        TrustBundle::from_spiffe_json(td("example.org"), json.as_bytes()),
        Err(BundleError::BadAnchor { index: 0, .. })
    ));
}

#[test]
fn federated_set_checks_each_peer_against_its_own_domain() {
    let ours = DevCa::new(td("example.org")).unwrap();
    let partner = DevCa::new(td("partner.example")).unwrap();
    let set: TrustBundleSet = [ours.bundle().unwrap(), partner.bundle().unwrap()]
        .into_iter()
        .collect();
    let verifier = SpiffeClientVerifier::new(set, Authorizer::any());
    let theirs = partner
        .issue_svid(&"spiffe://partner.example/api".parse().unwrap())
        .unwrap();
    let peer = verifier.verify_svid(&theirs.chain()[0], &[]).unwrap();
    assert_eq!(peer.spiffe_id.trust_domain(), &td("partner.example"));
}

#[test]
fn bundle_set_debug_names_only_trust_domains() {
    let ca = DevCa::new(td("example.org")).unwrap();
    let set = TrustBundleSet::new().with(ca.bundle().unwrap());
    assert_eq!(format!("{set:?}"), "{TrustDomain(example.org)}");
}

#[test]
fn swapping_a_shared_bundle_set_takes_effect_on_the_next_check() {
    let ca = DevCa::new(td("example.org")).unwrap();
    let shared = std::sync::Arc::new(SharedBundleSet::new(TrustBundleSet::new()));
    let verifier = SpiffeClientVerifier::new(std::sync::Arc::clone(&shared), Authorizer::any());
    let svid = ca
        .issue_svid(&"spiffe://example.org/web".parse().unwrap())
        .unwrap();
    assert!(matches!(
        verifier.verify_svid(&svid.chain()[0], &[]),
        Err(VerifyError::UntrustedDomain { .. })
    ));
    shared.upsert(ca.bundle().unwrap());
    verifier.verify_svid(&svid.chain()[0], &[]).unwrap();
    shared.store(TrustBundleSet::new());
    assert!(verifier.verify_svid(&svid.chain()[0], &[]).is_err());
}
