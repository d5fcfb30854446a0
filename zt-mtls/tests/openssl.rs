//! Certificates made by the openssl CLI (tests/fixtures/make-openssl-certs.sh) work as well
//! as rcgen's, and the bad ones are refused the same way.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{call, id, raw_call, raw_client, serve_once, td};
use rustls::{CertificateError, Error as TlsError};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use zt_mtls::{
    AcceptError, Authorizer, LoadError, SpiffeAcceptor, SpiffeClientVerifier, SpiffeConnector,
    SpiffeServerVerifier, Svid, SvidError, TrustBundleSet,
};

/// Runs the fixture script into a fresh directory.
fn openssl_certs() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/make-openssl-certs.sh");
    let status = Command::new("sh")
        .arg(script)
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success(), "make-openssl-certs.sh failed");
    dir
}

fn file(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

fn svid(dir: &Path, name: &str) -> Svid {
    Svid::from_pem_files(
        file(dir, &format!("{name}.pem")),
        file(dir, &format!("{name}.key")),
    )
    .unwrap()
}

fn bundles(dir: &Path) -> TrustBundleSet {
    let ca = std::fs::read(file(dir, "ca.pem")).unwrap();
    TrustBundleSet::new()
        .with_pem(td("example.org"), &ca)
        .unwrap()
}

fn acceptor(dir: &Path) -> SpiffeAcceptor {
    let verifier =
        SpiffeClientVerifier::new(bundles(dir), Authorizer::member_of(td("example.org")));
    SpiffeAcceptor::new(zt_mtls::server_config(svid(dir, "server"), verifier).unwrap())
}

fn server_verifier(dir: &Path) -> SpiffeServerVerifier {
    SpiffeServerVerifier::new(
        bundles(dir),
        Authorizer::exact(id("spiffe://example.org/ns/prod/sa/orders")),
    )
}

fn raw_client_from(dir: &Path, name: &str) -> std::sync::Arc<rustls::ClientConfig> {
    let chain = CertificateDer::pem_file_iter(file(dir, &format!("{name}.pem")))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(file(dir, &format!("{name}.key"))).unwrap();
    raw_client(server_verifier(dir), chain, key)
}

async fn server_error_for(dir: &Path, client: &str) -> TlsError {
    let (addr, server) = serve_once(acceptor(dir)).await;
    assert!(raw_call(raw_client_from(dir, client), addr).await.is_err());
    match server.await.unwrap() {
        Err(e @ AcceptError::Handshake(_)) => e.tls_error().cloned().unwrap(),
        other => panic!("server accepted {client}: {other:?}"),
    }
}

#[tokio::test]
async fn openssl_made_svids_complete_a_mutual_handshake() {
    let dir = openssl_certs();
    let (addr, server) = serve_once(acceptor(dir.path())).await;
    let client_svid = svid(dir.path(), "client");
    let connector = SpiffeConnector::new(
        zt_mtls::client_config(client_svid.clone(), server_verifier(dir.path())).unwrap(),
    );
    let (server_peer, _) = call(&connector, addr).await.unwrap();
    let client_peer = server.await.unwrap().unwrap();
    assert_eq!(
        server_peer.spiffe_id,
        id("spiffe://example.org/ns/prod/sa/orders")
    );
    assert_eq!(
        client_peer.spiffe_id,
        id("spiffe://example.org/ns/prod/sa/web")
    );
    assert_eq!(client_peer.thumbprint, client_svid.thumbprint());
}

#[tokio::test]
async fn openssl_chain_through_an_intermediate_is_accepted() {
    let dir = openssl_certs();
    let (addr, server) = serve_once(acceptor(dir.path())).await;
    raw_call(raw_client_from(dir.path(), "client-chain"), addr)
        .await
        .unwrap();
    let peer = server.await.unwrap().unwrap();
    assert_eq!(peer.spiffe_id, id("spiffe://example.org/ns/prod/sa/batch"));
}

#[tokio::test]
async fn openssl_cert_with_two_uri_sans_is_refused() {
    let dir = openssl_certs();
    let error = server_error_for(dir.path(), "two-uris").await;
    assert_eq!(
        error,
        TlsError::InvalidCertificate(CertificateError::NotValidForName)
    );
}

#[tokio::test]
async fn openssl_ca_leaf_is_refused() {
    let dir = openssl_certs();
    let error = server_error_for(dir.path(), "ca-leaf").await;
    assert_eq!(
        error,
        TlsError::InvalidCertificate(CertificateError::InvalidPurpose)
    );
}

#[tokio::test]
async fn openssl_client_from_a_foreign_trust_domain_is_refused() {
    let dir = openssl_certs();
    let error = server_error_for(dir.path(), "foreign").await;
    assert_eq!(
        error,
        TlsError::InvalidCertificate(CertificateError::UnknownIssuer)
    );
}

#[test]
fn openssl_cert_with_two_uri_sans_does_not_load_as_an_svid() {
    let dir = openssl_certs();
    let error = Svid::from_pem_files(
        file(dir.path(), "two-uris.pem"),
        file(dir.path(), "two-uris.key"),
    )
    .unwrap_err();
    assert!(matches!(
        error,
        LoadError::NotAnSvid(SvidError::MultipleUriSans { count: 2 })
    ));
}

#[test]
fn openssl_key_that_does_not_match_the_chain_does_not_load() {
    let dir = openssl_certs();
    let error = Svid::from_pem_files(
        file(dir.path(), "client.pem"),
        file(dir.path(), "server.key"),
    )
    .unwrap_err();
    assert!(matches!(error, LoadError::Key(_)), "{error:?}");
}
