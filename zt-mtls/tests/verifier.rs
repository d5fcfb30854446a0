//! The verifiers outside a network: bad DER, chain shapes, alerts, resumption, redaction.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::{CLIENT_ID, Cast, handshake_in_memory, id};
use rustls::client::danger::ServerCertVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls::{AlertDescription, CertificateError, HandshakeKind};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use zt_mtls::dev::DevCertSpec;
use zt_mtls::{
    PeerIdentityError, Svid, SvidError, Unauthorized, VerifyError, parse_x509_svid, peer_identity,
};

#[test]
fn garbage_bytes_are_refused_as_malformed() {
    let cast = Cast::new();
    let garbage = CertificateDer::from(b"definitely not DER".to_vec());
    let error = cast
        .server_verifier()
        .verify_svid(&garbage, &[])
        .unwrap_err();
    assert!(matches!(error, VerifyError::Svid(SvidError::Malformed(_))));
    assert_eq!(alert_of(&error), AlertDescription::BadCertificate);
}

#[test]
fn every_truncation_of_a_certificate_is_refused() {
    let cast = Cast::new();
    let der = cast.client_svid.chain()[0].to_vec();
    let verifier = cast.server_verifier();
    for len in 0..der.len() {
        let truncated = CertificateDer::from(der[..len].to_vec());
        assert!(
            verifier.verify_svid(&truncated, &[]).is_err(),
            "accepted {len} bytes"
        );
    }
}

#[test]
fn every_single_bit_flip_of_a_valid_svid_is_refused() {
    let cast = Cast::new();
    let der = cast.client_svid.chain()[0].to_vec();
    let verifier = cast.server_verifier();
    verifier
        .verify_svid(&cast.client_svid.chain()[0], &[])
        .unwrap();
    for at in 0..der.len() {
        for bit in [0x01_u8, 0x80] {
            let mut flipped = der.clone();
            flipped[at] ^= bit;
            let flipped = CertificateDer::from(flipped);
            assert!(
                verifier.verify_svid(&flipped, &[]).is_err(),
                "accepted a flip of bit {bit:#04x} at byte {at}"
            );
        }
    }
}

#[test]
fn certificate_with_trailing_bytes_is_refused() {
    let cast = Cast::new();
    let mut der = cast.client_svid.chain()[0].to_vec();
    der.extend_from_slice(b"xx");
    let error = parse_x509_svid(&der).unwrap_err();
    assert_eq!(error, SvidError::TrailingData { len: 2 });
}

#[test]
fn garbage_intermediate_is_refused() {
    let cast = Cast::new();
    let leaf = &cast.client_svid.chain()[0];
    let junk = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00]);
    let error = cast
        .server_verifier()
        .verify_svid(leaf, &[junk])
        .unwrap_err();
    assert!(matches!(error, VerifyError::Svid(SvidError::Malformed(_))));
}

#[test]
fn intermediate_that_is_not_a_ca_is_refused() {
    let cast = Cast::new();
    let leaf = &cast.client_svid.chain()[0];
    let not_a_ca = cast.server_svid.chain()[0].clone();
    let error = cast
        .server_verifier()
        .verify_svid(leaf, &[not_a_ca])
        .unwrap_err();
    assert_eq!(
        error,
        VerifyError::Svid(SvidError::SigningCertNotCa { index: 1 })
    );
}

#[test]
fn server_verifier_checks_the_spiffe_id_not_the_dns_name() {
    let cast = Cast::new();
    let leaf = &cast.server_svid.chain()[0];
    let name = ServerName::try_from("unrelated.example.com").unwrap();
    let verifier = cast.client_verifier();
    verifier
        .verify_server_cert(leaf, &[], &name, &[], UnixTime::now())
        .unwrap();
    // The client's SVID is from the same CA but is not the expected server ID.
    let other = &cast.client_svid.chain()[0];
    let error = verifier
        .verify_server_cert(other, &[], &name, &[], UnixTime::now())
        .unwrap_err();
    assert_eq!(
        error,
        rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure)
    );
}

#[test]
fn client_verifier_sends_no_ca_names_and_requires_a_certificate() {
    let cast = Cast::new();
    let verifier = cast.server_verifier();
    assert!(verifier.root_hint_subjects().is_empty());
    assert!(verifier.offer_client_auth());
    assert!(verifier.client_auth_mandatory());
}

#[test]
fn unauthorized_error_names_the_rule_and_the_id() {
    let error = zt_mtls::Authorizer::one_of([])
        .authorize(&id(CLIENT_ID))
        .unwrap_err();
    assert_eq!(
        error,
        Unauthorized {
            id: id(CLIENT_ID),
            rule: "one_of"
        }
    );
    assert_eq!(
        error.to_string(),
        format!("SPIFFE ID {CLIENT_ID} is not authorized by rule `one_of`")
    );
}

fn alert_of(error: &VerifyError) -> AlertDescription {
    match error.to_tls_error() {
        rustls::Error::InvalidCertificate(e) => AlertDescription::from(e),
        other => panic!("not a certificate error: {other:?}"),
    }
}

#[test]
fn each_refusal_maps_to_a_fitting_alert() {
    let td = "example.org".parse().unwrap();
    let now = std::time::SystemTime::now();
    let cases = [
        (
            VerifyError::Svid(SvidError::NoUriSan),
            AlertDescription::BadCertificate,
        ),
        (
            VerifyError::Svid(SvidError::LeafIsCa),
            AlertDescription::UnsupportedCertificate,
        ),
        (
            VerifyError::Expired {
                not_after: now,
                now,
            },
            AlertDescription::CertificateExpired,
        ),
        (
            VerifyError::NotYetValid {
                not_before: now,
                now,
            },
            AlertDescription::CertificateExpired,
        ),
        (
            VerifyError::UntrustedDomain { trust_domain: td },
            AlertDescription::UnknownCA,
        ),
        (VerifyError::BadSignature, AlertDescription::DecryptError),
        (
            VerifyError::ChainTooLong {
                intermediates: 9,
                max: 4,
            },
            AlertDescription::CertificateUnknown,
        ),
        (
            VerifyError::Unauthorized(Unauthorized {
                id: id(CLIENT_ID),
                rule: "exact",
            }),
            AlertDescription::AccessDenied,
        ),
    ];
    for (error, alert) in cases {
        assert_eq!(alert_of(&error), alert, "{error:?}");
    }
}

#[test]
fn server_never_resumes_a_session() {
    let cast = Cast::new();
    let server = zt_mtls::server_config(cast.server_svid.clone(), cast.server_verifier()).unwrap();
    // A stock client that would resume if the server let it.
    let cert = cast.ca.issue(&DevCertSpec::svid(&id(CLIENT_ID))).unwrap();
    let client = cast.raw_client(&cert);
    for _ in 0..2 {
        let (server_conn, client_conn) =
            handshake_in_memory(Arc::clone(&server), Arc::clone(&client)).unwrap();
        assert_eq!(server_conn.handshake_kind(), Some(HandshakeKind::Full));
        assert_eq!(client_conn.handshake_kind(), Some(HandshakeKind::Full));
    }
}

#[test]
fn peer_identity_is_read_from_a_rustls_connection() {
    let cast = Cast::new();
    let server = zt_mtls::server_config(cast.server_svid.clone(), cast.server_verifier()).unwrap();
    let client = zt_mtls::client_config(cast.client_svid.clone(), cast.client_verifier()).unwrap();
    let (server_conn, client_conn) = handshake_in_memory(server, client).unwrap();
    let client_peer = peer_identity(&server_conn).unwrap();
    let server_peer = peer_identity(&client_conn).unwrap();
    assert_eq!(client_peer.spiffe_id, *cast.client_svid.spiffe_id());
    assert_eq!(client_peer.thumbprint, cast.client_svid.thumbprint());
    assert_eq!(server_peer.spiffe_id, *cast.server_svid.spiffe_id());
}

#[test]
fn connection_before_a_handshake_has_no_peer_identity() {
    let cast = Cast::new();
    let config = zt_mtls::server_config(cast.server_svid.clone(), cast.server_verifier()).unwrap();
    let conn = rustls::ServerConnection::new(config).unwrap();
    assert_eq!(peer_identity(&conn), Err(PeerIdentityError::NoCertificate));
}

#[test]
fn debug_output_never_shows_a_private_key() {
    let cast = Cast::new();
    let key_pem = cast.client_svid.private_key_pem();
    let key_body: String = key_pem.lines().nth(1).unwrap().to_owned();
    let cert = cast.ca.issue(&DevCertSpec::svid(&id(CLIENT_ID))).unwrap();
    let source = zt_mtls::InMemorySvidSource::new(cast.client_svid.clone());
    for debug in [
        format!("{:?}", cast.client_svid),
        format!("{source:?}"),
        format!("{:?}", cast.ca),
        format!("{cert:?}"),
    ] {
        assert!(!debug.contains(&key_body), "{debug}");
        assert!(debug.contains("redacted"), "{debug}");
    }
}

#[test]
fn unusable_key_error_does_not_echo_the_key() {
    let cast = Cast::new();
    let key_pem = cast.server_svid.private_key_pem();
    let error =
        Svid::from_pem(cast.client_svid.chain_pem().as_bytes(), key_pem.as_bytes()).unwrap_err();
    let text = format!("{error} {error:?}");
    let key_body: String = key_pem.lines().nth(1).unwrap().to_owned();
    assert!(!text.contains(&key_body), "{text}");
}

fn tls12_client(cast: &Cast) -> Arc<rustls::ClientConfig> {
    let cert = cast.ca.issue(&DevCertSpec::svid(&id(CLIENT_ID))).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(cast.client_verifier()))
        .with_client_auth_cert(cert.chain().to_vec(), cert.private_key())
        .unwrap();
    Arc::new(config)
}

#[test]
fn tls12_is_refused_by_default_and_verified_when_allowed() {
    let cast = Cast::new();
    let default = zt_mtls::server_config(cast.server_svid.clone(), cast.server_verifier()).unwrap();
    assert!(handshake_in_memory(default, tls12_client(&cast)).is_err());

    let mut options = zt_mtls::TlsOptions::default();
    options.allow_tls12 = true;
    let server =
        zt_mtls::server_config_with(cast.server_svid.clone(), cast.server_verifier(), &options)
            .unwrap();
    let (server_conn, _) = handshake_in_memory(server, tls12_client(&cast)).unwrap();
    assert_eq!(
        server_conn.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_2)
    );
    assert_eq!(
        peer_identity(&server_conn).unwrap().spiffe_id,
        id(CLIENT_ID)
    );
}

/// A tracing writer that keeps everything in memory.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Self;
    fn make_writer(&'a self) -> Self {
        self.clone()
    }
}

#[test]
fn refusal_is_logged_at_debug_with_the_failed_rule() {
    let cast = Cast::new();
    let mut spec = DevCertSpec::svid(&id(CLIENT_ID));
    spec.is_ca = true;
    let cert = cast.ca.issue(&spec).unwrap();
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    let verifier = cast.server_verifier();
    tracing::subscriber::with_default(subscriber, || {
        verifier
            .verify_client_cert(&cert.chain()[0], &[], UnixTime::now())
            .unwrap_err();
    });
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("DEBUG"), "{logs}");
    assert!(!logs.contains("INFO"), "{logs}");
    assert!(logs.contains("rule=\"x509_svid\""), "{logs}");
    assert!(logs.contains("leaf certificate is a CA"), "{logs}");
}
