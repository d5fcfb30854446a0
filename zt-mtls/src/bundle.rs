//! Trust bundles: the CA certificates of one trust domain, and sets of them for federation.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, TrustAnchor};
use serde::Deserialize;
use zt_core::TrustDomain;

use crate::x509::AnchorFault;

/// Why a trust bundle could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// The PEM input could not be read.
    #[error("trust bundle PEM is unreadable")]
    Pem(#[source] crate::PemReadError),
    /// The input holds no CA certificate.
    #[error("trust bundle for {trust_domain} holds no X.509 CA certificate")]
    Empty {
        /// The trust domain the bundle was for.
        trust_domain: TrustDomain,
    },
    /// A certificate cannot serve as a trust anchor.
    #[error("certificate {index} of the trust bundle cannot be a trust anchor: {reason}")]
    BadAnchor {
        /// Position of the certificate in the input.
        index: usize,
        /// What webpki said.
        reason: webpki::Error,
    },
    /// A certificate of the bundle is not a CA certificate (basicConstraints without cA, or a
    /// key usage without keyCertSign): a workload's leaf as a trust anchor would let its key
    /// sign any identity of the trust domain.
    #[error("certificate {index} of the trust bundle is not a CA certificate")]
    AnchorNotCa {
        /// Position of the certificate in the input.
        index: usize,
    },
    /// A CA certificate of the bundle names, in a SPIFFE ID URI SAN, another trust domain:
    /// it belongs to that domain's bundle, and here would let that domain's CA sign this
    /// domain's IDs.
    #[error("certificate {index} of the trust bundle belongs to trust domain {trust_domain}")]
    AnchorOtherDomain {
        /// Position of the certificate in the input.
        index: usize,
        /// The trust domain its SPIFFE ID names.
        trust_domain: TrustDomain,
    },
    /// The SPIFFE bundle JSON could not be parsed.
    #[error("SPIFFE bundle JSON is unreadable")]
    Json(#[source] serde_json::Error),
    /// An `x509-svid` key of the SPIFFE bundle does not carry exactly one `x5c` entry.
    #[error("x509-svid key {index} must carry exactly one x5c entry, found {found}")]
    X5cCount {
        /// Position of the key in `keys`.
        index: usize,
        /// How many `x5c` entries it carries.
        found: usize,
    },
    /// An `x5c` entry is not standard base64.
    #[error("x5c entry of key {index} is not base64")]
    X5cBase64 {
        /// Position of the key in `keys`.
        index: usize,
        /// The decoding error.
        #[source]
        source: base64::DecodeError,
    },
    /// A bundle file could not be read.
    #[error("cannot read trust bundle file {path}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// The X.509 CA certificates of one trust domain, parsed into trust anchors once.
///
/// ```
/// # #[cfg(feature = "dev")] {
/// use zt_mtls::TrustBundle;
/// use zt_mtls::dev::DevCa;
///
/// let ca = DevCa::new("example.org".parse()?)?;
/// let bundle = TrustBundle::from_pem(ca.trust_domain().clone(), ca.cert_pem().as_bytes())?;
/// assert_eq!(bundle.certificates().len(), 1);
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct TrustBundle {
    trust_domain: TrustDomain,
    certificates: Vec<CertificateDer<'static>>,
    anchors: Vec<TrustAnchor<'static>>,
}

impl TrustBundle {
    /// A bundle of DER CA certificates for `trust_domain`.
    ///
    /// # Errors
    ///
    /// [`BundleError::Empty`] without certificates, [`BundleError::BadAnchor`] for a
    /// certificate webpki cannot use as an anchor, [`BundleError::AnchorNotCa`] for one that
    /// is not a CA certificate, [`BundleError::AnchorOtherDomain`] for one whose SPIFFE ID
    /// names another trust domain.
    pub fn from_der(
        trust_domain: TrustDomain,
        certificates: Vec<CertificateDer<'static>>,
    ) -> Result<Self, BundleError> {
        if certificates.is_empty() {
            return Err(BundleError::Empty { trust_domain });
        }
        let anchors = certificates
            .iter()
            .enumerate()
            .map(|(index, cert)| {
                let anchor = webpki::anchor_from_trusted_cert(cert)
                    .map(|anchor| anchor.to_owned())
                    .map_err(|reason| BundleError::BadAnchor { index, reason })?;
                crate::x509::check_anchor(cert, &trust_domain).map_err(|fault| match fault {
                    AnchorFault::NotCa => BundleError::AnchorNotCa { index },
                    AnchorFault::OtherDomain(trust_domain) => BundleError::AnchorOtherDomain {
                        index,
                        trust_domain,
                    },
                })?;
                Ok(anchor)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            trust_domain,
            certificates,
            anchors,
        })
    }

    /// A bundle from PEM `CERTIFICATE` blocks for `trust_domain`.
    ///
    /// # Errors
    ///
    /// As [`TrustBundle::from_der`], and [`BundleError::Pem`] for unreadable PEM.
    pub fn from_pem(trust_domain: TrustDomain, pem: &[u8]) -> Result<Self, BundleError> {
        let certificates = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| BundleError::Pem(crate::PemReadError::redacted(&error)))?;
        Self::from_der(trust_domain, certificates)
    }

    /// A bundle from the SPIFFE bundle format: a JWK set whose keys with `"use": "x509-svid"`
    /// carry one CA certificate each in `x5c`. Keys for other uses (`jwt-svid`) are skipped.
    ///
    /// # Errors
    ///
    /// [`BundleError::Json`], [`BundleError::X5cCount`], [`BundleError::X5cBase64`], and as
    /// [`TrustBundle::from_der`].
    pub fn from_spiffe_json(trust_domain: TrustDomain, json: &[u8]) -> Result<Self, BundleError> {
        let set: JwkSet = serde_json::from_slice(json).map_err(BundleError::Json)?;
        let mut certificates = Vec::new();
        for (index, key) in set.keys.iter().enumerate() {
            if key.key_use.as_deref() != Some("x509-svid") {
                continue;
            }
            let [x5c] = key.x5c.as_slice() else {
                let found = key.x5c.len();
                return Err(BundleError::X5cCount { index, found });
            };
            let der = STANDARD
                .decode(x5c)
                .map_err(|source| BundleError::X5cBase64 { index, source })?;
            certificates.push(CertificateDer::from(der));
        }
        Self::from_der(trust_domain, certificates)
    }

    /// Reads a bundle file: SPIFFE bundle JSON if it starts with `{`, PEM otherwise.
    ///
    /// # Errors
    ///
    /// [`BundleError::Io`], or as the matching parser.
    pub fn from_file(
        trust_domain: TrustDomain,
        path: impl AsRef<std::path::Path>,
    ) -> Result<Self, BundleError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| BundleError::Io {
            path: path.to_owned(),
            source,
        })?;
        match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => Self::from_spiffe_json(trust_domain, &bytes),
            _ => Self::from_pem(trust_domain, &bytes),
        }
    }

    /// The trust domain these certificates vouch for.
    pub fn trust_domain(&self) -> &TrustDomain {
        &self.trust_domain
    }

    /// The CA certificates, DER.
    pub fn certificates(&self) -> &[CertificateDer<'static>] {
        &self.certificates
    }

    pub(crate) fn anchors(&self) -> &[TrustAnchor<'static>] {
        &self.anchors
    }
}

impl fmt::Debug for TrustBundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustBundle")
            .field("trust_domain", &self.trust_domain)
            .field("certificates", &self.certificates.len())
            .finish()
    }
}

// TODO: `spiffe_refresh_hint` and `spiffe_sequence` are ignored: there is no bundle endpoint
// client yet (federation bundles come from files or memory), so nothing would use them.
#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    #[serde(rename = "use")]
    key_use: Option<String>,
    #[serde(default)]
    x5c: Vec<String>,
}

/// Trust bundles keyed by trust domain: the trust domains a peer may come from.
///
/// A certificate is checked against the bundle of the trust domain named in its own SPIFFE
/// ID and no other; there is deliberately no way to get all roots merged.
///
/// ```
/// # #[cfg(feature = "dev")] {
/// use zt_mtls::TrustBundleSet;
/// use zt_mtls::dev::DevCa;
///
/// let ours = DevCa::new("example.org".parse()?)?;
/// let partner = DevCa::new("partner.example".parse()?)?;
/// let set = TrustBundleSet::new().with(ours.bundle()?).with(partner.bundle()?);
/// assert!(set.get(&"partner.example".parse()?).is_some());
/// assert!(set.get(&"evil.example".parse()?).is_none());
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default)]
pub struct TrustBundleSet {
    bundles: HashMap<TrustDomain, Arc<TrustBundle>>,
}

impl TrustBundleSet {
    /// An empty set: trusts nobody.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the bundle of its trust domain, builder style.
    #[must_use]
    pub fn with(mut self, bundle: TrustBundle) -> Self {
        self.insert(bundle);
        self
    }

    /// Adds the bundle of `trust_domain` read from PEM `CERTIFICATE` blocks, builder style.
    ///
    /// # Errors
    ///
    /// As [`TrustBundle::from_pem`].
    pub fn with_pem(self, trust_domain: TrustDomain, pem: &[u8]) -> Result<Self, BundleError> {
        Ok(self.with(TrustBundle::from_pem(trust_domain, pem)?))
    }

    /// Adds the bundle of `trust_domain` read from SPIFFE bundle JSON, builder style.
    ///
    /// # Errors
    ///
    /// As [`TrustBundle::from_spiffe_json`].
    pub fn with_spiffe_json(
        self,
        trust_domain: TrustDomain,
        json: &[u8],
    ) -> Result<Self, BundleError> {
        Ok(self.with(TrustBundle::from_spiffe_json(trust_domain, json)?))
    }

    /// Adds or replaces the bundle of its trust domain, returning the one replaced.
    pub fn insert(&mut self, bundle: TrustBundle) -> Option<Arc<TrustBundle>> {
        self.bundles
            .insert(bundle.trust_domain.clone(), Arc::new(bundle))
    }

    /// Removes the bundle of `trust_domain`.
    pub fn remove(&mut self, trust_domain: &TrustDomain) -> Option<Arc<TrustBundle>> {
        self.bundles.remove(trust_domain)
    }

    /// The bundle of `trust_domain`.
    pub fn get(&self, trust_domain: &TrustDomain) -> Option<&Arc<TrustBundle>> {
        self.bundles.get(trust_domain)
    }

    /// The trust domains in the set, in no particular order.
    pub fn trust_domains(&self) -> impl Iterator<Item = &TrustDomain> {
        self.bundles.keys()
    }

    /// How many trust domains the set holds.
    pub fn len(&self) -> usize {
        self.bundles.len()
    }

    /// Whether the set trusts nobody.
    pub fn is_empty(&self) -> bool {
        self.bundles.is_empty()
    }
}

impl FromIterator<TrustBundle> for TrustBundleSet {
    fn from_iter<I: IntoIterator<Item = TrustBundle>>(iter: I) -> Self {
        iter.into_iter().fold(Self::new(), Self::with)
    }
}

impl fmt::Debug for TrustBundleSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.bundles.keys()).finish()
    }
}
