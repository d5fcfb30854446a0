//! Issuing short-lived tokens for service-to-service calls and just-in-time elevation.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::digest;
use aws_lc_rs::rand::{self, SystemRandom};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Map, Value, json};
use zt_core::{CertThumbprint, Clock, SystemClock};

use crate::MintError;
use crate::claims::MAX_NUMERIC_DATE;
use crate::issuer::DEFAULT_MAX_LIFETIME;

/// Claims a request may not set through [`MintRequest::claim`].
/// `scope` is listed because validators read roles from it by default: an extra claim must
/// not grant roles past [`MintRequest::role`] and [`MintRequest::elevate`].
const REGISTERED: [&str; 11] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "cnf",
    "roles",
    "scope",
    "elevation",
];

/// The signing algorithms a [`Minter`] offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MintAlgorithm {
    /// ECDSA on P-256 with SHA-256.
    Es256,
    /// Ed25519 (`EdDSA`).
    EdDsa,
}

/// A just-in-time elevation: extra roles granted for a short time, with who approved it
/// and why. Both are recorded in the token's `elevation` claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Elevation {
    reason: String,
    approver: String,
    roles: Vec<String>,
}

impl Elevation {
    /// An elevation granted by `approver` for `reason`.
    pub fn new(reason: impl Into<String>, approver: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            approver: approver.into(),
            roles: Vec::new(),
        }
    }

    /// Adds an elevated role.
    pub fn role(mut self, role: impl Into<String>) -> Self {
        self.roles.push(role.into());
        self
    }
}

/// What to put in a minted token.
#[derive(Debug, Clone, PartialEq)]
pub struct MintRequest {
    subject: String,
    audiences: Vec<String>,
    roles: Vec<String>,
    lifetime: Option<Duration>,
    bound_to: Option<CertThumbprint>,
    elevation: Option<Elevation>,
    extra: Map<String, Value>,
}

impl MintRequest {
    /// A token for `subject` addressed to `audience`.
    pub fn new(subject: impl Into<String>, audience: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
            audiences: vec![audience.into()],
            roles: Vec::new(),
            lifetime: None,
            bound_to: None,
            elevation: None,
            extra: Map::new(),
        }
    }

    /// Adds an audience.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Adds a role (in the `roles` claim).
    pub fn role(mut self, role: impl Into<String>) -> Self {
        self.roles.push(role.into());
        self
    }

    /// Asks for a lifetime other than the minter's default; it must be within the maximum.
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = Some(lifetime);
        self
    }

    /// Binds the token to a client certificate (RFC 8705 `cnf.x5t#S256`).
    pub fn bind_to(mut self, thumbprint: CertThumbprint) -> Self {
        self.bound_to = Some(thumbprint);
        self
    }

    /// Makes this a just-in-time elevation: its roles are added, its lifetime is capped by
    /// the minter's elevation maximum.
    pub fn elevate(mut self, elevation: Elevation) -> Self {
        self.elevation = Some(elevation);
        self
    }

    /// Adds a custom claim; registered claim names (and `scope`, a role claim) are refused
    /// at minting.
    pub fn claim(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extra.insert(name.into(), value.into());
        self
    }
}

/// A minted token. Its `Debug` output hides the token.
#[derive(Clone)]
pub struct MintedToken {
    token: String,
    expires_at: SystemTime,
}

impl MintedToken {
    /// The compact JWS, for an `Authorization: Bearer` header.
    pub fn as_str(&self) -> &str {
        &self.token
    }

    /// When the token expires.
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }
}

impl fmt::Debug for MintedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MintedToken")
            .field("token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Issues short-lived signed tokens as one issuer, and publishes the JWKS to verify them.
///
/// Defaults: lifetime 5 minutes, maximum 15 minutes, elevations at most 5 minutes, `typ`
/// `at+jwt`.
///
/// ```
/// use zt_token::{Elevation, MintRequest, Minter};
///
/// let minter = Minter::generate_ed25519("https://ca.example.org")?;
/// let token = minter.mint(&MintRequest::new("alice", "orders").role("reader"))?;
/// assert_eq!(token.as_str().split('.').count(), 3);
/// assert!(!format!("{token:?}").contains(token.as_str()));
///
/// let sudo = MintRequest::new("alice", "orders")
///     .elevate(Elevation::new("incident 42", "bob").role("admin"));
/// assert!(minter.mint(&sudo).is_ok());
/// assert_eq!(minter.jwks()["keys"][0]["alg"], "EdDSA");
/// # Ok::<(), zt_token::MintError>(())
/// ```
pub struct Minter {
    issuer: Arc<str>,
    algorithm: MintAlgorithm,
    kid: String,
    key: EncodingKey,
    public_jwk: Value,
    lifetime: Duration,
    max_lifetime: Duration,
    elevation_max_lifetime: Duration,
    token_type: String,
    clock: Arc<dyn Clock>,
}

impl Minter {
    /// A minter with a freshly generated P-256 key.
    ///
    /// # Errors
    ///
    /// [`MintError::Key`] when key generation fails.
    pub fn generate_es256(issuer: impl Into<String>) -> Result<Self, MintError> {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .map_err(|_| MintError::Key)?;
        Self::from_pkcs8(issuer, MintAlgorithm::Es256, pkcs8.as_ref())
    }

    /// A minter with a freshly generated Ed25519 key.
    ///
    /// # Errors
    ///
    /// [`MintError::Key`] when key generation fails.
    pub fn generate_ed25519(issuer: impl Into<String>) -> Result<Self, MintError> {
        let pkcs8 =
            Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map_err(|_| MintError::Key)?;
        Self::from_pkcs8(issuer, MintAlgorithm::EdDsa, pkcs8.as_ref())
    }

    /// A minter with an existing PKCS#8 private key (DER).
    ///
    /// # Errors
    ///
    /// [`MintError::Key`] when the key does not parse for `algorithm`.
    pub fn from_pkcs8(
        issuer: impl Into<String>,
        algorithm: MintAlgorithm,
        pkcs8: &[u8],
    ) -> Result<Self, MintError> {
        let (key, public_jwk) = match algorithm {
            MintAlgorithm::Es256 => es256_key(pkcs8)?,
            MintAlgorithm::EdDsa => ed25519_key(pkcs8)?,
        };
        let kid = thumbprint(&public_jwk);
        let mut public_jwk = public_jwk;
        if let Value::Object(jwk) = &mut public_jwk {
            jwk.insert("kid".into(), Value::String(kid.clone()));
            jwk.insert("use".into(), Value::String("sig".into()));
            jwk.insert(
                "alg".into(),
                Value::String(jwt_algorithm(algorithm).to_owned()),
            );
        }
        Ok(Self {
            issuer: Arc::from(issuer.into()),
            algorithm,
            kid,
            key,
            public_jwk,
            lifetime: Duration::from_secs(300),
            max_lifetime: DEFAULT_MAX_LIFETIME,
            elevation_max_lifetime: Duration::from_secs(300),
            token_type: "at+jwt".to_owned(),
            clock: Arc::new(SystemClock),
        })
    }

    /// Sets the default lifetime of minted tokens.
    pub fn with_lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// Sets the longest lifetime a request may ask for (default 15 minutes).
    pub fn with_max_lifetime(mut self, max: Duration) -> Self {
        self.max_lifetime = max;
        self
    }

    /// Sets the longest lifetime of an elevation (default 5 minutes, never above the maximum).
    pub fn with_elevation_max_lifetime(mut self, max: Duration) -> Self {
        self.elevation_max_lifetime = max;
        self
    }

    /// Sets the `typ` header (default `at+jwt`).
    pub fn with_token_type(mut self, typ: impl Into<String>) -> Self {
        self.token_type = typ.into();
        self
    }

    /// Reads time from `clock`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The `kid` of the signing key (its RFC 7638 thumbprint).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The issuer (`iss`) of minted tokens.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The public JWKS to publish, holding the signing key's public half.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.public_jwk.clone()] })
    }

    /// Signs a token for `request`.
    ///
    /// # Errors
    ///
    /// [`MintError`] when the request lacks a subject or audience, asks for a lifetime over
    /// the maximum (for an elevation, the elevation maximum), sets a registered claim, or
    /// signing fails.
    pub fn mint(&self, request: &MintRequest) -> Result<MintedToken, MintError> {
        let lifetime = self.lifetime_for(request)?;
        let now = self
            .clock
            .now()
            .duration_since(UNIX_EPOCH)
            .map_err(|_| MintError::Clock)?;
        let issued_at = now.as_secs();
        // Past year 9999 no validator accepts the token, and the sum could overflow.
        let expires_at = issued_at
            .checked_add(lifetime.as_secs())
            .filter(|exp| *exp <= MAX_NUMERIC_DATE)
            .ok_or(MintError::LifetimeTooLong {
                requested: lifetime,
                max: Duration::from_secs(MAX_NUMERIC_DATE.saturating_sub(issued_at)),
            })?;
        let claims = self.claims(request, issued_at, expires_at)?;

        let mut header = Header::new(match self.algorithm {
            MintAlgorithm::Es256 => Algorithm::ES256,
            MintAlgorithm::EdDsa => Algorithm::EdDSA,
        });
        header.typ = Some(self.token_type.clone());
        header.kid = Some(self.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &self.key).map_err(MintError::Sign)?;
        Ok(MintedToken {
            token,
            expires_at: UNIX_EPOCH + Duration::from_secs(expires_at),
        })
    }

    fn lifetime_for(&self, request: &MintRequest) -> Result<Duration, MintError> {
        let max = match request.elevation {
            Some(_) => self.elevation_max_lifetime.min(self.max_lifetime),
            None => self.max_lifetime,
        };
        let requested = request.lifetime.unwrap_or(self.lifetime.min(max));
        if requested.as_secs() == 0 {
            return Err(MintError::ZeroLifetime);
        }
        if requested > max {
            return Err(MintError::LifetimeTooLong { requested, max });
        }
        Ok(requested)
    }

    fn claims(&self, request: &MintRequest, iat: u64, exp: u64) -> Result<Value, MintError> {
        if request.subject.is_empty() {
            return Err(MintError::NoSubject);
        }
        if request.audiences.iter().all(String::is_empty) {
            return Err(MintError::NoAudience);
        }
        if let Some(name) = request
            .extra
            .keys()
            .find(|k| REGISTERED.contains(&k.as_str()))
        {
            return Err(MintError::ReservedClaim(name.clone()));
        }
        let mut claims = request.extra.clone();
        let mut roles = request.roles.clone();
        if let Some(elevation) = &request.elevation {
            if elevation.reason.is_empty() || elevation.approver.is_empty() {
                return Err(MintError::ElevationIncomplete);
            }
            roles.extend(elevation.roles.iter().cloned());
            claims.insert(
                "elevation".into(),
                json!({
                    "reason": elevation.reason,
                    "approver": elevation.approver,
                    "roles": elevation.roles,
                }),
            );
        }
        if let Some(thumbprint) = &request.bound_to {
            let x5t = URL_SAFE_NO_PAD.encode(thumbprint.as_bytes());
            claims.insert("cnf".into(), json!({ "x5t#S256": x5t }));
        }
        claims.insert("iss".into(), json!(&*self.issuer));
        claims.insert("sub".into(), json!(request.subject));
        claims.insert("aud".into(), json!(request.audiences));
        claims.insert("iat".into(), json!(iat));
        claims.insert("nbf".into(), json!(iat));
        claims.insert("exp".into(), json!(exp));
        claims.insert("jti".into(), json!(random_id()?));
        claims.insert("roles".into(), json!(roles));
        Ok(Value::Object(claims))
    }
}

impl fmt::Debug for Minter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Minter")
            .field("issuer", &self.issuer)
            .field("algorithm", &self.algorithm)
            .field("kid", &self.kid)
            .field("key", &"<redacted>")
            .field("lifetime", &self.lifetime)
            .field("max_lifetime", &self.max_lifetime)
            .finish_non_exhaustive()
    }
}

fn jwt_algorithm(algorithm: MintAlgorithm) -> &'static str {
    match algorithm {
        MintAlgorithm::Es256 => "ES256",
        MintAlgorithm::EdDsa => "EdDSA",
    }
}

fn es256_key(pkcs8: &[u8]) -> Result<(EncodingKey, Value), MintError> {
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8)
        .map_err(|_| MintError::Key)?;
    let point = pair.public_key().as_ref();
    let (x, y) = point
        .get(1..33)
        .zip(point.get(33..65))
        .ok_or(MintError::Key)?;
    let jwk = json!({
        "kty": "EC",
        "crv": "P-256",
        "x": URL_SAFE_NO_PAD.encode(x),
        "y": URL_SAFE_NO_PAD.encode(y),
    });
    Ok((EncodingKey::from_ec_der(pkcs8), jwk))
}

fn ed25519_key(pkcs8: &[u8]) -> Result<(EncodingKey, Value), MintError> {
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8).map_err(|_| MintError::Key)?;
    let jwk = json!({
        "kty": "OKP",
        "crv": "Ed25519",
        "x": URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
    });
    Ok((EncodingKey::from_ed_der(pkcs8), jwk))
}

/// RFC 7638 thumbprint: SHA-256 over the required members in lexicographic order.
fn thumbprint(jwk: &Value) -> String {
    let members: &[&str] = match jwk["kty"].as_str() {
        Some("EC") => &["crv", "kty", "x", "y"],
        _ => &["crv", "kty", "x"],
    };
    let canonical: Map<String, Value> = members
        .iter()
        .map(|m| ((*m).to_owned(), jwk[*m].clone()))
        .collect();
    let text = Value::Object(canonical).to_string();
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, text.as_bytes()))
}

fn random_id() -> Result<String, MintError> {
    let mut bytes = [0u8; 16];
    rand::fill(&mut bytes).map_err(|_| MintError::Key)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}
