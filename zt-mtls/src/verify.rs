//! The X509-SVID chain check shared by both verifiers, and its typed errors.

use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::{CertificateError, OtherError};
use rustls_pki_types::{CertificateDer, UnixTime};
use zt_core::{Clock, SpiffeId, SystemClock, TrustDomain};

use crate::x509::{SvidError, X509SvidLeaf, check_signing_cert, parse_x509_svid};
use crate::{Authorizer, BundleSource, Unauthorized};

/// Most intermediate CA certificates accepted between a leaf and its trust anchor.
pub const MAX_INTERMEDIATES: usize = 4;

/// Why a peer's certificate chain was refused: which rule failed.
///
/// At the handshake each variant becomes the fitting TLS alert, see
/// [`VerifyError::to_tls_error`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The chain holds more intermediates than [`MAX_INTERMEDIATES`].
    #[error("chain holds {intermediates} intermediates, more than the {max} allowed")]
    ChainTooLong {
        /// Intermediates presented.
        intermediates: usize,
        /// The limit.
        max: usize,
    },
    /// A certificate's own fields break an X509-SVID rule.
    #[error("certificate breaks an X509-SVID rule")]
    Svid(#[source] SvidError),
    /// The leaf's trust domain has no bundle in the set.
    #[error("trust domain {trust_domain} is not trusted")]
    UntrustedDomain {
        /// The leaf's trust domain.
        trust_domain: TrustDomain,
    },
    /// The leaf's validity period has not begun.
    #[error("certificate is not valid before {not_before:?} (now {now:?})")]
    NotYetValid {
        /// Start of validity.
        not_before: SystemTime,
        /// The clock's time.
        now: SystemTime,
    },
    /// The leaf's validity period has ended.
    #[error("certificate expired at {not_after:?} (now {now:?})")]
    Expired {
        /// End of validity.
        not_after: SystemTime,
        /// The clock's time.
        now: SystemTime,
    },
    /// The chain does not lead to a CA of the leaf's own trust domain bundle.
    #[error("chain does not lead to a trust anchor of {trust_domain}")]
    UnknownIssuer {
        /// The bundle the chain was checked against.
        trust_domain: TrustDomain,
    },
    /// A signature in the chain does not verify.
    #[error("a signature in the chain does not verify")]
    BadSignature,
    /// Any other failure of chain validation (webpki's reason is kept).
    #[error("chain validation failed: {0}")]
    Chain(webpki::Error),
    /// The chain is valid but the authorizer refused the SPIFFE ID.
    #[error(transparent)]
    Unauthorized(Unauthorized),
}

impl VerifyError {
    /// The rustls error that ends the handshake, chosen so the peer gets the fitting alert:
    ///
    /// | failure | rustls error | alert |
    /// | --- | --- | --- |
    /// | bad DER, URI SAN rules | `BadEncoding`, `NotValidForName` | `bad_certificate` |
    /// | CA flag and key usage rules | `InvalidPurpose` | `unsupported_certificate` |
    /// | expired, not yet valid | `ExpiredContext`, `NotValidYetContext` | `certificate_expired` |
    /// | untrusted domain, unknown issuer | `UnknownIssuer` | `unknown_ca` |
    /// | bad signature | `BadSignature` | `decrypt_error` |
    /// | authorizer | `ApplicationVerificationFailure` | `access_denied` |
    /// | chain too long, other chain errors | `Other` (holds this error) | `certificate_unknown` |
    pub fn to_tls_error(&self) -> rustls::Error {
        let error = match self {
            Self::Svid(svid) => svid_certificate_error(svid),
            Self::UntrustedDomain { .. } | Self::UnknownIssuer { .. } => {
                CertificateError::UnknownIssuer
            }
            Self::NotYetValid { not_before, now } => CertificateError::NotValidYetContext {
                time: unix(*now),
                not_before: unix(*not_before),
            },
            Self::Expired { not_after, now } => CertificateError::ExpiredContext {
                time: unix(*now),
                not_after: unix(*not_after),
            },
            Self::BadSignature => CertificateError::BadSignature,
            Self::Unauthorized(_) => CertificateError::ApplicationVerificationFailure,
            Self::ChainTooLong { .. } | Self::Chain(_) => {
                CertificateError::Other(OtherError(Arc::new(self.clone())))
            }
        };
        rustls::Error::InvalidCertificate(error)
    }

    /// A short name of the failed rule, for logs and metrics.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::ChainTooLong { .. } => "chain_too_long",
            Self::Svid(_) => "x509_svid",
            Self::UntrustedDomain { .. } => "untrusted_domain",
            Self::NotYetValid { .. } => "not_yet_valid",
            Self::Expired { .. } => "expired",
            Self::UnknownIssuer { .. } => "unknown_issuer",
            Self::BadSignature => "bad_signature",
            Self::Chain(_) => "chain",
            Self::Unauthorized(_) => "authorizer",
        }
    }
}

/// What the chain check proved about the peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSvid {
    /// The peer's SPIFFE ID.
    pub spiffe_id: SpiffeId,
    /// When the peer's leaf stops being valid.
    pub not_after: SystemTime,
}

/// The shared X509-SVID check: trust bundles, authorizer, clock and signature algorithms.
#[derive(Clone)]
pub(crate) struct SvidChainCheck {
    bundles: Arc<dyn BundleSource>,
    authorizer: Authorizer,
    clock: Arc<dyn Clock>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl SvidChainCheck {
    pub(crate) fn new(bundles: Arc<dyn BundleSource>, authorizer: Authorizer) -> Self {
        Self {
            bundles,
            authorizer,
            clock: Arc::new(SystemClock),
            algorithms: crate::svid::provider().signature_verification_algorithms,
        }
    }

    pub(crate) fn set_clock(&mut self, clock: Arc<dyn Clock>) {
        self.clock = clock;
    }

    pub(crate) fn algorithms(&self) -> &WebPkiSupportedAlgorithms {
        &self.algorithms
    }

    /// Runs every rule in order; the authorizer runs last, after the cryptographic checks.
    pub(crate) fn verify(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        usage: webpki::KeyUsage,
    ) -> Result<VerifiedSvid, VerifyError> {
        // 1. Bound the work before parsing anything.
        if intermediates.len() > MAX_INTERMEDIATES {
            return Err(VerifyError::ChainTooLong {
                intermediates: intermediates.len(),
                max: MAX_INTERMEDIATES,
            });
        }

        // 2. The certificates' own X509-SVID rules.
        let leaf = parse_x509_svid(end_entity).map_err(VerifyError::Svid)?;
        for (i, cert) in intermediates.iter().enumerate() {
            check_signing_cert(cert, i + 1, leaf.spiffe_id.trust_domain())
                .map_err(VerifyError::Svid)?;
        }

        // 3. The bundle of the leaf's own trust domain, and no other.
        let trust_domain = leaf.spiffe_id.trust_domain();
        let bundle =
            self.bundles
                .bundle_for(trust_domain)
                .ok_or_else(|| VerifyError::UntrustedDomain {
                    trust_domain: trust_domain.clone(),
                })?;

        // 4. Validity by the injected clock, then path and signatures by webpki.
        let now = self.clock.now();
        check_validity(&leaf, now)?;
        let cert = webpki::EndEntityCert::try_from(end_entity).map_err(VerifyError::Chain)?;
        cert.verify_for_usage(
            self.algorithms.all,
            bundle.anchors(),
            intermediates,
            unix(now),
            usage,
            None,
            None,
        )
        .map_err(|e| chain_error(e, trust_domain))?;

        // 5. Only now, the authorizer.
        self.authorizer
            .authorize(&leaf.spiffe_id)
            .map_err(VerifyError::Unauthorized)?;
        Ok(VerifiedSvid {
            spiffe_id: leaf.spiffe_id,
            not_after: leaf.not_after,
        })
    }
}

impl fmt::Debug for SvidChainCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SvidChainCheck")
            .field("bundles", &self.bundles)
            .field("authorizer", &self.authorizer)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

fn svid_certificate_error(error: &SvidError) -> CertificateError {
    match error {
        SvidError::Malformed(_) | SvidError::TrailingData { .. } => CertificateError::BadEncoding,
        SvidError::NoUriSan
        | SvidError::MultipleUriSans { .. }
        | SvidError::InvalidSpiffeId(_)
        | SvidError::NonCanonicalSpiffeId { .. }
        | SvidError::EmptyPath { .. } => CertificateError::NotValidForName,
        SvidError::LeafIsCa
        | SvidError::MissingKeyUsage
        | SvidError::MissingDigitalSignature
        | SvidError::LeafCanSignCertificates
        | SvidError::LeafCanSignCrls
        | SvidError::SigningCertNotCa { .. }
        | SvidError::SigningCertOtherDomain { .. }
        | SvidError::SigningCertCannotSign { .. } => CertificateError::InvalidPurpose,
    }
}

fn check_validity(leaf: &X509SvidLeaf, now: SystemTime) -> Result<(), VerifyError> {
    if now < leaf.not_before {
        return Err(VerifyError::NotYetValid {
            not_before: leaf.not_before,
            now,
        });
    }
    if now > leaf.not_after {
        return Err(VerifyError::Expired {
            not_after: leaf.not_after,
            now,
        });
    }
    Ok(())
}

fn chain_error(error: webpki::Error, trust_domain: &TrustDomain) -> VerifyError {
    match error {
        webpki::Error::UnknownIssuer => VerifyError::UnknownIssuer {
            trust_domain: trust_domain.clone(),
        },
        webpki::Error::InvalidSignatureForPublicKey => VerifyError::BadSignature,
        webpki::Error::CertExpired { time, not_after } => VerifyError::Expired {
            not_after: system(not_after),
            now: system(time),
        },
        webpki::Error::CertNotValidYet { time, not_before } => VerifyError::NotYetValid {
            not_before: system(not_before),
            now: system(time),
        },
        other => VerifyError::Chain(other),
    }
}

fn unix(at: SystemTime) -> UnixTime {
    UnixTime::since_unix_epoch(at.duration_since(UNIX_EPOCH).unwrap_or_default())
}

fn system(at: UnixTime) -> SystemTime {
    crate::x509::to_system_time(i64::try_from(at.as_secs()).unwrap_or(i64::MAX))
}
