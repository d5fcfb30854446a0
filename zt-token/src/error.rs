//! Typed errors: one enum per concern, one variant per rule.
//!
//! No variant holds token bytes or any string copied from a token, so an error can be
//! logged or shown without leaking a credential.

use std::time::Duration;

/// Why a token was rejected. Each variant names the rule it broke.
///
/// The `Display` text never contains the token or any value taken from it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The token is longer than the configured maximum; it was not decoded.
    #[error("token is {len} bytes long, more than the {max} allowed")]
    TooLarge {
        /// Length of the token in bytes.
        len: usize,
        /// The configured maximum.
        max: usize,
    },
    /// The token does not have exactly three dot-separated segments.
    #[error("token must have three segments, it has {segments}")]
    WrongSegmentCount {
        /// How many segments were found.
        segments: usize,
    },
    /// The token has five segments: an encrypted JWE, which is never accepted.
    #[error("encrypted tokens (JWE) are not accepted")]
    Encrypted,
    /// The token's `cty` header says it wraps another JWT; nested tokens are not accepted.
    #[error("nested tokens are not accepted")]
    Nested,
    /// A segment is not valid unpadded base64url.
    #[error("token {segment} is not valid base64url")]
    BadBase64 {
        /// Which segment: `header`, `payload` or `signature`.
        segment: &'static str,
    },
    /// A segment is not a valid JSON object (syntax, nesting depth or a non-object).
    #[error("token {segment} is not a valid JSON object")]
    BadJson {
        /// Which segment: `header` or `payload`.
        segment: &'static str,
    },
    /// A JSON object in the token names the same member twice.
    #[error("token {segment} repeats a JSON member name")]
    DuplicateMember {
        /// Which segment: `header` or `payload`.
        segment: &'static str,
    },
    /// The header names `alg: none`, which never verifies.
    #[error("unsigned tokens (`alg: none`) never verify")]
    AlgorithmNone,
    /// The header's `alg` is missing or not a string.
    #[error("token header lacks a string `alg`")]
    MissingAlgorithm,
    /// The header's `alg` is not in the issuer's allowlist (HMAC never is).
    #[error("token algorithm is not allowed for this issuer")]
    AlgorithmNotAllowed,
    /// The header lists a `crit` extension this validator does not understand.
    #[error("token header lists a critical extension that is not understood")]
    UnknownCriticalHeader,
    /// The `typ` header differs from the type the issuer expects (such as `at+jwt`).
    #[error("token type does not match the expected `{expected}`")]
    WrongType {
        /// The expected type.
        expected: String,
    },
    /// The `iss` claim is missing.
    #[error("token has no `iss` claim")]
    MissingIssuer,
    /// The `iss` claim is not a single string.
    #[error("token `iss` claim must be a single string")]
    IssuerNotString,
    /// No trusted issuer has the token's `iss`.
    #[error("token issuer is not trusted")]
    UnknownIssuer,
    /// A claim that must be present is missing.
    #[error("token lacks the required `{claim}` claim")]
    MissingClaim {
        /// The claim name.
        claim: String,
    },
    /// A claim has the wrong type or an out-of-range value.
    #[error("token claim `{claim}` is malformed")]
    InvalidClaim {
        /// The claim name.
        claim: &'static str,
    },
    /// The header has no `kid` and the issuer's key set has more than one candidate key.
    #[error("token has no `kid` and the issuer has several keys")]
    MissingKeyId,
    /// No key of this issuer has the token's `kid`: the token cannot be verified.
    #[error("no key of the issuer matches the token's `kid`; token is unverifiable")]
    UnknownKey,
    /// The issuer's keys are unavailable (never fetched, or older than the staleness bound).
    #[error("the issuer's keys are unavailable; token is unverifiable")]
    KeysUnavailable,
    /// The key named by `kid` does not agree with the token's algorithm (`alg`, `kty`, `crv`).
    #[error("the key named by the token does not match its algorithm")]
    KeyAlgorithmMismatch,
    /// The signature does not verify with the issuer's key.
    #[error("token signature does not verify")]
    BadSignature,
    /// `exp` is at or before now (less leeway).
    #[error("token expired")]
    Expired,
    /// `nbf` is after now plus leeway.
    #[error("token is not valid yet")]
    NotYetValid,
    /// `iat` is after now plus leeway.
    #[error("token was issued in the future")]
    IssuedInFuture,
    /// `exp - iat` (or `exp - now` without `iat`) exceeds the issuer's maximum lifetime.
    #[error("token lifetime of {lifetime:?} exceeds the maximum of {max:?}")]
    LifetimeTooLong {
        /// The token's lifetime.
        lifetime: Duration,
        /// The configured maximum.
        max: Duration,
    },
    /// No audience of the token is accepted by the issuer's configuration.
    #[error("token audience is not accepted")]
    AudienceNotAccepted,
    /// JWT-SVID: `sub` is not a SPIFFE ID.
    #[error("JWT-SVID `sub` is not a valid SPIFFE workload ID")]
    SubjectNotSpiffeId,
    /// JWT-SVID: `sub` is outside the trust domain of the bundle its key came from.
    #[error("JWT-SVID `sub` is outside the issuer's trust domain")]
    WrongTrustDomain,
    /// RFC 8705: the token is bound to a certificate (`cnf.x5t#S256`) and there is no peer.
    #[error("certificate-bound token presented without a client certificate")]
    BindingWithoutPeer,
    /// RFC 8705: `cnf.x5t#S256` differs from the peer certificate's thumbprint.
    #[error("token is bound to another client certificate")]
    BindingMismatch,
    /// The issuer requires certificate-bound tokens and the token has no `cnf.x5t#S256`.
    #[error("token is not bound to a client certificate, and binding is required")]
    BindingRequired,
}

impl TokenError {
    /// A short stable name of the broken rule, for metric labels and audit records.
    pub fn rule(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "too_large",
            Self::WrongSegmentCount { .. } => "segments",
            Self::Encrypted => "encrypted",
            Self::Nested => "nested",
            Self::BadBase64 { .. } => "base64",
            Self::BadJson { .. } => "json",
            Self::DuplicateMember { .. } => "duplicate_member",
            Self::AlgorithmNone => "alg_none",
            Self::MissingAlgorithm => "alg_missing",
            Self::AlgorithmNotAllowed => "alg_not_allowed",
            Self::UnknownCriticalHeader => "crit",
            Self::WrongType { .. } => "typ",
            Self::MissingIssuer => "iss_missing",
            Self::IssuerNotString => "iss_not_string",
            Self::UnknownIssuer => "iss_unknown",
            Self::MissingClaim { .. } => "claim_missing",
            Self::InvalidClaim { .. } => "claim_invalid",
            Self::MissingKeyId => "kid_missing",
            Self::UnknownKey => "kid_unknown",
            Self::KeysUnavailable => "keys_unavailable",
            Self::KeyAlgorithmMismatch => "key_alg_mismatch",
            Self::BadSignature => "signature",
            Self::Expired => "expired",
            Self::NotYetValid => "nbf",
            Self::IssuedInFuture => "iat",
            Self::LifetimeTooLong { .. } => "lifetime",
            Self::AudienceNotAccepted => "aud",
            Self::SubjectNotSpiffeId => "svid_sub",
            Self::WrongTrustDomain => "svid_trust_domain",
            Self::BindingWithoutPeer => "cnf_no_peer",
            Self::BindingMismatch => "cnf_mismatch",
            Self::BindingRequired => "cnf_required",
        }
    }

    /// Whether the token could not be checked because no usable key was at hand (as opposed
    /// to a token that was checked and found wrong). Both are a 401; this one may pass later.
    pub fn is_unverifiable(&self) -> bool {
        matches!(self, Self::UnknownKey | Self::KeysUnavailable)
    }
}

/// Why a JWKS, a SPIFFE bundle or a single JWK could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeySetError {
    /// The document is not JSON, or not a JWKS object with a `keys` array.
    #[error("key set is not a JWKS JSON object with a `keys` array: {0}")]
    Json(#[source] serde_json::Error),
    /// The document holds no usable key.
    #[error("key set holds no usable signing key")]
    Empty,
    /// An RSA key's modulus is shorter than 2048 bits.
    #[error("RSA key {kid:?} has a {bits}-bit modulus; at least 2048 bits are required")]
    RsaKeyTooSmall {
        /// The key's `kid`, if any.
        kid: Option<String>,
        /// The modulus length in bits.
        bits: usize,
    },
    /// A key's parameters are malformed or inconsistent (`kty`, `crv`, `alg`, coordinates).
    #[error("key {kid:?} is malformed: {reason}")]
    BadKey {
        /// The key's `kid`, if any.
        kid: Option<String>,
        /// What is wrong.
        reason: &'static str,
    },
    /// Two keys share one `kid`.
    #[error("two keys share the kid {kid:?}")]
    DuplicateKid {
        /// The repeated `kid`.
        kid: String,
    },
    /// The key set file could not be read.
    #[error("key set file {path} could not be read")]
    Io {
        /// The file path.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file watcher could not be started.
    #[error("key set file watcher could not be started")]
    Watch(#[source] notify::Error),
}

/// Why a remote key source (JWKS URL or OIDC discovery) could not be fetched.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The URL is not https (or loopback http when explicitly allowed).
    #[error("key source URL must be https (plain http only on loopback when allowed)")]
    InsecureUrl,
    /// The URL does not parse.
    #[error("key source URL is malformed")]
    BadUrl,
    /// `connect` was not called within a tokio runtime, which fetches and refreshes need.
    #[error("a remote key source needs a tokio runtime")]
    NoRuntime,
    /// The HTTP client could not be built.
    #[error("HTTP client could not be built")]
    Client(#[source] reqwest::Error),
    /// The request failed (connection, TLS, timeout).
    #[error("request to the key source failed")]
    Request(#[source] reqwest::Error),
    /// The response took longer than the configured bound.
    #[error("key source did not answer within {0:?}")]
    Timeout(Duration),
    /// The response status was not 200.
    #[error("key source answered with HTTP status {0}")]
    Status(u16),
    /// The response body is larger than the configured bound.
    #[error("key source response exceeds {max} bytes")]
    TooLarge {
        /// The configured maximum.
        max: usize,
    },
    /// The discovery document is not JSON or lacks `jwks_uri`.
    #[error("OIDC discovery document is invalid")]
    BadDiscovery,
    /// The discovery document's `issuer` differs from the configured issuer.
    #[error("OIDC discovery names a different issuer")]
    IssuerMismatch,
    /// The JWKS could not be loaded.
    #[error(transparent)]
    KeySet(#[from] KeySetError),
}

/// Why a [`Validator`](crate::Validator) could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// No issuer was configured.
    #[error("a validator needs at least one trusted issuer")]
    NoIssuer,
    /// Two issuers share one `iss` value.
    #[error("issuer {0:?} is configured twice")]
    DuplicateIssuer(String),
    /// An issuer accepts no audience.
    #[error("issuer {0:?} accepts no audience")]
    NoAudience(String),
    /// An issuer's algorithm allowlist is empty or holds an HMAC algorithm.
    #[error("issuer {0:?} has an empty allowlist or allows a symmetric algorithm")]
    BadAlgorithms(String),
    /// The maximum lifetime is zero.
    #[error("issuer {0:?} has a zero maximum lifetime")]
    ZeroLifetime(String),
}

/// Why a token could not be minted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MintError {
    /// The requested lifetime exceeds the minter's maximum.
    #[error("requested lifetime {requested:?} exceeds the maximum of {max:?}")]
    LifetimeTooLong {
        /// The requested lifetime.
        requested: Duration,
        /// The maximum.
        max: Duration,
    },
    /// The lifetime is zero.
    #[error("token lifetime must be positive")]
    ZeroLifetime,
    /// No audience was given.
    #[error("a minted token needs at least one audience")]
    NoAudience,
    /// The subject is empty.
    #[error("a minted token needs a subject")]
    NoSubject,
    /// An elevation lacks a reason or an approver.
    #[error("an elevation needs a reason and an approver")]
    ElevationIncomplete,
    /// An extra claim would overwrite a registered one.
    #[error("extra claim `{0}` would overwrite a registered claim")]
    ReservedClaim(String),
    /// The private key is malformed or could not be generated.
    #[error("signing key is invalid or could not be generated")]
    Key,
    /// The system clock is before the Unix epoch.
    #[error("system clock is before the Unix epoch")]
    Clock,
    /// Signing failed.
    #[error("signing failed")]
    Sign(#[source] jsonwebtoken::errors::Error),
}
