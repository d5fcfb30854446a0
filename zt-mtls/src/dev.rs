//! An in-memory development certificate authority, for examples, tests and benchmarks.
//!
//! Enabled by the `dev` cargo feature. Never use it in production: the CA key lives in memory
//! and certificates are issued without any attestation of the workload.
//!
//! ```
//! use zt_mtls::dev::DevCa;
//!
//! let ca = DevCa::new("example.org".parse()?)?;
//! let svid = ca.issue_svid(&"spiffe://example.org/ns/prod/sa/orders".parse()?)?;
//! let bundles = zt_mtls::TrustBundleSet::new().with(ca.bundle()?);
//! assert_eq!(svid.chain().len(), 1);
//! assert_eq!(bundles.len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Certificates that break the X509-SVID rules, for tests of refusals:
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use zt_mtls::dev::{DevCa, DevCertSpec};
//!
//! let ca = DevCa::new("example.org".parse()?)?;
//! let mut spec = DevCertSpec::svid(&"spiffe://example.org/old".parse()?);
//! spec.not_after = SystemTime::now() - Duration::from_secs(60);
//! let expired = ca.issue(&spec)?;
//! assert_eq!(expired.chain().len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SanType,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use zt_core::{SpiffeId, TrustDomain};

use crate::{LoadError, Svid, TrustBundle, pem};

/// How long [`DevCa::issue_svid`] certificates live.
pub const DEV_SVID_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

const CA_LIFETIME: Duration = Duration::from_secs(10 * 365 * 24 * 60 * 60);
const BACKDATE: Duration = Duration::from_secs(5 * 60);

/// Why the development CA could not issue a certificate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DevCaError {
    /// rcgen refused the parameters or failed to sign.
    #[error("rcgen could not build the certificate")]
    Rcgen(#[source] rcgen::Error),
    /// The issued certificate is not a usable SVID (only for specs that break the rules).
    #[error("issued certificate is not a usable SVID")]
    Load(#[source] LoadError),
    /// The CA certificate is not a usable trust anchor.
    #[error("CA certificate is not a usable trust anchor")]
    Bundle(#[source] crate::BundleError),
}

/// A development CA for one trust domain, held in memory, with an ECDSA P-256 key.
pub struct DevCa {
    trust_domain: TrustDomain,
    issuer: CertifiedIssuer<'static, KeyPair>,
    /// Certificates between a leaf and the root: this CA's own when it is an intermediate,
    /// then its ancestors, root excluded.
    chain_above_leaf: Vec<CertificateDer<'static>>,
    root: CertificateDer<'static>,
}

impl DevCa {
    /// A new self-signed root CA for `trust_domain`, valid for ten years, whose certificate
    /// carries the URI SAN `spiffe://<trust_domain>`.
    ///
    /// # Errors
    ///
    /// [`DevCaError::Rcgen`] if key generation or signing fails.
    pub fn new(trust_domain: TrustDomain) -> Result<Self, DevCaError> {
        let key = KeyPair::generate().map_err(DevCaError::Rcgen)?;
        let params = ca_params(&trust_domain, "zt dev root CA")?;
        let issuer = CertifiedIssuer::self_signed(params, key).map_err(DevCaError::Rcgen)?;
        let root = issuer.der().clone();
        Ok(Self {
            trust_domain,
            issuer,
            chain_above_leaf: Vec::new(),
            root,
        })
    }

    /// A new intermediate CA signed by this one; SVIDs it issues carry it in their chain.
    ///
    /// # Errors
    ///
    /// [`DevCaError::Rcgen`] if key generation or signing fails.
    pub fn intermediate(&self) -> Result<Self, DevCaError> {
        let key = KeyPair::generate().map_err(DevCaError::Rcgen)?;
        let params = ca_params(&self.trust_domain, "zt dev intermediate CA")?;
        let issuer =
            CertifiedIssuer::signed_by(params, key, &self.issuer).map_err(DevCaError::Rcgen)?;
        let mut chain_above_leaf = vec![issuer.der().clone()];
        chain_above_leaf.extend(self.chain_above_leaf.iter().cloned());
        Ok(Self {
            trust_domain: self.trust_domain.clone(),
            issuer,
            chain_above_leaf,
            root: self.root.clone(),
        })
    }

    /// The trust domain this CA issues for.
    pub fn trust_domain(&self) -> &TrustDomain {
        &self.trust_domain
    }

    /// The root CA certificate, DER: what a trust bundle holds.
    pub fn cert_der(&self) -> CertificateDer<'static> {
        self.root.clone()
    }

    /// The root CA certificate, PEM.
    pub fn cert_pem(&self) -> String {
        pem::encode("CERTIFICATE", &self.root)
    }

    /// A trust bundle holding the root CA certificate.
    ///
    /// # Errors
    ///
    /// [`DevCaError::Bundle`] (not expected for certificates this CA made).
    pub fn bundle(&self) -> Result<TrustBundle, DevCaError> {
        TrustBundle::from_der(self.trust_domain.clone(), vec![self.cert_der()])
            .map_err(DevCaError::Bundle)
    }

    /// Issues a valid X509-SVID for `id`, valid from five minutes ago for
    /// [`DEV_SVID_LIFETIME`], with a fresh ECDSA P-256 key.
    ///
    /// `id` may belong to another trust domain: that makes a certificate a peer refuses.
    ///
    /// # Errors
    ///
    /// [`DevCaError::Rcgen`] if signing fails; [`DevCaError::Load`] if `id` has no path.
    pub fn issue_svid(&self, id: &SpiffeId) -> Result<Svid, DevCaError> {
        self.issue(&DevCertSpec::svid(id))?
            .into_svid()
            .map_err(DevCaError::Load)
    }

    /// Issues a certificate as `spec` says, whether or not it is a valid SVID.
    ///
    /// # Errors
    ///
    /// [`DevCaError::Rcgen`] if rcgen refuses the spec (for instance a URI that is not
    /// IA5) or signing fails.
    pub fn issue(&self, spec: &DevCertSpec) -> Result<DevCert, DevCaError> {
        let key = KeyPair::generate().map_err(DevCaError::Rcgen)?;
        let params = spec.to_params()?;
        let cert = params
            .signed_by(&key, &self.issuer)
            .map_err(DevCaError::Rcgen)?;
        let mut chain = vec![cert.der().clone()];
        chain.extend(self.chain_above_leaf.iter().cloned());
        let private_key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        Ok(DevCert { chain, private_key })
    }
}

impl fmt::Debug for DevCa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevCa")
            .field("trust_domain", &self.trust_domain)
            .field("intermediates", &self.chain_above_leaf.len())
            .field("key", &"<redacted>")
            .finish()
    }
}

/// What [`DevCa::issue`] puts in a certificate. Start from [`DevCertSpec::svid`] and change
/// fields to break a rule.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DevCertSpec {
    /// URI SANs; an SVID holds exactly one.
    pub uri_sans: Vec<String>,
    /// DNS SANs; none by default.
    pub dns_sans: Vec<String>,
    /// Start of validity.
    pub not_before: SystemTime,
    /// End of validity.
    pub not_after: SystemTime,
    /// Whether basicConstraints marks the certificate as a CA.
    pub is_ca: bool,
    /// Whether to include a key usage extension at all.
    pub key_usage: bool,
    /// Key usage `digitalSignature`.
    pub digital_signature: bool,
    /// Key usage `keyCertSign`.
    pub key_cert_sign: bool,
    /// Key usage `cRLSign`.
    pub crl_sign: bool,
    /// Key usage `keyAgreement` (allowed in an SVID, off by default).
    pub key_agreement: bool,
}

impl DevCertSpec {
    /// A valid X509-SVID for `id`: one URI SAN, not a CA, `digitalSignature` only, valid from
    /// five minutes ago for [`DEV_SVID_LIFETIME`].
    pub fn svid(id: &SpiffeId) -> Self {
        let now = SystemTime::now();
        Self {
            uri_sans: vec![id.to_string()],
            dns_sans: Vec::new(),
            not_before: now.checked_sub(BACKDATE).unwrap_or(UNIX_EPOCH),
            not_after: now + DEV_SVID_LIFETIME,
            is_ca: false,
            key_usage: true,
            digital_signature: true,
            key_cert_sign: false,
            crl_sign: false,
            key_agreement: false,
        }
    }

    fn to_params(&self) -> Result<CertificateParams, DevCaError> {
        let mut params = CertificateParams::default();
        params.distinguished_name = named("zt dev SVID");
        params.subject_alt_names = self.sans()?;
        params.not_before = rcgen::date_time_ymd(1970, 1, 1) + since_epoch(self.not_before);
        params.not_after = rcgen::date_time_ymd(1970, 1, 1) + since_epoch(self.not_after);
        if self.is_ca {
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        } else {
            params.is_ca = IsCa::ExplicitNoCa;
        }
        if self.key_usage {
            params.key_usages = self.key_usages();
        }
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        params.use_authority_key_identifier_extension = true;
        Ok(params)
    }

    fn sans(&self) -> Result<Vec<SanType>, DevCaError> {
        let uris = self.uri_sans.iter().map(|uri| {
            let uri = uri.as_str().try_into().map_err(DevCaError::Rcgen)?;
            Ok(SanType::URI(uri))
        });
        let dns = self.dns_sans.iter().map(|name| {
            let name = name.as_str().try_into().map_err(DevCaError::Rcgen)?;
            Ok(SanType::DnsName(name))
        });
        uris.chain(dns).collect()
    }

    fn key_usages(&self) -> Vec<KeyUsagePurpose> {
        [
            (self.digital_signature, KeyUsagePurpose::DigitalSignature),
            (self.key_cert_sign, KeyUsagePurpose::KeyCertSign),
            (self.crl_sign, KeyUsagePurpose::CrlSign),
            (self.key_agreement, KeyUsagePurpose::KeyAgreement),
        ]
        .into_iter()
        .filter_map(|(on, usage)| on.then_some(usage))
        .collect()
    }
}

/// A certificate chain (leaf first) and private key issued by [`DevCa::issue`], possibly
/// breaking the X509-SVID rules. `Debug` never shows the key.
pub struct DevCert {
    chain: Vec<CertificateDer<'static>>,
    private_key: PrivateKeyDer<'static>,
}

impl DevCert {
    /// The chain, leaf first.
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.chain
    }

    /// A copy of the private key.
    pub fn private_key(&self) -> PrivateKeyDer<'static> {
        self.private_key.clone_key()
    }

    /// The chain as PEM, leaf first.
    pub fn chain_pem(&self) -> String {
        pem::encode_chain(&self.chain)
    }

    /// The private key as PEM (PKCS#8).
    pub fn private_key_pem(&self) -> String {
        pem::encode_key(&self.private_key)
    }

    /// Checks the certificate as an SVID and loads it.
    ///
    /// # Errors
    ///
    /// [`LoadError`] if the certificate breaks an X509-SVID rule.
    pub fn into_svid(self) -> Result<Svid, LoadError> {
        Svid::new(self.chain, self.private_key)
    }
}

impl fmt::Debug for DevCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevCert")
            .field("chain_len", &self.chain.len())
            .field("private_key", &"<redacted>")
            .finish()
    }
}

fn ca_params(trust_domain: &TrustDomain, name: &str) -> Result<CertificateParams, DevCaError> {
    let now = SystemTime::now();
    let mut params = CertificateParams::default();
    params.distinguished_name = named(&format!("{name} {trust_domain}"));
    let uri = trust_domain
        .id_string()
        .try_into()
        .map_err(DevCaError::Rcgen)?;
    params.subject_alt_names = vec![SanType::URI(uri)];
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let not_before = now.checked_sub(BACKDATE).unwrap_or(UNIX_EPOCH);
    params.not_before = rcgen::date_time_ymd(1970, 1, 1) + since_epoch(not_before);
    params.not_after = rcgen::date_time_ymd(1970, 1, 1) + since_epoch(now + CA_LIFETIME);
    params.use_authority_key_identifier_extension = true;
    Ok(params)
}

fn named(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    name
}

/// Time since the Unix epoch, capped well inside the range rcgen's time type can hold.
fn since_epoch(at: SystemTime) -> Duration {
    const MAX: Duration = Duration::from_secs(7_000 * 365 * 24 * 60 * 60);
    at.duration_since(UNIX_EPOCH).unwrap_or_default().min(MAX)
}
