//! An X509-SVID with its private key, ready to present at a handshake.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use zt_core::{CertThumbprint, SpiffeId};

use crate::pem;
use crate::x509::{SvidError, check_signing_cert, parse_x509_svid};

/// Why an SVID (certificate chain and private key) could not be loaded.
///
/// Never holds key bytes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The chain holds no certificate.
    #[error("certificate chain is empty")]
    EmptyChain,
    /// The PEM certificate chain could not be read.
    #[error("certificate chain PEM is unreadable")]
    ChainPem(#[source] PemReadError),
    /// The PEM private key could not be read (its contents are never shown).
    #[error("private key PEM is unreadable")]
    KeyPem(#[source] PemReadError),
    /// A certificate of the chain breaks an X509-SVID rule.
    #[error("certificate chain is not an X509-SVID")]
    NotAnSvid(#[source] SvidError),
    /// The crypto provider refused the private key, or it does not match the leaf.
    #[error("private key is unusable or does not match the leaf certificate")]
    Key(#[source] rustls::Error),
    /// The SVID read from files has already expired, so it does not replace the one in
    /// service (a stale copy on disk must not take down a good identity).
    #[error("SVID expired at {not_after:?} (now {now:?})")]
    Expired {
        /// End of the SVID's validity.
        not_after: SystemTime,
        /// The time of the check.
        now: SystemTime,
    },
    /// A file could not be read.
    #[error("cannot read {path}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Why a PEM input could not be read, saying what kind of fault it is and never holding any
/// of the input: the PEM parser's own errors may quote a line, and a line may be a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct PemReadError {
    reason: &'static str,
}

impl PemReadError {
    pub(crate) fn redacted(error: &rustls_pki_types::pem::Error) -> Self {
        use rustls_pki_types::pem::Error;
        let reason = match error {
            Error::MissingSectionEnd { .. } => "a PEM section has no END line",
            Error::IllegalSectionStart { .. } => "a PEM BEGIN line is malformed",
            Error::Base64Decode(_) => "the PEM body is not valid base64",
            Error::NoItemsFound => "no PEM section of the expected kind found",
            Error::SectionTooLarge => "a PEM section is too large",
            _ => "the PEM is malformed",
        };
        Self { reason }
    }

    /// What kind of fault the PEM has, without any of its contents.
    pub fn reason(&self) -> &'static str {
        self.reason
    }
}

/// An X509-SVID: a certificate chain (leaf first) whose leaf names a workload, and the leaf's
/// private key, loaded into the crypto provider.
///
/// Building one checks the leaf against the X509-SVID rules, the signing certificates in the
/// chain, and that the key matches the leaf. `Debug` never shows the key.
///
/// ```
/// # #[cfg(feature = "dev")] {
/// use zt_mtls::dev::DevCa;
///
/// let ca = DevCa::new("example.org".parse()?)?;
/// let svid = ca.issue_svid(&"spiffe://example.org/web".parse()?)?;
/// assert_eq!(svid.spiffe_id().to_string(), "spiffe://example.org/web");
/// assert!(!format!("{svid:?}").contains("PRIVATE"));
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Svid {
    spiffe_id: SpiffeId,
    not_after: SystemTime,
    thumbprint: CertThumbprint,
    certified_key: Arc<CertifiedKey>,
    private_key: Arc<PrivateKeyDer<'static>>,
}

impl Svid {
    /// Builds an SVID from a DER chain (leaf first) and the leaf's private key.
    ///
    /// # Errors
    ///
    /// [`LoadError`] saying which part is wrong.
    pub fn new(
        chain: Vec<CertificateDer<'static>>,
        private_key: PrivateKeyDer<'static>,
    ) -> Result<Self, LoadError> {
        let leaf = chain.first().ok_or(LoadError::EmptyChain)?;
        let parsed = parse_x509_svid(leaf).map_err(LoadError::NotAnSvid)?;
        for (index, cert) in chain.iter().enumerate().skip(1) {
            check_signing_cert(cert, index, parsed.spiffe_id.trust_domain())
                .map_err(LoadError::NotAnSvid)?;
        }
        let thumbprint = thumbprint_of(leaf);
        let provider = provider();
        let certified_key = CertifiedKey::from_der(chain, private_key.clone_key(), &provider)
            .map_err(LoadError::Key)?;
        Ok(Self {
            spiffe_id: parsed.spiffe_id,
            not_after: parsed.not_after,
            thumbprint,
            certified_key: Arc::new(certified_key),
            private_key: Arc::new(private_key),
        })
    }

    /// Builds an SVID from a PEM chain (leaf first) and a PEM private key (PKCS#8, SEC1 or
    /// PKCS#1).
    ///
    /// # Errors
    ///
    /// [`LoadError`] saying which part is wrong.
    pub fn from_pem(chain_pem: &[u8], key_pem: &[u8]) -> Result<Self, LoadError> {
        let chain = CertificateDer::pem_slice_iter(chain_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| LoadError::ChainPem(PemReadError::redacted(&error)))?;
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|error| LoadError::KeyPem(PemReadError::redacted(&error)))?;
        Self::new(chain, key)
    }

    /// Reads a PEM chain file and a PEM key file, see [`Svid::from_pem`].
    ///
    /// # Errors
    ///
    /// [`LoadError`] saying which part is wrong.
    pub fn from_pem_files(
        chain_path: impl AsRef<std::path::Path>,
        key_path: impl AsRef<std::path::Path>,
    ) -> Result<Self, LoadError> {
        let chain = read(chain_path.as_ref())?;
        let key = read(key_path.as_ref())?;
        Self::from_pem(&chain, &key)
    }

    /// The SPIFFE ID of the leaf.
    pub fn spiffe_id(&self) -> &SpiffeId {
        &self.spiffe_id
    }

    /// When the leaf stops being valid.
    pub fn not_after(&self) -> SystemTime {
        self.not_after
    }

    /// SHA-256 of the leaf's DER bytes.
    pub fn thumbprint(&self) -> CertThumbprint {
        self.thumbprint
    }

    /// The certificate chain, leaf first.
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.certified_key.cert
    }

    /// The chain and signing key as rustls presents them.
    pub fn certified_key(&self) -> &Arc<CertifiedKey> {
        &self.certified_key
    }

    /// A copy of the private key, for handing to another TLS stack. Keep it secret.
    pub fn private_key(&self) -> PrivateKeyDer<'static> {
        self.private_key.clone_key()
    }

    /// The chain as PEM, leaf first.
    pub fn chain_pem(&self) -> String {
        pem::encode_chain(self.chain())
    }

    /// The private key as PEM. Keep it secret.
    pub fn private_key_pem(&self) -> String {
        pem::encode_key(&self.private_key)
    }
}

impl fmt::Debug for Svid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Svid")
            .field("spiffe_id", &self.spiffe_id)
            .field("not_after", &self.not_after)
            .field("thumbprint", &self.thumbprint)
            .field("chain_len", &self.certified_key.cert.len())
            .field("private_key", &"<redacted>")
            .finish()
    }
}

/// SHA-256 of a certificate's DER bytes.
pub(crate) fn thumbprint_of(der: &[u8]) -> CertThumbprint {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der);
    let mut bytes = [0_u8; 32];
    bytes.copy_from_slice(digest.as_ref());
    CertThumbprint(bytes)
}

/// The crypto provider every zt-mtls config and key uses: rustls' aws-lc-rs provider.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn read(path: &std::path::Path) -> Result<Vec<u8>, LoadError> {
    std::fs::read(path).map_err(|source| LoadError::Io {
        path: path.to_owned(),
        source,
    })
}
