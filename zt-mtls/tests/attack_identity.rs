//! Attacks on how the leaf's SPIFFE ID is read: spellings that are not the canonical ID.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{CLIENT_ID, Cast, id};
use rustls::{CertificateError, Error as TlsError};
use zt_mtls::dev::DevCertSpec;
use zt_mtls::{SvidError, VerifyError, parse_x509_svid};

/// Issues a leaf whose only URI SAN is `uri`, by the cast's CA.
fn leaf_with_uri(cast: &Cast, uri: &str) -> zt_mtls::dev::DevCert {
    let mut spec = DevCertSpec::svid(&id(CLIENT_ID));
    spec.uri_sans = vec![uri.to_owned()];
    cast.ca.issue(&spec).unwrap()
}

#[test]
fn uri_san_with_an_uppercase_scheme_or_trust_domain_is_refused() {
    let cast = Cast::new();
    for uri in [
        "SPIFFE://example.org/ns/prod/sa/web",
        "Spiffe://example.org/ns/prod/sa/web",
        "spiffe://EXAMPLE.ORG/ns/prod/sa/web",
        "spiffe://Example.org/ns/prod/sa/web",
    ] {
        let cert = leaf_with_uri(&cast, uri);
        let error = cast
            .server_verifier()
            .verify_svid(&cert.chain()[0], &cert.chain()[1..])
            .expect_err(uri);
        assert!(
            matches!(
                error,
                VerifyError::Svid(SvidError::NonCanonicalSpiffeId { .. })
            ),
            "{uri}: {error:?}"
        );
        assert_eq!(
            error.to_tls_error(),
            TlsError::InvalidCertificate(CertificateError::NotValidForName),
            "{uri}"
        );
        assert!(parse_x509_svid(&cert.chain()[0]).is_err(), "{uri}");
    }
}

#[test]
fn uri_san_that_does_not_round_trip_does_not_load_as_an_svid() {
    let cast = Cast::new();
    let cert = leaf_with_uri(&cast, "SPIFFE://EXAMPLE.ORG/ns/prod/sa/web");
    let error = cert.into_svid().unwrap_err();
    assert!(
        matches!(
            error,
            zt_mtls::LoadError::NotAnSvid(SvidError::NonCanonicalSpiffeId { .. })
        ),
        "{error:?}"
    );
}

#[test]
fn canonical_lowercase_uri_san_with_a_mixed_case_path_is_still_accepted() {
    let cast = Cast::new();
    let cert = leaf_with_uri(&cast, "spiffe://example.org/ns/Prod/sa/Web");
    let peer = cast
        .server_verifier()
        .verify_svid(&cert.chain()[0], &cert.chain()[1..])
        .unwrap();
    assert_eq!(peer.spiffe_id, id("spiffe://example.org/ns/Prod/sa/Web"));
}

#[test]
fn uri_sans_that_are_not_strict_spiffe_ids_are_refused() {
    let cast = Cast::new();
    for uri in [
        "spiffe://example.org/",
        "spiffe://example.org//ns",
        "spiffe://example.org/ns/./web",
        "spiffe://example.org/ns/../web",
        "spiffe://example.org/ns/web/",
        "spiffe://user@example.org/ns/web",
        "spiffe://example.org:443/ns/web",
        "spiffe://example.org./ns/web",
        "spiffe:///ns/web",
        "spiffe://example.org/ns/web?x=1",
        "spiffe://example.org/ns/web#x",
        "spiffe://example.org/ns/%2e%2e",
        "spiffe:example.org/ns/web",
        "https://example.org/ns/web",
        "spiffe://[::1]/ns/web",
    ] {
        let cert = leaf_with_uri(&cast, uri);
        let outcome = cast
            .server_verifier()
            .verify_svid(&cert.chain()[0], &cert.chain()[1..]);
        assert!(outcome.is_err(), "{uri} accepted as {outcome:?}");
    }
}
