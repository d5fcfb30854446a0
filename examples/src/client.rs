//! An HTTP/1.1 client over SPIFFE mTLS, one connection per call.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use zt_mtls::{SpiffeConnector, TlsOptions};

use crate::BoxError;

/// How long one call may take, handshake included.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// TLS options for the example clients: HTTP/1.1 only, so one hyper handshake fits all.
pub fn http1_tls_options() -> TlsOptions {
    let mut options = TlsOptions::default();
    options.alpn_protocols = vec![b"http/1.1".to_vec()];
    options
}

/// What a call got back.
#[derive(Debug)]
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

/// An HTTP/1.1 client over SPIFFE mTLS that opens a fresh connection (and handshake) for
/// every call, so each call shows its own handshake outcome.
#[derive(Debug, Clone)]
pub struct MtlsClient {
    connector: SpiffeConnector,
    server: SocketAddr,
}

impl MtlsClient {
    /// A client of `server` using `config` (see [`http1_tls_options`]).
    pub fn new(config: Arc<rustls::ClientConfig>, server: SocketAddr) -> Self {
        Self {
            connector: SpiffeConnector::new(config),
            server,
        }
    }

    /// Sends `request` on a new connection, within [`CALL_TIMEOUT`].
    ///
    /// # Errors
    ///
    /// Connection, handshake or HTTP errors, or the timeout.
    pub async fn send(&self, request: Request<Full<Bytes>>) -> Result<Reply, BoxError> {
        tokio::time::timeout(CALL_TIMEOUT, self.send_now(request))
            .await
            .map_err(|_| BoxError::from("call timed out"))?
    }

    async fn send_now(&self, request: Request<Full<Bytes>>) -> Result<Reply, BoxError> {
        let tcp = TcpStream::connect(self.server).await?;
        let (tls, _server) = self.connector.connect(tcp).await?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
        let driver = tokio::spawn(connection);
        let response = match sender.send_request(request).await {
            Ok(response) => response,
            // The connection's own error says why (a TLS alert from the server, say).
            Err(e) => return Err(connection_error(driver).await.unwrap_or_else(|| e.into())),
        };
        let (parts, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        driver.abort();
        Ok(Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }
}

/// The error that ended a client connection, if it ended with one in good time.
async fn connection_error(
    driver: tokio::task::JoinHandle<Result<(), hyper::Error>>,
) -> Option<BoxError> {
    match tokio::time::timeout(Duration::from_secs(1), driver).await {
        Ok(Ok(Err(e))) => Some(e.into()),
        _ => None,
    }
}

/// The innermost cause of `error`, which is usually the one that explains it (a TLS alert,
/// a refused connection).
pub fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
