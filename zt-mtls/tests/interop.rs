//! Interop with other TLS stacks: `curl` with an openssl-made client certificate, and
//! Python's `ssl` module. Needs `curl`, `python3` and `openssl` on the PATH.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Output;

use common::{TIMEOUT, id, td};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::process::Command;
use tokio::task::JoinHandle;
use zt_core::PeerIdentity;
use zt_mtls::{
    AcceptError, Authorizer, SpiffeAcceptor, SpiffeClientVerifier, Svid, TrustBundle,
    TrustBundleSet,
};

const PYTHON_CLIENT: &str = r#"
import socket, ssl, sys
ca, cert, key, port = sys.argv[1:5]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.load_verify_locations(ca)
ctx.check_hostname = False
ctx.load_cert_chain(cert, key)
with socket.create_connection(("127.0.0.1", int(port)), timeout=10) as raw:
    try:
        with ctx.wrap_socket(raw) as tls:
            tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
            data = tls.recv(4096)
            print("accepted" if data else "closed", data.decode(errors="replace"))
    except ssl.SSLError as e:
        print("refused", e.reason)
    except OSError as e:
        print("refused", e)
"#;

fn openssl_certs() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/make-openssl-certs.sh");
    let status = std::process::Command::new("sh")
        .arg(script)
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success(), "make-openssl-certs.sh failed");
    dir
}

/// Serves one HTTP/1.1 request over SPIFFE mTLS; the body is the client's SPIFFE ID.
async fn serve_http_once(
    dir: &Path,
) -> (SocketAddr, JoinHandle<Result<PeerIdentity, AcceptError>>) {
    let ca = std::fs::read(dir.join("ca.pem")).unwrap();
    let bundles =
        TrustBundleSet::new().with(TrustBundle::from_pem(td("example.org"), &ca).unwrap());
    let svid = Svid::from_pem_files(dir.join("server.pem"), dir.join("server.key")).unwrap();
    let verifier = SpiffeClientVerifier::new(bundles, Authorizer::member_of(td("example.org")));
    let acceptor = SpiffeAcceptor::new(zt_mtls::server_config(svid, verifier).unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let (tcp, _) = tokio::time::timeout(TIMEOUT, listener.accept())
            .await
            .unwrap()
            .unwrap();
        let (mut tls, peer) = tokio::time::timeout(TIMEOUT, acceptor.accept(tcp))
            .await
            .unwrap()?;
        let mut request = Vec::new();
        let mut buf = [0_u8; 1024];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024 {
            let n = tokio::time::timeout(TIMEOUT, tls.read(&mut buf))
                .await
                .unwrap()
                .unwrap();
            if n == 0 {
                break;
            }
            request.extend_from_slice(&buf[..n]);
        }
        let body = peer.spiffe_id.to_string();
        let response = format!(
            "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        tls.write_all(response.as_bytes()).await.unwrap();
        let _ = tls.shutdown().await;
        Ok(peer)
    });
    (addr, task)
}

async fn run(command: &mut Command) -> Output {
    tokio::time::timeout(TIMEOUT * 2, command.kill_on_drop(true).output())
        .await
        .expect("client process timed out")
        .expect("client process did not start")
}

#[tokio::test]
async fn curl_with_an_openssl_client_certificate_completes_a_request() {
    let dir = openssl_certs();
    let (addr, server) = serve_http_once(dir.path()).await;
    let d = dir.path();
    let output = run(Command::new("curl")
        .args(["-sS", "--http1.1", "--max-time", "10"])
        .arg("--resolve")
        .arg(format!("localhost:{}:127.0.0.1", addr.port()))
        .arg("--cacert")
        .arg(d.join("ca.pem"))
        .arg("--cert")
        .arg(d.join("client.pem"))
        .arg("--key")
        .arg(d.join("client.key"))
        .arg(format!("https://localhost:{}/", addr.port())))
    .await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(stdout, "spiffe://example.org/ns/prod/sa/web");
    let peer = server.await.unwrap().unwrap();
    assert_eq!(peer.spiffe_id, id("spiffe://example.org/ns/prod/sa/web"));
}

async fn python_client(dir: &Path, cert: &str, addr: SocketAddr) -> String {
    let output = run(Command::new("python3")
        .arg("-c")
        .arg(PYTHON_CLIENT)
        .arg(dir.join("ca.pem"))
        .arg(dir.join(format!("{cert}.pem")))
        .arg(dir.join(format!("{cert}.key")))
        .arg(addr.port().to_string()))
    .await;
    assert!(
        output.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn python_ssl_client_of_the_trust_domain_is_accepted() {
    let dir = openssl_certs();
    let (addr, server) = serve_http_once(dir.path()).await;
    let stdout = python_client(dir.path(), "client", addr).await;
    assert!(stdout.starts_with("accepted"), "{stdout}");
    assert!(
        stdout.contains("spiffe://example.org/ns/prod/sa/web"),
        "{stdout}"
    );
    server.await.unwrap().unwrap();
}

#[tokio::test]
async fn python_ssl_client_from_a_foreign_trust_domain_is_refused() {
    let dir = openssl_certs();
    let (addr, server) = serve_http_once(dir.path()).await;
    let stdout = python_client(dir.path(), "foreign", addr).await;
    assert!(stdout.starts_with("refused"), "{stdout}");
    assert!(stdout.contains("UNKNOWN_CA"), "{stdout}");
    let error = server.await.unwrap().unwrap_err();
    assert_eq!(
        error.tls_error(),
        Some(&rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer
        ))
    );
}
