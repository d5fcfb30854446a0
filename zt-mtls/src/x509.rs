//! The X509-SVID rules that a certificate's own fields must satisfy, read with x509-parser.
//!
//! Chain and signature checks live in [`crate::verify`]; this module only reads fields.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use x509_parser::certificate::X509Certificate;
use x509_parser::error::X509Error;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;
use zt_core::{IdError, SpiffeId, TrustDomain};

/// Why a certificate is not a valid X509-SVID, whatever its chain.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SvidError {
    /// The bytes are not a DER X.509 certificate.
    #[error("certificate is not valid DER X.509: {0}")]
    Malformed(#[source] X509Error),
    /// Bytes follow the certificate.
    #[error("certificate is followed by {len} trailing bytes")]
    TrailingData {
        /// How many bytes follow the certificate.
        len: usize,
    },
    /// The leaf holds no URI subject alternative name, so no SPIFFE ID.
    #[error("leaf certificate holds no URI SAN (an X509-SVID holds exactly one)")]
    NoUriSan,
    /// The leaf holds more than one URI subject alternative name.
    #[error("leaf certificate holds {count} URI SANs (an X509-SVID holds exactly one)")]
    MultipleUriSans {
        /// How many URI SANs the leaf holds.
        count: usize,
    },
    /// The URI SAN is not a valid SPIFFE ID.
    #[error("URI SAN is not a valid SPIFFE ID")]
    InvalidSpiffeId(#[source] IdError),
    /// The URI SAN parses as a SPIFFE ID only after case folding (an uppercase scheme or
    /// trust domain): the X509-SVID must hold the canonical lowercase form, so that every
    /// reader of the certificate sees the same ID.
    #[error("URI SAN is not in canonical form; it would read as {id}")]
    NonCanonicalSpiffeId {
        /// The ID the URI folds to.
        id: SpiffeId,
    },
    /// The SPIFFE ID names a trust domain, not a workload (its path is empty).
    #[error("SPIFFE ID {id} has an empty path; a leaf SVID names a workload")]
    EmptyPath {
        /// The offending ID.
        id: SpiffeId,
    },
    /// The leaf is a CA certificate.
    #[error("leaf certificate is a CA (basicConstraints cA is set)")]
    LeafIsCa,
    /// The leaf has no key usage extension.
    #[error("leaf certificate has no key usage extension")]
    MissingKeyUsage,
    /// The leaf's key usage lacks `digitalSignature`.
    #[error("leaf certificate key usage lacks digitalSignature")]
    MissingDigitalSignature,
    /// The leaf's key usage holds `keyCertSign`.
    #[error("leaf certificate key usage holds keyCertSign")]
    LeafCanSignCertificates,
    /// The leaf's key usage holds `cRLSign`.
    #[error("leaf certificate key usage holds cRLSign")]
    LeafCanSignCrls,
    /// A certificate above the leaf is not a CA.
    #[error("signing certificate {index} is not a CA")]
    SigningCertNotCa {
        /// Position in the chain; the leaf is 0.
        index: usize,
    },
    /// A certificate above the leaf names, in a SPIFFE ID URI SAN, another trust domain than
    /// the leaf's: it belongs to that domain's bundle, not to the leaf's.
    #[error("signing certificate {index} belongs to trust domain {trust_domain}")]
    SigningCertOtherDomain {
        /// Position in the chain; the leaf is 0.
        index: usize,
        /// The trust domain its SPIFFE ID names.
        trust_domain: TrustDomain,
    },
    /// A certificate above the leaf lacks `keyCertSign`.
    #[error("signing certificate {index} key usage lacks keyCertSign")]
    SigningCertCannotSign {
        /// Position in the chain; the leaf is 0.
        index: usize,
    },
}

/// What an X509-SVID leaf certificate says, once its own fields passed the X509-SVID rules.
///
/// Returned by [`parse_x509_svid`]; nothing here says the chain is trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct X509SvidLeaf {
    /// The SPIFFE ID from the one URI SAN.
    pub spiffe_id: SpiffeId,
    /// Start of the validity period.
    pub not_before: SystemTime,
    /// End of the validity period.
    pub not_after: SystemTime,
}

/// Parses DER bytes as an X509-SVID leaf and checks the rules a leaf must satisfy on its own:
/// exactly one URI SAN holding a SPIFFE ID with a non-empty path, spelled in canonical form
/// (lowercase scheme and trust domain), not a CA, key usage with
/// `digitalSignature` and neither `keyCertSign` nor `cRLSign`.
///
/// Does not check the chain, the signature or the validity period.
///
/// # Errors
///
/// [`SvidError`] naming the first rule the certificate broke.
///
/// ```
/// use zt_mtls::{SvidError, parse_x509_svid};
///
/// assert!(matches!(parse_x509_svid(b"not a certificate"), Err(SvidError::Malformed(_))));
/// ```
pub fn parse_x509_svid(der: &[u8]) -> Result<X509SvidLeaf, SvidError> {
    let cert = parse_der(der)?;
    let spiffe_id = leaf_spiffe_id(&cert)?;
    check_leaf_usage(&cert)?;
    Ok(X509SvidLeaf {
        spiffe_id,
        not_before: to_system_time(cert.validity().not_before.timestamp()),
        not_after: to_system_time(cert.validity().not_after.timestamp()),
    })
}

/// Checks a certificate above the leaf: a CA with `keyCertSign`, whose SPIFFE ID, if it
/// carries one, is in the leaf's trust domain. `index` is its position.
pub(crate) fn check_signing_cert(
    der: &[u8],
    index: usize,
    leaf_domain: &TrustDomain,
) -> Result<(), SvidError> {
    let cert = parse_der(der)?;
    if let Some(trust_domain) = other_domain_named(&cert, leaf_domain)? {
        return Err(SvidError::SigningCertOtherDomain {
            index,
            trust_domain,
        });
    }
    let is_ca = cert
        .basic_constraints()
        .map_err(SvidError::Malformed)?
        .is_some_and(|bc| bc.value.ca);
    if !is_ca {
        return Err(SvidError::SigningCertNotCa { index });
    }
    let can_sign = cert
        .key_usage()
        .map_err(SvidError::Malformed)?
        .is_some_and(|ku| ku.value.key_cert_sign());
    if !can_sign {
        return Err(SvidError::SigningCertCannotSign { index });
    }
    Ok(())
}

/// The trust domain of a SPIFFE ID URI SAN of `cert` that is not `leaf_domain`, if any.
fn other_domain_named(
    cert: &X509Certificate<'_>,
    leaf_domain: &TrustDomain,
) -> Result<Option<TrustDomain>, SvidError> {
    let san = cert
        .subject_alternative_name()
        .map_err(SvidError::Malformed)?;
    let other = san
        .iter()
        .flat_map(|ext| ext.value.general_names.iter())
        .filter_map(|name| match name {
            GeneralName::URI(uri) => SpiffeId::new(uri).ok(),
            _ => None,
        })
        .map(|id| id.trust_domain().clone())
        .find(|domain| domain != leaf_domain);
    Ok(other)
}

/// Why a certificate cannot be a trust anchor of a trust domain's bundle.
pub(crate) enum AnchorFault {
    /// Not a CA: basicConstraints without cA, a key usage without keyCertSign, or unreadable.
    NotCa,
    /// Its SPIFFE ID names another trust domain.
    OtherDomain(TrustDomain),
}

/// Checks a trust bundle certificate of `trust_domain`: basicConstraints with cA set, a key
/// usage, if present, holding keyCertSign, and no SPIFFE ID of another trust domain.
pub(crate) fn check_anchor(der: &[u8], trust_domain: &TrustDomain) -> Result<(), AnchorFault> {
    let cert = parse_der(der).map_err(|_| AnchorFault::NotCa)?;
    let is_ca = matches!(cert.basic_constraints(), Ok(Some(bc)) if bc.value.ca);
    let usage_allows = match cert.key_usage() {
        Ok(None) => true,
        Ok(Some(usage)) => usage.value.key_cert_sign(),
        Err(_) => false,
    };
    if !(is_ca && usage_allows) {
        return Err(AnchorFault::NotCa);
    }
    match other_domain_named(&cert, trust_domain) {
        Ok(None) => Ok(()),
        Ok(Some(other)) => Err(AnchorFault::OtherDomain(other)),
        Err(_) => Err(AnchorFault::NotCa),
    }
}

fn parse_der(der: &[u8]) -> Result<X509Certificate<'_>, SvidError> {
    let (rest, cert) = X509Certificate::from_der(der).map_err(|e| match e {
        x509_parser::nom::Err::Error(e) | x509_parser::nom::Err::Failure(e) => {
            SvidError::Malformed(e)
        }
        x509_parser::nom::Err::Incomplete(_) => SvidError::Malformed(X509Error::InvalidCertificate),
    })?;
    if !rest.is_empty() {
        return Err(SvidError::TrailingData { len: rest.len() });
    }
    Ok(cert)
}

fn leaf_spiffe_id(cert: &X509Certificate<'_>) -> Result<SpiffeId, SvidError> {
    // Exactly one URI SAN: two would make the identity ambiguous.
    let san = cert
        .subject_alternative_name()
        .map_err(SvidError::Malformed)?;
    let mut uris = san
        .iter()
        .flat_map(|ext| ext.value.general_names.iter())
        .filter_map(|name| match name {
            GeneralName::URI(uri) => Some(*uri),
            _ => None,
        });
    let uri = uris.next().ok_or(SvidError::NoUriSan)?;
    let extra = uris.count();
    if extra > 0 {
        return Err(SvidError::MultipleUriSans { count: extra + 1 });
    }

    // The one URI is a workload ID: valid, and with a path.
    let id = SpiffeId::new(uri).map_err(SvidError::InvalidSpiffeId)?;
    if !is_canonical(uri, &id) {
        return Err(SvidError::NonCanonicalSpiffeId { id });
    }
    if id.path().is_empty() {
        return Err(SvidError::EmptyPath { id });
    }
    Ok(id)
}

/// Whether `uri` is exactly the canonical spelling of `id`: zt-core folds the case of the
/// scheme and trust domain, and an SVID must not depend on that folding.
fn is_canonical(uri: &str, id: &SpiffeId) -> bool {
    uri.strip_prefix("spiffe://")
        .and_then(|rest| rest.strip_prefix(id.trust_domain().as_str()))
        .is_some_and(|path| path == id.path())
}

fn check_leaf_usage(cert: &X509Certificate<'_>) -> Result<(), SvidError> {
    let is_ca = cert
        .basic_constraints()
        .map_err(SvidError::Malformed)?
        .is_some_and(|bc| bc.value.ca);
    if is_ca {
        return Err(SvidError::LeafIsCa);
    }
    let usage = cert
        .key_usage()
        .map_err(SvidError::Malformed)?
        .ok_or(SvidError::MissingKeyUsage)?
        .value;
    if !usage.digital_signature() {
        return Err(SvidError::MissingDigitalSignature);
    }
    if usage.key_cert_sign() {
        return Err(SvidError::LeafCanSignCertificates);
    }
    if usage.crl_sign() {
        return Err(SvidError::LeafCanSignCrls);
    }
    Ok(())
}

/// Seconds since the Unix epoch as a `SystemTime`; times before the epoch stand at it.
pub(crate) fn to_system_time(unix_seconds: i64) -> SystemTime {
    let secs = u64::try_from(unix_seconds).unwrap_or(0);
    UNIX_EPOCH
        .checked_add(Duration::from_secs(secs))
        .unwrap_or(UNIX_EPOCH)
}
