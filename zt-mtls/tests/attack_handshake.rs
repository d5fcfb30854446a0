//! Attacks on the handshake: resumption, early data, downgrade, and handshakes with no SVID.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::{CLIENT_ID, Cast, handshake_in_memory, id};
use rustls::{HandshakeKind, ServerConfig};
use zt_mtls::dev::DevCertSpec;
use zt_mtls::{InMemorySvidSource, TlsOptions};

/// A stock rustls server that hands out TLS 1.3 tickets and caches TLS 1.2 sessions.
fn resuming_server(
    cast: &Cast,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<ServerConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .unwrap()
        .with_client_cert_verifier(Arc::new(cast.server_verifier()))
        .with_single_cert(
            cast.server_svid.chain().to_vec(),
            cast.server_svid.private_key(),
        )
        .unwrap();
    config.ticketer = rustls::crypto::aws_lc_rs::Ticketer::new().unwrap();
    Arc::new(config)
}

fn kinds(
    server: &Arc<ServerConfig>,
    client: &Arc<rustls::ClientConfig>,
) -> Vec<Option<HandshakeKind>> {
    (0..3)
        .map(|_| {
            let (_, client_conn) =
                handshake_in_memory(Arc::clone(server), Arc::clone(client)).unwrap();
            client_conn.handshake_kind()
        })
        .collect()
}

#[test]
fn client_never_resumes_even_when_the_server_offers_tickets() {
    let cast = Cast::new();
    let server = resuming_server(&cast, &[&rustls::version::TLS13]);
    // Control: a stock client does resume against this server.
    let stock = cast.raw_client(&cast.ca.issue(&DevCertSpec::svid(&id(CLIENT_ID))).unwrap());
    assert!(kinds(&server, &stock).contains(&Some(HandshakeKind::Resumed)));

    let ours = zt_mtls::client_config(cast.client_svid.clone(), cast.client_verifier()).unwrap();
    assert!(
        kinds(&server, &ours)
            .iter()
            .all(|kind| *kind == Some(HandshakeKind::Full))
    );
}

#[test]
fn server_with_tls12_allowed_never_resumes_a_tls12_session() {
    let cast = Cast::new();
    let mut options = TlsOptions::default();
    options.allow_tls12 = true;
    let server =
        zt_mtls::server_config_with(cast.server_svid.clone(), cast.server_verifier(), &options)
            .unwrap();
    let cert = cast.ca.issue(&DevCertSpec::svid(&id(CLIENT_ID))).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls12 = Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS12])
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(cast.client_verifier()))
            .with_client_auth_cert(cert.chain().to_vec(), cert.private_key())
            .unwrap(),
    );
    // Control: the same stock client resumes TLS 1.2 against a resuming server.
    let control = resuming_server(&cast, &[&rustls::version::TLS12]);
    assert!(kinds(&control, &tls12).contains(&Some(HandshakeKind::Resumed)));

    assert!(
        kinds(&server, &tls12)
            .iter()
            .all(|kind| *kind == Some(HandshakeKind::Full))
    );
}

#[test]
fn server_never_accepts_early_data() {
    let cast = Cast::new();
    let server = zt_mtls::server_config(cast.server_svid.clone(), cast.server_verifier()).unwrap();
    assert_eq!(server.max_early_data_size, 0);
    assert_eq!(server.send_tls13_tickets, 0);
    let cert = cast.ca.issue(&DevCertSpec::svid(&id(CLIENT_ID))).unwrap();
    let mut client = (*cast.raw_client(&cert)).clone();
    client.enable_early_data = true;
    let client = Arc::new(client);
    for _ in 0..2 {
        let (server_conn, client_conn) =
            handshake_in_memory(Arc::clone(&server), Arc::clone(&client)).unwrap();
        assert!(!client_conn.is_early_data_accepted());
        assert_eq!(server_conn.handshake_kind(), Some(HandshakeKind::Full));
    }
}

#[test]
fn server_whose_svid_is_cleared_refuses_handshakes_again() {
    let cast = Cast::new();
    let source = Arc::new(InMemorySvidSource::empty());
    let server = zt_mtls::server_config(Arc::clone(&source), cast.server_verifier()).unwrap();
    let client = zt_mtls::client_config(cast.client_svid.clone(), cast.client_verifier()).unwrap();
    assert!(handshake_in_memory(Arc::clone(&server), Arc::clone(&client)).is_err());
    source.set(cast.server_svid.clone());
    handshake_in_memory(Arc::clone(&server), Arc::clone(&client)).unwrap();
    source.clear();
    assert!(handshake_in_memory(server, client).is_err());
}

#[test]
fn client_without_an_svid_is_refused_by_the_server() {
    let cast = Cast::new();
    let server = zt_mtls::server_config(cast.server_svid.clone(), cast.server_verifier()).unwrap();
    let client =
        zt_mtls::client_config(InMemorySvidSource::empty(), cast.client_verifier()).unwrap();
    assert!(handshake_in_memory(server, client).is_err());
}

#[test]
fn server_svid_with_the_right_dns_name_but_another_spiffe_id_is_refused() {
    let cast = Cast::new();
    let mut spec = DevCertSpec::svid(&id("spiffe://example.org/ns/prod/sa/impostor"));
    spec.dns_sans = vec!["localhost".into()];
    let impostor = cast.ca.issue(&spec).unwrap().into_svid().unwrap();
    let server = zt_mtls::server_config(impostor, cast.server_verifier()).unwrap();
    let client = zt_mtls::client_config(cast.client_svid.clone(), cast.client_verifier()).unwrap();
    let error = handshake_in_memory(server, client).unwrap_err();
    assert_eq!(
        error,
        rustls::Error::InvalidCertificate(rustls::CertificateError::ApplicationVerificationFailure)
    );
}
