//! Attacks on chain shape with hand-built certificates (rcgen): extensions, constraints,
//! validity of intermediates, duplicates. These held when first tried; they stay as guards.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, SystemTime};

use common::{id, td};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, CustomExtension, DnType,
    ExtendedKeyUsagePurpose, GeneralSubtree, IsCa, KeyPair, KeyUsagePurpose, NameConstraints,
    SanType,
};
use rustls_pki_types::CertificateDer;
use zt_mtls::{
    Authorizer, SpiffeClientVerifier, SvidError, TrustBundle, TrustBundleSet, VerifyError,
};

const LEAF_ID: &str = "spiffe://example.org/ns/prod/sa/web";

type Ca = CertifiedIssuer<'static, KeyPair>;

fn ca_params(name: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params
}

fn leaf_params(uri: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, "leaf");
    params.subject_alt_names = vec![SanType::URI(uri.try_into().unwrap())];
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params
}

fn root() -> Ca {
    CertifiedIssuer::self_signed(ca_params("root"), KeyPair::generate().unwrap()).unwrap()
}

fn sub_ca(params: CertificateParams, issuer: &Ca) -> Ca {
    CertifiedIssuer::signed_by(params, KeyPair::generate().unwrap(), issuer).unwrap()
}

fn leaf(params: CertificateParams, issuer: &Ca) -> CertificateDer<'static> {
    let key = KeyPair::generate().unwrap();
    params.signed_by(&key, issuer).unwrap().der().clone()
}

fn verifier(root: &Ca) -> SpiffeClientVerifier {
    let bundle = TrustBundle::from_der(td("example.org"), vec![root.der().clone()]).unwrap();
    SpiffeClientVerifier::new(TrustBundleSet::new().with(bundle), Authorizer::any())
}

fn valid(params: &mut CertificateParams, from: SystemTime, to: SystemTime) {
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    params.not_before = epoch + from.duration_since(SystemTime::UNIX_EPOCH).unwrap();
    params.not_after = epoch + to.duration_since(SystemTime::UNIX_EPOCH).unwrap();
}

fn days_ago(days: u64) -> SystemTime {
    SystemTime::now() - Duration::from_secs(days * 24 * 60 * 60)
}

#[test]
fn hand_built_chain_is_accepted_as_the_baseline() {
    let root = root();
    let inter = sub_ca(ca_params("inter"), &root);
    let cert = leaf(leaf_params(LEAF_ID), &inter);
    let peer = verifier(&root)
        .verify_svid(&cert, &[inter.der().clone()])
        .unwrap();
    assert_eq!(peer.spiffe_id, id(LEAF_ID));
}

#[test]
fn leaf_with_an_unknown_critical_extension_is_refused() {
    let root = root();
    let mut params = leaf_params(LEAF_ID);
    let mut ext = CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 55555, 1], vec![5, 0]);
    ext.set_criticality(true);
    params.custom_extensions = vec![ext];
    let cert = leaf(params, &root);
    let error = verifier(&root).verify_svid(&cert, &[]).unwrap_err();
    assert!(
        matches!(
            error,
            VerifyError::Chain(webpki::Error::UnsupportedCriticalExtension)
        ),
        "{error:?}"
    );
}

#[test]
fn intermediate_with_an_unknown_critical_extension_is_refused() {
    let root = root();
    let mut params = ca_params("inter");
    let mut ext = CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 55555, 2], vec![5, 0]);
    ext.set_criticality(true);
    params.custom_extensions = vec![ext];
    let inter = sub_ca(params, &root);
    let cert = leaf(leaf_params(LEAF_ID), &inter);
    assert!(
        verifier(&root)
            .verify_svid(&cert, &[inter.der().clone()])
            .is_err()
    );
}

#[test]
fn intermediate_without_key_cert_sign_is_refused() {
    let root = root();
    let mut params = ca_params("inter");
    params.key_usages = vec![KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let inter = sub_ca(params, &root);
    let cert = leaf(leaf_params(LEAF_ID), &inter);
    let error = verifier(&root)
        .verify_svid(&cert, &[inter.der().clone()])
        .unwrap_err();
    assert_eq!(
        error,
        VerifyError::Svid(SvidError::SigningCertCannotSign { index: 1 })
    );
}

#[test]
fn intermediate_path_length_constraint_is_enforced() {
    let root = root();
    let mut params = ca_params("inter");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    let inter = sub_ca(params, &root);
    let below = sub_ca(ca_params("below"), &inter);
    let cert = leaf(leaf_params(LEAF_ID), &below);
    let error = verifier(&root)
        .verify_svid(&cert, &[below.der().clone(), inter.der().clone()])
        .unwrap_err();
    assert!(
        matches!(
            error,
            VerifyError::Chain(webpki::Error::PathLenConstraintViolated)
        ),
        "{error:?}"
    );
}

#[test]
fn dns_name_constraint_of_an_intermediate_is_enforced() {
    let root = root();
    let mut params = ca_params("inter");
    params.name_constraints = Some(NameConstraints {
        permitted_subtrees: vec![GeneralSubtree::DnsName("example.org".into())],
        excluded_subtrees: Vec::new(),
    });
    let inter = sub_ca(params, &root);
    let mut leaf_spec = leaf_params(LEAF_ID);
    leaf_spec
        .subject_alt_names
        .push(SanType::DnsName("evil.example".try_into().unwrap()));
    let cert = leaf(leaf_spec, &inter);
    let error = verifier(&root)
        .verify_svid(&cert, &[inter.der().clone()])
        .unwrap_err();
    assert!(
        matches!(
            error,
            VerifyError::Chain(webpki::Error::NameConstraintViolation)
        ),
        "{error:?}"
    );
}

#[test]
fn expired_intermediate_is_refused() {
    let root = root();
    let mut params = ca_params("inter");
    valid(&mut params, days_ago(10), days_ago(1));
    let inter = sub_ca(params, &root);
    let cert = leaf(leaf_params(LEAF_ID), &inter);
    let error = verifier(&root)
        .verify_svid(&cert, &[inter.der().clone()])
        .unwrap_err();
    assert!(matches!(error, VerifyError::Expired { .. }), "{error:?}");
}

#[test]
fn not_yet_valid_intermediate_is_refused() {
    let root = root();
    let mut params = ca_params("inter");
    let tomorrow = SystemTime::now() + Duration::from_secs(24 * 60 * 60);
    valid(
        &mut params,
        tomorrow,
        tomorrow + Duration::from_secs(24 * 60 * 60),
    );
    let inter = sub_ca(params, &root);
    let cert = leaf(leaf_params(LEAF_ID), &inter);
    let error = verifier(&root)
        .verify_svid(&cert, &[inter.der().clone()])
        .unwrap_err();
    assert!(
        matches!(error, VerifyError::NotYetValid { .. }),
        "{error:?}"
    );
}

#[test]
fn duplicated_intermediates_neither_panic_nor_let_an_outsider_in() {
    let root = root();
    let inter = sub_ca(ca_params("inter"), &root);
    let good = leaf(leaf_params(LEAF_ID), &inter);
    let dup = vec![inter.der().clone(); 4];
    assert!(verifier(&root).verify_svid(&good, &dup).is_ok());

    let outsider = sub_ca(ca_params("inter"), &self::root());
    let bad = leaf(leaf_params(LEAF_ID), &outsider);
    let mut mixed = dup.clone();
    mixed[3] = outsider.der().clone();
    assert!(verifier(&root).verify_svid(&bad, &mixed).is_err());
    let five = vec![inter.der().clone(); 5];
    assert!(matches!(
        verifier(&root).verify_svid(&good, &five),
        Err(VerifyError::ChainTooLong { .. })
    ));
}

#[test]
fn leaf_with_two_subject_alt_name_extensions_is_refused() {
    let root = root();
    let mut params = leaf_params(LEAF_ID);
    // A second SAN extension naming another workload: 2.5.29.17, [6] "spiffe://..."
    let other = b"spiffe://example.org/ns/prod/sa/admin";
    let mut content = vec![0x30, (other.len() + 2) as u8, 0x86, other.len() as u8];
    content.extend_from_slice(other);
    params.custom_extensions = vec![CustomExtension::from_oid_content(&[2, 5, 29, 17], content)];
    let cert = leaf(params, &root);
    let error = verifier(&root).verify_svid(&cert, &[]).unwrap_err();
    assert!(
        matches!(error, VerifyError::Svid(SvidError::Malformed(_))),
        "{error:?}"
    );
}

#[test]
fn leaf_of_a_lookalike_root_with_the_same_name_is_refused() {
    // Same subject name as the trusted root, another key.
    let trusted = root();
    let lookalike = root();
    let cert = leaf(leaf_params(LEAF_ID), &lookalike);
    let error = verifier(&trusted).verify_svid(&cert, &[]).unwrap_err();
    assert!(
        matches!(
            error,
            VerifyError::UnknownIssuer { .. } | VerifyError::BadSignature
        ),
        "{error:?}"
    );
}

#[test]
fn every_byte_corruption_of_an_intermediate_is_refused_without_a_panic() {
    let root = root();
    let inter = sub_ca(ca_params("inter"), &root);
    let cert = leaf(leaf_params(LEAF_ID), &inter);
    let verifier = verifier(&root);
    verifier.verify_svid(&cert, &[inter.der().clone()]).unwrap();
    let der = inter.der().to_vec();
    for at in 0..der.len() {
        for value in [0x00_u8, 0xff, der[at] ^ 0x01] {
            if der[at] == value {
                continue;
            }
            let mut corrupted = der.clone();
            corrupted[at] = value;
            let corrupted = CertificateDer::from(corrupted);
            assert!(
                verifier.verify_svid(&cert, &[corrupted]).is_err(),
                "accepted {value:#04x} at byte {at}"
            );
        }
    }
}

#[test]
fn uri_name_constraint_on_an_intermediate_fails_closed() {
    // webpki does not evaluate URI name constraints; a constrained CA must not pass anything.
    let root = root();
    let mut params = ca_params("inter");
    let base = b"example.org";
    let mut content = vec![0x30, 17, 0xa0, 15, 0x30, 13, 0x86, 11];
    content.extend_from_slice(base);
    let mut ext = CustomExtension::from_oid_content(&[2, 5, 29, 30], content);
    ext.set_criticality(true);
    params.custom_extensions = vec![ext];
    let inter = sub_ca(params, &root);
    let cert = leaf(leaf_params(LEAF_ID), &inter);
    let error = verifier(&root)
        .verify_svid(&cert, &[inter.der().clone()])
        .unwrap_err();
    assert!(
        matches!(
            error,
            VerifyError::Chain(webpki::Error::NameConstraintViolation)
        ),
        "{error:?}"
    );
}

#[test]
fn random_multi_byte_corruptions_of_a_chain_never_panic_or_pass() {
    let root = root();
    let inter = sub_ca(ca_params("inter"), &root);
    let cert = leaf(leaf_params(LEAF_ID), &inter);
    let verifier = verifier(&root);
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..2_000 {
        let mut leaf_der = cert.to_vec();
        let mut inter_der = inter.der().to_vec();
        for _ in 0..(1 + next() % 4) {
            let target = if next() % 2 == 0 {
                &mut leaf_der
            } else {
                &mut inter_der
            };
            let at = (next() as usize) % target.len();
            target[at] ^= (next() % 255 + 1) as u8;
        }
        if next() % 8 == 0 {
            let cut = (next() as usize) % leaf_der.len();
            leaf_der.truncate(cut);
        }
        let outcome = verifier.verify_svid(
            &CertificateDer::from(leaf_der),
            &[CertificateDer::from(inter_der)],
        );
        assert!(outcome.is_err(), "round {round} accepted a corrupted chain");
    }
}
