//! The X509-SVID rules that a certificate's own fields must satisfy, read with x509-parser.
//!
//! Chain and signature checks live in [`crate::verify`]; this module only reads fields.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use x509_parser::certificate::X509Certificate;
use x509_parser::error::X509Error;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::FromDer;
use zt_core::{IdError, SpiffeId};

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
/// exactly one URI SAN holding a SPIFFE ID with a non-empty path, not a CA, key usage with
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

/// Checks a certificate above the leaf: a CA with `keyCertSign`. `index` is its position.
pub(crate) fn check_signing_cert(der: &[u8], index: usize) -> Result<(), SvidError> {
    let cert = parse_der(der)?;
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
    if id.path().is_empty() {
        return Err(SvidError::EmptyPath { id });
    }
    Ok(id)
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
