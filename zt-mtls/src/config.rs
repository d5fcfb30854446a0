//! rustls server and client configs for SPIFFE mutual TLS, with safe defaults.

use std::fmt;
use std::sync::Arc;

use rustls::client::{ResolvesClientCert, Resumption};
use rustls::server::{ClientHello, NoServerSessionStorage, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, ServerConfig, SignatureScheme, SupportedProtocolVersion};

use crate::{SpiffeClientVerifier, SpiffeServerVerifier, SvidSource};

/// Why a TLS config could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// rustls refused the protocol versions for the crypto provider.
    #[error("rustls refused the TLS configuration")]
    Rustls(#[source] rustls::Error),
}

static TLS13_ONLY: &[&SupportedProtocolVersion] = &[&rustls::version::TLS13];

/// Knobs of [`server_config_with`] and [`client_config_with`]. The default is TLS 1.3 only,
/// ALPN `h2` then `http/1.1`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TlsOptions {
    /// Also allow TLS 1.2 (off by default).
    pub allow_tls12: bool,
    /// ALPN protocols, most preferred first.
    pub alpn_protocols: Vec<Vec<u8>>,
}

impl Default for TlsOptions {
    fn default() -> Self {
        Self {
            allow_tls12: false,
            alpn_protocols: vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        }
    }
}

impl TlsOptions {
    fn versions(&self) -> &'static [&'static SupportedProtocolVersion] {
        if self.allow_tls12 {
            rustls::ALL_VERSIONS
        } else {
            TLS13_ONLY
        }
    }
}

/// A server config that presents the SVID of `svids` and requires a client SVID accepted by
/// `verifier`, with [`TlsOptions::default`].
///
/// Session resumption is off (a resumed session would skip the verifier, so a rotated
/// bundle would go unnoticed) and no CA names are sent. While `svids` has no SVID, every
/// handshake fails.
///
/// # Errors
///
/// [`ConfigError`] if rustls refuses the options.
///
/// ```
/// # #[cfg(feature = "dev")] {
/// use zt_mtls::{Authorizer, SpiffeClientVerifier, TrustBundleSet, server_config};
/// use zt_mtls::dev::DevCa;
///
/// let ca = DevCa::new("example.org".parse()?)?;
/// let svid = ca.issue_svid(&"spiffe://example.org/orders".parse()?)?;
/// let verifier = SpiffeClientVerifier::new(
///     TrustBundleSet::new().with(ca.bundle()?),
///     Authorizer::any(),
/// );
/// let config = server_config(svid, verifier)?;
/// assert_eq!(config.alpn_protocols, [b"h2".to_vec(), b"http/1.1".to_vec()]);
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn server_config(
    svids: impl SvidSource,
    verifier: SpiffeClientVerifier,
) -> Result<Arc<ServerConfig>, ConfigError> {
    server_config_with(svids, verifier, &TlsOptions::default())
}

/// As [`server_config`], with `options`.
///
/// # Errors
///
/// [`ConfigError`] if rustls refuses the options.
pub fn server_config_with(
    svids: impl SvidSource,
    verifier: SpiffeClientVerifier,
    options: &TlsOptions,
) -> Result<Arc<ServerConfig>, ConfigError> {
    let mut config = ServerConfig::builder_with_provider(crate::svid::provider())
        .with_protocol_versions(options.versions())
        .map_err(ConfigError::Rustls)?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_cert_resolver(Arc::new(SvidResolver(svids)));
    config.alpn_protocols = options.alpn_protocols.clone();
    config.session_storage = Arc::new(NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    Ok(Arc::new(config))
}

/// A client config that presents the SVID of `svids` and accepts a server SVID accepted by
/// `verifier` (by SPIFFE ID, not DNS name), with [`TlsOptions::default`] and resumption off.
///
/// # Errors
///
/// [`ConfigError`] if rustls refuses the options.
pub fn client_config(
    svids: impl SvidSource,
    verifier: SpiffeServerVerifier,
) -> Result<Arc<ClientConfig>, ConfigError> {
    client_config_with(svids, verifier, &TlsOptions::default())
}

/// As [`client_config`], with `options`.
///
/// # Errors
///
/// [`ConfigError`] if rustls refuses the options.
pub fn client_config_with(
    svids: impl SvidSource,
    verifier: SpiffeServerVerifier,
    options: &TlsOptions,
) -> Result<Arc<ClientConfig>, ConfigError> {
    let mut config = ClientConfig::builder_with_provider(crate::svid::provider())
        .with_protocol_versions(options.versions())
        .map_err(ConfigError::Rustls)?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_client_cert_resolver(Arc::new(SvidResolver(svids)));
    config.alpn_protocols = options.alpn_protocols.clone();
    config.resumption = Resumption::disabled();
    Ok(Arc::new(config))
}

/// Presents the current SVID of a source, on either side.
struct SvidResolver<S>(S);

impl<S: SvidSource> SvidResolver<S> {
    fn current(&self) -> Option<Arc<CertifiedKey>> {
        let svid = self.0.current_svid();
        if svid.is_none() {
            tracing::debug!("no SVID loaded yet; handshake refused");
        }
        svid.map(|svid| Arc::clone(svid.certified_key()))
    }
}

impl<S: SvidSource> ResolvesServerCert for SvidResolver<S> {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current()
    }
}

impl<S: SvidSource> ResolvesClientCert for SvidResolver<S> {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        self.current()
    }

    fn has_certs(&self) -> bool {
        true
    }
}

impl<S: SvidSource> fmt::Debug for SvidResolver<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SvidResolver").field(&self.0).finish()
    }
}
