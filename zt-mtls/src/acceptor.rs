//! tokio acceptor and connector that yield each stream with its verified peer.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use rustls::{ClientConfig, ServerConfig};
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::{TlsAcceptor, TlsConnector, client, server};
use zt_core::PeerIdentity;

use crate::{PeerIdentityError, peer_identity};

/// Why an incoming or outgoing connection did not yield a verified peer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AcceptError {
    /// The TLS handshake failed; a refused certificate shows here, with the rustls error
    /// inside the I/O error.
    #[error("TLS handshake failed")]
    Handshake(#[source] std::io::Error),
    /// The handshake completed but the peer's identity could not be read.
    #[error("no peer identity after the handshake")]
    Identity(#[source] PeerIdentityError),
}

impl AcceptError {
    /// The rustls error that ended the handshake, if that is what happened.
    pub fn tls_error(&self) -> Option<&rustls::Error> {
        match self {
            Self::Handshake(io) => io.get_ref()?.downcast_ref::<rustls::Error>(),
            Self::Identity(_) => None,
        }
    }
}

/// Accepts TLS connections with a [`crate::server_config`] and yields each stream with the
/// client's [`PeerIdentity`].
///
/// Put a timeout around [`SpiffeAcceptor::accept`]: a peer that stalls the handshake holds
/// the future.
#[derive(Clone)]
pub struct SpiffeAcceptor {
    inner: TlsAcceptor,
}

impl SpiffeAcceptor {
    /// An acceptor for `config`.
    pub fn new(config: Arc<ServerConfig>) -> Self {
        Self {
            inner: TlsAcceptor::from(config),
        }
    }

    /// The tokio-rustls acceptor inside.
    pub fn tls_acceptor(&self) -> &TlsAcceptor {
        &self.inner
    }

    /// Runs the handshake on `io` and reads the verified client identity.
    ///
    /// # Errors
    ///
    /// [`AcceptError`] if the handshake fails or yields no SVID.
    pub async fn accept<IO>(
        &self,
        io: IO,
    ) -> Result<(server::TlsStream<IO>, PeerIdentity), AcceptError>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let stream = self
            .inner
            .accept(io)
            .await
            .map_err(AcceptError::Handshake)?;
        let peer = peer_identity(stream.get_ref().1).map_err(AcceptError::Identity)?;
        tracing::debug!(peer.id = %peer.spiffe_id, "mTLS connection accepted");
        Ok((stream, peer))
    }
}

impl std::fmt::Debug for SpiffeAcceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpiffeAcceptor").finish_non_exhaustive()
    }
}

/// Opens TLS connections with a [`crate::client_config`] and yields each stream with the
/// server's [`PeerIdentity`].
///
/// The server is identified by its SPIFFE ID (checked by the config's verifier), so the
/// server name only fills SNI; by default it is the address `127.0.0.1`, which sends none.
#[derive(Clone)]
pub struct SpiffeConnector {
    inner: TlsConnector,
    server_name: ServerName<'static>,
}

impl SpiffeConnector {
    /// A connector for `config`.
    pub fn new(config: Arc<ClientConfig>) -> Self {
        Self {
            inner: TlsConnector::from(config),
            server_name: ServerName::from(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        }
    }

    /// Sends `server_name` as SNI (it is not used to verify the server).
    #[must_use]
    pub fn with_server_name(mut self, server_name: ServerName<'static>) -> Self {
        self.server_name = server_name;
        self
    }

    /// Runs the handshake on `io` and reads the verified server identity.
    ///
    /// # Errors
    ///
    /// [`AcceptError`] if the handshake fails or yields no SVID.
    pub async fn connect<IO>(
        &self,
        io: IO,
    ) -> Result<(client::TlsStream<IO>, PeerIdentity), AcceptError>
    where
        IO: AsyncRead + AsyncWrite + Unpin,
    {
        let stream = self
            .inner
            .connect(self.server_name.clone(), io)
            .await
            .map_err(AcceptError::Handshake)?;
        let peer = peer_identity(stream.get_ref().1).map_err(AcceptError::Identity)?;
        tracing::debug!(peer.id = %peer.spiffe_id, "mTLS connection established");
        Ok((stream, peer))
    }
}

impl std::fmt::Debug for SpiffeConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpiffeConnector")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}
