//! Mutual-TLS handshakes over 127.0.0.1 between a SPIFFE server and clients, good and bad.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use common::{CLIENT_ID, Cast, SERVER_ID, call, id, raw_call, serve_once, td, tls_error};
use rustls::{AlertDescription, CertificateError, Error as TlsError};
use zt_core::ManualClock;
use zt_mtls::dev::{DevCa, DevCertSpec};
use zt_mtls::{
    AcceptError, Authorizer, InMemorySvidSource, SpiffeAcceptor, SpiffeClientVerifier,
    SpiffeConnector, SpiffeServerVerifier, SvidError, VerifyError,
};

/// Serves once with `acceptor`, connects with `cert` as client, and returns the server's
/// rustls error and the client's.
async fn refused(
    cast: &Cast,
    acceptor: SpiffeAcceptor,
    cert: &zt_mtls::dev::DevCert,
) -> (TlsError, TlsError) {
    let (addr, server) = serve_once(acceptor).await;
    let client = raw_call(cast.raw_client(cert), addr).await;
    let server = server.await.unwrap();
    let server_error = match server {
        Err(e @ AcceptError::Handshake(_)) => e.tls_error().cloned().unwrap(),
        other => panic!("server accepted a bad client: {other:?}"),
    };
    let client_error = client.expect_err("client read a reply");
    (server_error, tls_error(&client_error).cloned().unwrap())
}

/// The rule the server verifier names for `cert`, checked outside a handshake.
fn rule_of(cast: &Cast, cert: &zt_mtls::dev::DevCert) -> VerifyError {
    let chain = cert.chain();
    cast.server_verifier()
        .verify_svid(&chain[0], &chain[1..])
        .expect_err("verifier accepted a bad certificate")
}

fn invalid(error: CertificateError) -> TlsError {
    TlsError::InvalidCertificate(error)
}

fn alert(description: AlertDescription) -> TlsError {
    TlsError::AlertReceived(description)
}

#[tokio::test]
async fn both_sides_see_each_others_spiffe_id() {
    let cast = Cast::new();
    let (addr, server) = serve_once(cast.acceptor()).await;
    let (server_peer, reply) = call(&cast.connector(), addr).await.unwrap();
    let client_peer = server.await.unwrap().unwrap();

    assert_eq!(server_peer.spiffe_id, id(SERVER_ID));
    assert_eq!(client_peer.spiffe_id, id(CLIENT_ID));
    assert_eq!(client_peer.thumbprint, cast.client_svid.thumbprint());
    assert_eq!(client_peer.not_after, cast.client_svid.not_after());
    assert_eq!(reply, format!("hello {CLIENT_ID}\n"));
}

#[tokio::test]
async fn handshake_uses_tls13_and_offers_h2() {
    let cast = Cast::new();
    let (addr, server) = serve_once(cast.acceptor()).await;
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (tls, _) = cast.connector().connect(tcp).await.unwrap();
    let (_, conn) = tls.get_ref();
    assert_eq!(
        conn.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3)
    );
    assert_eq!(conn.alpn_protocol(), Some(&b"h2"[..]));
    drop(tls);
    let _ = server.await;
}

#[tokio::test]
async fn intermediate_ca_chain_is_accepted() {
    let cast = Cast::new();
    let intermediate = cast.ca.intermediate().unwrap();
    let cert = intermediate
        .issue(&DevCertSpec::svid(&id(CLIENT_ID)))
        .unwrap();
    assert_eq!(cert.chain().len(), 2);
    let (addr, server) = serve_once(cast.acceptor()).await;
    raw_call(cast.raw_client(&cert), addr).await.unwrap();
    assert_eq!(server.await.unwrap().unwrap().spiffe_id, id(CLIENT_ID));
}

#[tokio::test]
async fn expired_client_svid_is_refused_with_certificate_expired() {
    let cast = Cast::new();
    let mut spec = DevCertSpec::svid(&id(CLIENT_ID));
    spec.not_before = SystemTime::now() - Duration::from_secs(7200);
    spec.not_after = SystemTime::now() - Duration::from_secs(3600);
    let cert = cast.ca.issue(&spec).unwrap();
    let (server, client) = refused(&cast, cast.acceptor(), &cert).await;
    assert!(matches!(
        server,
        TlsError::InvalidCertificate(CertificateError::ExpiredContext { .. })
    ));
    assert_eq!(
        client,
        TlsError::AlertReceived(AlertDescription::CertificateExpired)
    );
}

#[tokio::test]
async fn not_yet_valid_client_svid_is_refused() {
    let cast = Cast::new();
    let mut spec = DevCertSpec::svid(&id(CLIENT_ID));
    spec.not_before = SystemTime::now() + Duration::from_secs(3600);
    spec.not_after = SystemTime::now() + Duration::from_secs(7200);
    let cert = cast.ca.issue(&spec).unwrap();
    let (server, client) = refused(&cast, cast.acceptor(), &cert).await;
    assert!(matches!(
        server,
        TlsError::InvalidCertificate(CertificateError::NotValidYetContext { .. })
    ));
    assert_eq!(
        client,
        TlsError::AlertReceived(AlertDescription::CertificateExpired)
    );
}

#[tokio::test]
async fn expiry_is_read_from_the_injected_clock() {
    let cast = Cast::new();
    let clock = ManualClock::new(SystemTime::now() + Duration::from_secs(2 * 24 * 3600));
    let verifier = cast.server_verifier().with_clock(Arc::new(clock));
    let acceptor =
        SpiffeAcceptor::new(zt_mtls::server_config(cast.server_svid.clone(), verifier).unwrap());
    let cert = cast.ca.issue(&DevCertSpec::svid(&id(CLIENT_ID))).unwrap();
    let (server, _) = refused(&cast, acceptor, &cert).await;
    assert!(matches!(
        server,
        TlsError::InvalidCertificate(CertificateError::ExpiredContext { .. })
    ));
}

#[tokio::test]
async fn client_from_an_untrusted_trust_domain_is_refused_with_unknown_ca() {
    let cast = Cast::new();
    let foreign = DevCa::new(td("evil.example")).unwrap();
    let cert = foreign
        .issue(&DevCertSpec::svid(&id("spiffe://evil.example/web")))
        .unwrap();
    let (server, client) = refused(&cast, cast.acceptor(), &cert).await;
    assert_eq!(
        server,
        TlsError::InvalidCertificate(CertificateError::UnknownIssuer)
    );
    assert_eq!(client, TlsError::AlertReceived(AlertDescription::UnknownCA));
}

#[tokio::test]
async fn id_of_one_domain_signed_by_another_trusted_domain_is_refused() {
    // partner.example is trusted, but its CA cannot vouch for example.org IDs.
    let mut cast = Cast::new();
    let partner = DevCa::new(td("partner.example")).unwrap();
    cast.bundles.insert(partner.bundle().unwrap());
    let cert = partner.issue(&DevCertSpec::svid(&id(CLIENT_ID))).unwrap();
    let verifier = cast.server_verifier();
    let error = verifier.verify_svid(&cert.chain()[0], &[]).unwrap_err();
    let expected = VerifyError::UnknownIssuer {
        trust_domain: td("example.org"),
    };
    assert_eq!(error, expected);

    let (server, client) = refused(&cast, cast.acceptor(), &cert).await;
    assert_eq!(
        server,
        TlsError::InvalidCertificate(CertificateError::UnknownIssuer)
    );
    assert_eq!(client, TlsError::AlertReceived(AlertDescription::UnknownCA));
}

#[tokio::test]
async fn client_signed_by_an_unknown_issuer_is_refused() {
    let cast = Cast::new();
    let impostor = DevCa::new(td("example.org")).unwrap();
    let cert = impostor.issue(&DevCertSpec::svid(&id(CLIENT_ID))).unwrap();
    // Same trust domain and CA name: webpki finds the name, then the signature fails.
    let (server, client) = refused(&cast, cast.acceptor(), &cert).await;
    assert_eq!(server, invalid(CertificateError::BadSignature));
    assert_eq!(client, alert(AlertDescription::DecryptError));
    assert_eq!(rule_of(&cast, &cert), VerifyError::BadSignature);
}

#[tokio::test]
async fn client_with_two_uri_sans_is_refused_with_bad_certificate() {
    let cast = Cast::new();
    let mut spec = DevCertSpec::svid(&id(CLIENT_ID));
    spec.uri_sans.push("spiffe://example.org/admin".into());
    let cert = cast.ca.issue(&spec).unwrap();
    let (server, client) = refused(&cast, cast.acceptor(), &cert).await;
    assert_eq!(server, invalid(CertificateError::NotValidForName));
    assert_eq!(client, alert(AlertDescription::BadCertificate));
    assert_eq!(
        rule_of(&cast, &cert),
        VerifyError::Svid(SvidError::MultipleUriSans { count: 2 })
    );
}

#[tokio::test]
async fn client_without_uri_san_is_refused() {
    let cast = Cast::new();
    let mut spec = DevCertSpec::svid(&id(CLIENT_ID));
    spec.uri_sans.clear();
    spec.dns_sans.push("web.example.org".into());
    let cert = cast.ca.issue(&spec).unwrap();
    let (server, _) = refused(&cast, cast.acceptor(), &cert).await;
    assert_eq!(server, invalid(CertificateError::NotValidForName));
    assert_eq!(
        rule_of(&cast, &cert),
        VerifyError::Svid(SvidError::NoUriSan)
    );
}

#[tokio::test]
async fn client_whose_uri_san_names_only_a_trust_domain_is_refused() {
    let cast = Cast::new();
    let mut spec = DevCertSpec::svid(&id(CLIENT_ID));
    spec.uri_sans = vec!["spiffe://example.org".into()];
    let cert = cast.ca.issue(&spec).unwrap();
    let (server, _) = refused(&cast, cast.acceptor(), &cert).await;
    assert_eq!(server, invalid(CertificateError::NotValidForName));
    assert!(matches!(
        rule_of(&cast, &cert),
        VerifyError::Svid(SvidError::EmptyPath { .. })
    ));
}

#[tokio::test]
async fn client_whose_uri_san_is_not_spiffe_is_refused() {
    let cast = Cast::new();
    let mut spec = DevCertSpec::svid(&id(CLIENT_ID));
    spec.uri_sans = vec!["https://example.org/web".into()];
    let cert = cast.ca.issue(&spec).unwrap();
    let (server, _) = refused(&cast, cast.acceptor(), &cert).await;
    assert_eq!(server, invalid(CertificateError::NotValidForName));
    assert!(matches!(
        rule_of(&cast, &cert),
        VerifyError::Svid(SvidError::InvalidSpiffeId(_))
    ));
}

#[tokio::test]
async fn ca_leaf_is_refused() {
    let cast = Cast::new();
    let mut spec = DevCertSpec::svid(&id(CLIENT_ID));
    spec.is_ca = true;
    let cert = cast.ca.issue(&spec).unwrap();
    let (server, client) = refused(&cast, cast.acceptor(), &cert).await;
    assert_eq!(server, invalid(CertificateError::InvalidPurpose));
    assert_eq!(client, alert(AlertDescription::UnsupportedCertificate));
    assert_eq!(
        rule_of(&cast, &cert),
        VerifyError::Svid(SvidError::LeafIsCa)
    );
}

#[tokio::test]
async fn leaf_with_key_cert_sign_is_refused() {
    let cast = Cast::new();
    let mut spec = DevCertSpec::svid(&id(CLIENT_ID));
    spec.key_cert_sign = true;
    let cert = cast.ca.issue(&spec).unwrap();
    let (server, _) = refused(&cast, cast.acceptor(), &cert).await;
    assert_eq!(server, invalid(CertificateError::InvalidPurpose));
    assert_eq!(
        rule_of(&cast, &cert),
        VerifyError::Svid(SvidError::LeafCanSignCertificates)
    );
}

#[tokio::test]
async fn leaf_with_crl_sign_is_refused() {
    let cast = Cast::new();
    let mut spec = DevCertSpec::svid(&id(CLIENT_ID));
    spec.crl_sign = true;
    let cert = cast.ca.issue(&spec).unwrap();
    let (server, _) = refused(&cast, cast.acceptor(), &cert).await;
    assert_eq!(server, invalid(CertificateError::InvalidPurpose));
    assert_eq!(
        rule_of(&cast, &cert),
        VerifyError::Svid(SvidError::LeafCanSignCrls)
    );
}

#[tokio::test]
async fn leaf_without_digital_signature_is_refused() {
    let cast = Cast::new();
    let mut spec = DevCertSpec::svid(&id(CLIENT_ID));
    spec.digital_signature = false;
    // Keep a key usage extension, with a bit that is allowed but not enough.
    spec.key_usage = true;
    spec.key_agreement = true;
    let cert = cast.ca.issue(&spec).unwrap();
    let (server, _) = refused(&cast, cast.acceptor(), &cert).await;
    assert_eq!(server, invalid(CertificateError::InvalidPurpose));
    assert_eq!(
        rule_of(&cast, &cert),
        VerifyError::Svid(SvidError::MissingDigitalSignature)
    );
}

#[tokio::test]
async fn leaf_without_key_usage_is_refused() {
    let cast = Cast::new();
    let mut spec = DevCertSpec::svid(&id(CLIENT_ID));
    spec.key_usage = false;
    let cert = cast.ca.issue(&spec).unwrap();
    let (server, _) = refused(&cast, cast.acceptor(), &cert).await;
    assert_eq!(server, invalid(CertificateError::InvalidPurpose));
    assert_eq!(
        rule_of(&cast, &cert),
        VerifyError::Svid(SvidError::MissingKeyUsage)
    );
}

#[tokio::test]
async fn chain_longer_than_the_limit_is_refused() {
    let cast = Cast::new();
    let mut issuer = cast.ca.intermediate().unwrap();
    for _ in 0..zt_mtls::MAX_INTERMEDIATES {
        issuer = issuer.intermediate().unwrap();
    }
    let cert = issuer.issue(&DevCertSpec::svid(&id(CLIENT_ID))).unwrap();
    assert_eq!(cert.chain().len(), zt_mtls::MAX_INTERMEDIATES + 2);
    let (server, client) = refused(&cast, cast.acceptor(), &cert).await;
    assert!(matches!(
        server,
        TlsError::InvalidCertificate(CertificateError::Other(_))
    ));
    assert_eq!(client, alert(AlertDescription::CertificateUnknown));
    assert_eq!(
        rule_of(&cast, &cert),
        VerifyError::ChainTooLong {
            intermediates: zt_mtls::MAX_INTERMEDIATES + 1,
            max: zt_mtls::MAX_INTERMEDIATES
        }
    );
}

#[tokio::test]
async fn client_outside_the_authorizer_is_refused_with_access_denied() {
    let cast = Cast::new();
    let verifier = SpiffeClientVerifier::new(
        cast.bundles.clone(),
        Authorizer::one_of([id("spiffe://example.org/ns/prod/sa/billing")]),
    );
    let acceptor =
        SpiffeAcceptor::new(zt_mtls::server_config(cast.server_svid.clone(), verifier).unwrap());
    let cert = cast.ca.issue(&DevCertSpec::svid(&id(CLIENT_ID))).unwrap();
    let (server, client) = refused(&cast, acceptor, &cert).await;
    assert_eq!(
        server,
        TlsError::InvalidCertificate(CertificateError::ApplicationVerificationFailure)
    );
    assert_eq!(
        client,
        TlsError::AlertReceived(AlertDescription::AccessDenied)
    );
}

#[tokio::test]
async fn client_refuses_a_server_with_an_unexpected_id() {
    let cast = Cast::new();
    let (addr, server) = serve_once(cast.acceptor()).await;
    let verifier = SpiffeServerVerifier::new(
        cast.bundles.clone(),
        Authorizer::exact(id("spiffe://example.org/ns/prod/sa/billing")),
    );
    let connector =
        SpiffeConnector::new(zt_mtls::client_config(cast.client_svid.clone(), verifier).unwrap());
    let error = call(&connector, addr).await.unwrap_err();
    assert!(error.contains("ApplicationVerificationFailure"), "{error}");
    assert!(server.await.unwrap().is_err());
}

#[tokio::test]
async fn client_refuses_a_server_from_an_untrusted_domain() {
    let cast = Cast::new();
    let foreign = DevCa::new(td("evil.example")).unwrap();
    let svid = foreign
        .issue_svid(&id("spiffe://evil.example/orders"))
        .unwrap();
    let acceptor =
        SpiffeAcceptor::new(zt_mtls::server_config(svid, cast.server_verifier()).unwrap());
    let (addr, server) = serve_once(acceptor).await;
    let error = call(&cast.connector(), addr).await.unwrap_err();
    assert!(error.contains("UnknownIssuer"), "{error}");
    assert!(server.await.unwrap().is_err());
}

#[tokio::test]
async fn server_without_an_svid_refuses_every_handshake() {
    let cast = Cast::new();
    let source = Arc::new(InMemorySvidSource::empty());
    let config = zt_mtls::server_config(Arc::clone(&source), cast.server_verifier()).unwrap();
    let (addr, server) = serve_once(SpiffeAcceptor::new(Arc::clone(&config))).await;
    assert!(call(&cast.connector(), addr).await.is_err());
    assert!(server.await.unwrap().is_err());

    // Once an SVID is set, the same config serves.
    source.set(cast.server_svid.clone());
    let (addr, server) = serve_once(SpiffeAcceptor::new(config)).await;
    call(&cast.connector(), addr).await.unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn client_without_a_certificate_is_refused() {
    let cast = Cast::new();
    let (addr, server) = serve_once(cast.acceptor()).await;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(cast.client_verifier()))
        .with_no_client_auth();
    assert!(raw_call(Arc::new(config), addr).await.is_err());
    let error = server.await.unwrap().unwrap_err();
    assert_eq!(error.tls_error(), Some(&TlsError::NoCertificatesPresented));
}
