//! Helpers shared by the integration tests: a one-shot server and client on 127.0.0.1.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use zt_core::PeerIdentity;
use zt_mtls::dev::{DevCa, DevCert};
use zt_mtls::{
    AcceptError, Authorizer, SpiffeAcceptor, SpiffeClientVerifier, SpiffeConnector,
    SpiffeServerVerifier, Svid, TrustBundleSet,
};

pub const TIMEOUT: Duration = Duration::from_secs(10);
pub const SERVER_ID: &str = "spiffe://example.org/ns/prod/sa/orders";
pub const CLIENT_ID: &str = "spiffe://example.org/ns/prod/sa/web";

pub fn id(s: &str) -> zt_core::SpiffeId {
    s.parse().unwrap()
}

pub fn td(s: &str) -> zt_core::TrustDomain {
    s.parse().unwrap()
}

/// The usual cast: one CA for example.org and SVIDs for a server and a client.
pub struct Cast {
    pub ca: DevCa,
    pub bundles: TrustBundleSet,
    pub server_svid: Svid,
    pub client_svid: Svid,
}

impl Cast {
    pub fn new() -> Self {
        let ca = DevCa::new(td("example.org")).unwrap();
        let bundles = TrustBundleSet::new().with(ca.bundle().unwrap());
        let server_svid = ca.issue_svid(&id(SERVER_ID)).unwrap();
        let client_svid = ca.issue_svid(&id(CLIENT_ID)).unwrap();
        Self {
            ca,
            bundles,
            server_svid,
            client_svid,
        }
    }

    pub fn server_verifier(&self) -> SpiffeClientVerifier {
        SpiffeClientVerifier::new(self.bundles.clone(), Authorizer::any())
    }

    pub fn client_verifier(&self) -> SpiffeServerVerifier {
        SpiffeServerVerifier::new(self.bundles.clone(), Authorizer::exact(id(SERVER_ID)))
    }

    pub fn acceptor(&self) -> SpiffeAcceptor {
        let config =
            zt_mtls::server_config(self.server_svid.clone(), self.server_verifier()).unwrap();
        SpiffeAcceptor::new(config)
    }

    pub fn connector(&self) -> SpiffeConnector {
        let config =
            zt_mtls::client_config(self.client_svid.clone(), self.client_verifier()).unwrap();
        SpiffeConnector::new(config)
    }

    /// A plain rustls client presenting `cert`, verifying the server as `connector` does.
    pub fn raw_client(&self, cert: &DevCert) -> Arc<ClientConfig> {
        raw_client(
            self.client_verifier(),
            cert.chain().to_vec(),
            cert.private_key(),
        )
    }
}

/// A plain rustls TLS 1.3 client presenting `chain` and verifying the server with `verifier`.
pub fn raw_client(
    verifier: SpiffeServerVerifier,
    chain: Vec<rustls_pki_types::CertificateDer<'static>>,
    key: rustls_pki_types::PrivateKeyDer<'static>,
) -> Arc<ClientConfig> {
    {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_client_auth_cert(chain, key)
            .unwrap();
        Arc::new(config)
    }
}

/// Accepts one connection, echoes a line with the client's ID, and returns the outcome.
pub async fn serve_once(
    acceptor: SpiffeAcceptor,
) -> (SocketAddr, JoinHandle<Result<PeerIdentity, AcceptError>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let (tcp, _) = tokio::time::timeout(TIMEOUT, listener.accept())
            .await
            .expect("accept timed out")
            .unwrap();
        let (mut tls, peer) = tokio::time::timeout(TIMEOUT, acceptor.accept(tcp))
            .await
            .expect("handshake timed out")?;
        let reply = format!("hello {}\n", peer.spiffe_id);
        let _ = tls.write_all(reply.as_bytes()).await;
        let _ = tls.shutdown().await;
        Ok(peer)
    });
    (addr, task)
}

/// Connects with `connector` and reads the server's reply.
pub async fn call(
    connector: &SpiffeConnector,
    addr: SocketAddr,
) -> Result<(PeerIdentity, String), String> {
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let (mut tls, peer) = tokio::time::timeout(TIMEOUT, connector.connect(tcp))
        .await
        .expect("connect timed out")
        .map_err(|e| format!("{e:?}"))?;
    let mut reply = String::new();
    tokio::time::timeout(TIMEOUT, tls.read_to_string(&mut reply))
        .await
        .expect("read timed out")
        .map_err(|e| e.to_string())?;
    Ok((peer, reply))
}

/// Connects with a raw rustls client config; returns the first I/O error, if any.
pub async fn raw_call(
    config: Arc<ClientConfig>,
    addr: SocketAddr,
) -> Result<String, std::io::Error> {
    let tcp = TcpStream::connect(addr).await?;
    let connector = tokio_rustls::TlsConnector::from(config);
    let name = ServerName::try_from("localhost").unwrap();
    let mut tls = tokio::time::timeout(TIMEOUT, connector.connect(name, tcp))
        .await
        .expect("connect timed out")?;
    let mut reply = String::new();
    tokio::time::timeout(TIMEOUT, tls.read_to_string(&mut reply))
        .await
        .expect("read timed out")?;
    Ok(reply)
}

/// The rustls error inside an I/O error.
pub fn tls_error(error: &std::io::Error) -> Option<&rustls::Error> {
    error.get_ref()?.downcast_ref::<rustls::Error>()
}

/// Runs a handshake between two in-memory connections; returns both or the first error.
pub fn handshake_in_memory(
    server_config: Arc<rustls::ServerConfig>,
    client_config: Arc<ClientConfig>,
) -> Result<(rustls::ServerConnection, rustls::ClientConnection), rustls::Error> {
    let name = ServerName::try_from("localhost").unwrap();
    let mut client = rustls::ClientConnection::new(client_config, name)?;
    let mut server = rustls::ServerConnection::new(server_config)?;
    let mut buf = Vec::new();
    for _ in 0..8 {
        if !client.is_handshaking() && !server.is_handshaking() {
            return Ok((server, client));
        }
        buf.clear();
        while client.wants_write() {
            client.write_tls(&mut buf).unwrap();
        }
        server.read_tls(&mut &buf[..]).unwrap();
        server.process_new_packets()?;
        buf.clear();
        while server.wants_write() {
            server.write_tls(&mut buf).unwrap();
        }
        client.read_tls(&mut &buf[..]).unwrap();
        client.process_new_packets()?;
    }
    panic!("handshake did not finish");
}
