//! Serving mTLS connections: a listener that completes SPIFFE handshakes, and hyper's
//! connection loop with the peer identity in every request.
//!
//! [`SpiffeListener`] accepts TCP connections and runs each handshake in its own task
//! (bounded in time and number), yielding only connections whose client presented an
//! accepted X509-SVID. [`serve_connection`] serves one of them with hyper (HTTP/1.1 and
//! HTTP/2), wrapping the service in [`AddTransportIdentity`]; [`serve`] runs the whole
//! loop. With the `axum` feature the listener also works with `axum::serve` (see
//! the `axum` module).
//!
//! ```no_run
//! # async fn run(acceptor: zt_mtls::SpiffeAcceptor) -> std::io::Result<()> {
//! use std::convert::Infallible;
//! use http::{Request, Response};
//! use hyper::body::Incoming;
//! use zt_core::TransportIdentity;
//! use zt_tower::serve::{SpiffeListener, serve};
//!
//! let tcp = tokio::net::TcpListener::bind("127.0.0.1:8443").await?;
//! let listener = SpiffeListener::new(tcp, acceptor);
//! let service = tower::service_fn(|request: Request<Incoming>| async move {
//!     let peer = request.extensions().get::<TransportIdentity>().and_then(|t| t.peer());
//!     let id = peer.map(|p| p.spiffe_id.to_string()).unwrap_or_default();
//!     Ok::<_, Infallible>(Response::new(http_body_util::Full::from(id)))
//! });
//! serve(listener, service).await;
//! # Ok(())
//! # }
//! ```

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::server::TlsStream;
use tower::BoxError;
use tower_service::Service;
use tracing::debug;
use zt_core::TransportIdentity;
use zt_mtls::SpiffeAcceptor;

use crate::transport::AddTransportIdentity;

/// How long a client may take to complete the TLS handshake by default.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a client may take to send a request head (HTTP/1.1) by default.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How many handshakes may be in progress at once by default; further connections are
/// closed at once until some finish.
pub const DEFAULT_MAX_PENDING_HANDSHAKES: usize = 1024;

/// Where an accepted connection came from and what its handshake proved.
#[derive(Debug, Clone)]
pub struct ConnectionInfo {
    /// The client's socket address.
    pub remote_addr: SocketAddr,
    /// The verified identity of the client.
    pub identity: TransportIdentity,
}

type Handshake = Result<(TlsStream<TcpStream>, ConnectionInfo), BoxError>;

/// Accepts TCP connections and yields those whose mutual-TLS handshake succeeded, each with
/// the client's verified identity. Failed handshakes are logged at debug level and dropped.
#[derive(Debug)]
pub struct SpiffeListener {
    tcp: TcpListener,
    acceptor: SpiffeAcceptor,
    handshakes: JoinSet<Handshake>,
    handshake_timeout: Duration,
    max_pending: usize,
}

impl SpiffeListener {
    /// A listener completing handshakes on `tcp` with `acceptor`.
    pub fn new(tcp: TcpListener, acceptor: SpiffeAcceptor) -> Self {
        Self {
            tcp,
            acceptor,
            handshakes: JoinSet::new(),
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            max_pending: DEFAULT_MAX_PENDING_HANDSHAKES,
        }
    }

    /// Gives each client `timeout` to complete its handshake (default 10 seconds).
    #[must_use]
    pub fn with_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Allows at most `max` handshakes in progress at once (default 1024).
    #[must_use]
    pub fn with_max_pending_handshakes(mut self, max: usize) -> Self {
        self.max_pending = max.max(1);
        self
    }

    /// The local address the listener is bound to.
    ///
    /// # Errors
    ///
    /// The operating system's error, if the address cannot be read.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.local_addr()
    }

    /// The next connection whose handshake succeeded. Never fails: errors of `accept` and
    /// failed handshakes are logged and skipped.
    pub async fn accept(&mut self) -> (TlsStream<TcpStream>, ConnectionInfo) {
        loop {
            tokio::select! {
                accepted = self.tcp.accept() => match accepted {
                    Ok((tcp, remote_addr)) => self.start_handshake(tcp, remote_addr),
                    Err(e) => {
                        // Out of file descriptors and the like: back off briefly.
                        debug!(error = %e, "zt: TCP accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                Some(done) = self.handshakes.join_next() => match done {
                    Ok(Ok(connection)) => return connection,
                    Ok(Err(e)) => debug!(error = %e, "zt: mTLS handshake refused"),
                    Err(e) => debug!(error = %e, "zt: mTLS handshake task ended"),
                },
            }
        }
    }

    fn start_handshake(&mut self, tcp: TcpStream, remote_addr: SocketAddr) {
        if self.handshakes.len() >= self.max_pending {
            debug!(%remote_addr, "zt: too many handshakes in progress; connection closed");
            return;
        }
        let acceptor = self.acceptor.clone();
        let timeout = self.handshake_timeout;
        self.handshakes.spawn(async move {
            let handshake = tokio::time::timeout(timeout, acceptor.accept(tcp)).await;
            let (stream, peer) = match handshake {
                Ok(Ok(accepted)) => accepted,
                Ok(Err(e)) => {
                    crate::telemetry::count_refused_handshake(
                        crate::telemetry::handshake_failure_reason(&e),
                    );
                    return Err(e.into());
                }
                Err(_) => {
                    crate::telemetry::count_refused_handshake("timeout");
                    return Err("handshake timed out".into());
                }
            };
            let identity = TransportIdentity::Verified(Arc::new(peer));
            Ok((
                stream,
                ConnectionInfo {
                    remote_addr,
                    identity,
                },
            ))
        });
    }
}

/// Serves one connection with hyper (HTTP/1.1 or HTTP/2, as negotiated), every request
/// carrying `identity` in its extensions. Returns when the connection closes.
///
/// # Errors
///
/// hyper's error if the connection fails.
pub async fn serve_connection<IO, S, B>(
    io: IO,
    identity: TransportIdentity,
    service: S,
) -> Result<(), BoxError>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    serve_connection_with_header_timeout(io, identity, service, DEFAULT_HEADER_READ_TIMEOUT).await
}

/// As [`serve_connection`], giving the client `header_timeout` to send each request head
/// (HTTP/1.1) before the connection is closed.
///
/// # Errors
///
/// hyper's error if the connection fails or the client is too slow.
pub async fn serve_connection_with_header_timeout<IO, S, B>(
    io: IO,
    identity: TransportIdentity,
    service: S,
    header_timeout: Duration,
) -> Result<(), BoxError>
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let service = TowerToHyperService::new(AddTransportIdentity::new(service, identity));
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // Without a timer hyper enforces no header timeout at all: a slow client would hold
    // its connection (and a task) for ever.
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    builder.serve_connection(TokioIo::new(io), service).await
}

/// Accepts connections from `listener` for ever, serving each in its own task with a clone
/// of `service`.
pub async fn serve<S, B>(mut listener: SpiffeListener, service: S)
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    loop {
        let (stream, info) = listener.accept().await;
        let service = service.clone();
        tokio::spawn(async move {
            if let Err(e) = serve_connection(stream, info.identity, service).await {
                debug!(remote_addr = %info.remote_addr, error = %e, "zt: connection ended");
            }
        });
    }
}
