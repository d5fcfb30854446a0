//! rustls certificate verifiers for both sides of a SPIFFE mutual-TLS handshake.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use zt_core::Clock;

use crate::verify::{SvidChainCheck, VerifiedSvid, VerifyError};
use crate::{Authorizer, BundleSource};

/// Server side: verifies a client's X509-SVID and runs the authorizer.
///
/// Enforces the X509-SVID rules (one URI SAN with a workload SPIFFE ID in canonical
/// lowercase form, leaf not a CA with `digitalSignature` and without `keyCertSign`/`cRLSign`,
/// signing certificates CAs with `keyCertSign` whose own SPIFFE ID, if any, is in the leaf's
/// trust domain), checks the chain against the bundle of the leaf's own trust domain only,
/// with validity read from the injected clock, and then asks the [`Authorizer`]. Client
/// authentication is mandatory and no CA names are sent in the certificate request.
///
/// It does not check revocation: zt-tower checks each request's peer against zt-core's
/// revocation list, so a revoked peer is refused on its next request, not at the handshake.
///
/// ```
/// # #[cfg(feature = "dev")] {
/// use zt_mtls::{Authorizer, SpiffeClientVerifier, TrustBundleSet};
/// use zt_mtls::dev::DevCa;
///
/// let ca = DevCa::new("example.org".parse()?)?;
/// let verifier = SpiffeClientVerifier::new(
///     TrustBundleSet::new().with(ca.bundle()?),
///     Authorizer::member_of("example.org".parse()?),
/// );
/// let svid = ca.issue_svid(&"spiffe://example.org/web".parse()?)?;
/// let peer = verifier.verify_svid(&svid.chain()[0], &svid.chain()[1..])?;
/// assert_eq!(peer.spiffe_id, *svid.spiffe_id());
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct SpiffeClientVerifier {
    check: SvidChainCheck,
}

impl SpiffeClientVerifier {
    /// A verifier trusting the domains of `bundles` and admitting the IDs `authorizer` allows.
    pub fn new(bundles: impl BundleSource, authorizer: Authorizer) -> Self {
        Self {
            check: SvidChainCheck::new(Arc::new(bundles), authorizer),
        }
    }

    /// Reads validity periods from `clock` instead of the system clock.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.check.set_clock(clock);
        self
    }

    /// Checks a client chain outside a handshake, as the handshake would.
    ///
    /// # Errors
    ///
    /// [`VerifyError`] naming the rule that failed.
    pub fn verify_svid(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
    ) -> Result<VerifiedSvid, VerifyError> {
        self.check
            .verify(end_entity, intermediates, webpki::KeyUsage::client_auth())
    }
}

impl ClientCertVerifier for SpiffeClientVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        // Federated trust domains are not advertised.
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        log_outcome("client", self.verify_svid(end_entity, intermediates))?;
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, self.check.algorithms())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, self.check.algorithms())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.check.algorithms().supported_schemes()
    }
}

/// Client side: verifies a server's X509-SVID by its SPIFFE ID, never by DNS name.
///
/// The same X509-SVID rules as [`SpiffeClientVerifier`]; the server name the client dials is
/// ignored and the [`Authorizer`] decides which server IDs are acceptable (typically
/// [`Authorizer::exact`]).
///
/// It does not check revocation.
#[derive(Debug, Clone)]
pub struct SpiffeServerVerifier {
    check: SvidChainCheck,
}

impl SpiffeServerVerifier {
    /// A verifier trusting the domains of `bundles` and accepting the servers `authorizer`
    /// allows.
    pub fn new(bundles: impl BundleSource, authorizer: Authorizer) -> Self {
        Self {
            check: SvidChainCheck::new(Arc::new(bundles), authorizer),
        }
    }

    /// Reads validity periods from `clock` instead of the system clock.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.check.set_clock(clock);
        self
    }

    /// Checks a server chain outside a handshake, as the handshake would.
    ///
    /// # Errors
    ///
    /// [`VerifyError`] naming the rule that failed.
    pub fn verify_svid(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
    ) -> Result<VerifiedSvid, VerifyError> {
        self.check
            .verify(end_entity, intermediates, webpki::KeyUsage::server_auth())
    }
}

impl ServerCertVerifier for SpiffeServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        log_outcome("server", self.verify_svid(end_entity, intermediates))?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, self.check.algorithms())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, self.check.algorithms())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.check.algorithms().supported_schemes()
    }
}

/// Logs the outcome at `debug` and turns a refusal into the rustls error carrying its alert.
fn log_outcome(
    side: &'static str,
    outcome: Result<VerifiedSvid, VerifyError>,
) -> Result<VerifiedSvid, rustls::Error> {
    match outcome {
        Ok(peer) => {
            tracing::debug!(peer.side = side, peer.id = %peer.spiffe_id, "mTLS peer verified");
            Ok(peer)
        }
        Err(error) => {
            tracing::debug!(
                peer.side = side,
                rule = error.rule(),
                error = %crate::report::error_chain(&error),
                "mTLS peer refused"
            );
            Err(error.to_tls_error())
        }
    }
}
