//! What a validator trusts about one issuer: its keys, audiences, algorithms and limits.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Algorithm;
use zt_core::TrustDomain;

use crate::keyset::is_symmetric;
use crate::{BuildError, KeySource};

/// Longest token lifetime accepted by default: 15 minutes.
pub const DEFAULT_MAX_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// Clock skew tolerated by default on `exp`, `nbf` and `iat`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);

/// One trusted issuer: the `iss` it signs as, where its keys come from and the rules its
/// tokens must meet.
///
/// Defaults: algorithms RS256, PS256, ES256, ES384 and EdDSA (never HMAC); maximum lifetime
/// 15 minutes; leeway 30 seconds; roles read from the `roles` and `scope` claims; no `typ`
/// required; certificate binding checked when present, not required.
///
/// ```
/// use std::time::Duration;
/// use zt_token::{Issuer, KeySource, Minter};
///
/// let minter = Minter::generate_es256("https://idp.example.org")?;
/// let keys = KeySource::from_jwks(&minter.jwks())?;
/// let issuer = Issuer::new("https://idp.example.org", keys)
///     .audience("orders")
///     .max_lifetime(Duration::from_secs(300))
///     .expected_type("at+jwt");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Issuer {
    pub(crate) issuer: Arc<str>,
    pub(crate) keys: KeySource,
    pub(crate) audiences: Vec<String>,
    pub(crate) algorithms: Vec<Algorithm>,
    pub(crate) max_lifetime: Duration,
    pub(crate) leeway: Duration,
    pub(crate) required_claims: Vec<String>,
    pub(crate) expected_type: Option<String>,
    pub(crate) role_claims: Vec<String>,
    pub(crate) require_binding: bool,
    pub(crate) svid_trust_domain: Option<TrustDomain>,
}

impl Issuer {
    /// An issuer whose tokens carry `iss` equal to `issuer`, verified with `keys`.
    pub fn new(issuer: impl Into<String>, keys: KeySource) -> Self {
        Self {
            issuer: Arc::from(issuer.into()),
            keys,
            audiences: Vec::new(),
            algorithms: vec![
                Algorithm::RS256,
                Algorithm::PS256,
                Algorithm::ES256,
                Algorithm::ES384,
                Algorithm::EdDSA,
            ],
            max_lifetime: DEFAULT_MAX_LIFETIME,
            leeway: DEFAULT_LEEWAY,
            required_claims: Vec::new(),
            expected_type: None,
            role_claims: vec!["roles".to_owned(), "scope".to_owned()],
            require_binding: false,
            svid_trust_domain: None,
        }
    }

    /// A JWT-SVID issuer: `sub` must be a SPIFFE workload ID in `trust_domain`, `aud` is
    /// required, and `keys` should come from that trust domain's SPIFFE bundle
    /// ([`KeySource::spiffe_bundle_file`] or [`KeySet::from_spiffe_bundle`](crate::KeySet)).
    pub fn jwt_svid(issuer: impl Into<String>, trust_domain: TrustDomain, keys: KeySource) -> Self {
        let mut this = Self::new(issuer, keys);
        this.svid_trust_domain = Some(trust_domain);
        this
    }

    /// Accepts tokens whose `aud` holds `audience`. At least one audience is required.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Replaces the algorithm allowlist. HMAC algorithms are refused at build time.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// The longest accepted lifetime (`exp - iat`, or `exp - now` without `iat`).
    pub fn max_lifetime(mut self, max: Duration) -> Self {
        self.max_lifetime = max;
        self
    }

    /// Clock skew tolerated on `exp`, `nbf` and `iat`.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Requires the claim `name` to be present with a value other than `null` (beyond `iss`,
    /// `sub`, `aud` and `exp`, which always are).
    pub fn require_claim(mut self, name: impl Into<String>) -> Self {
        self.required_claims.push(name.into());
        self
    }

    /// Requires the `typ` header to be `typ` (compared case-insensitively, with or without
    /// the `application/` prefix), such as `at+jwt` for RFC 9068 access tokens.
    pub fn expected_type(mut self, typ: impl Into<String>) -> Self {
        self.expected_type = Some(typ.into());
        self
    }

    /// Replaces the claims that roles are read from. A string claim is split on spaces (as
    /// `scope` is); an array claim gives one role per string.
    pub fn role_claims<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.role_claims = names.into_iter().map(Into::into).collect();
        self
    }

    /// Requires every token to be certificate-bound (RFC 8705 `cnf.x5t#S256`).
    pub fn require_binding(mut self, required: bool) -> Self {
        self.require_binding = required;
        self
    }

    /// The `iss` value.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Checks the configuration is usable, failing closed.
    pub(crate) fn check(&self) -> Result<(), BuildError> {
        let name = || self.issuer.to_string();
        if self.audiences.is_empty() {
            return Err(BuildError::NoAudience(name()));
        }
        if self.algorithms.is_empty() || self.algorithms.iter().any(|a| is_symmetric(*a)) {
            return Err(BuildError::BadAlgorithms(name()));
        }
        if self.max_lifetime.is_zero() {
            return Err(BuildError::ZeroLifetime(name()));
        }
        Ok(())
    }

    /// Whether `typ` satisfies the expected type.
    pub(crate) fn type_matches(&self, typ: Option<&str>) -> bool {
        let Some(expected) = &self.expected_type else {
            return true;
        };
        let Some(typ) = typ else { return false };
        without_media_prefix(typ).eq_ignore_ascii_case(without_media_prefix(expected))
    }
}

/// `typ` without a case-insensitive `application/` prefix (RFC 7515 section 4.1.9).
fn without_media_prefix(typ: &str) -> &str {
    const PREFIX: &str = "application/";
    match typ.get(..PREFIX.len()) {
        Some(head) if head.eq_ignore_ascii_case(PREFIX) => &typ[PREFIX.len()..],
        _ => typ,
    }
}

impl fmt::Debug for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Issuer")
            .field("issuer", &self.issuer)
            .field("keys", &self.keys)
            .field("audiences", &self.audiences)
            .field("algorithms", &self.algorithms)
            .field("max_lifetime", &self.max_lifetime)
            .field("leeway", &self.leeway)
            .field("expected_type", &self.expected_type)
            .field("require_binding", &self.require_binding)
            .field("svid_trust_domain", &self.svid_trust_domain)
            .finish_non_exhaustive()
    }
}
