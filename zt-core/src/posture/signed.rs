//! Posture from a header written by a posture agent on the caller's device and signed with
//! a key the service trusts.
//!
//! The full documentation is on the main type, re-exported at the crate root.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::{hmac, signature};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::HeaderName;
use serde_json::{Map, Value};

use super::{PostureContext, PostureError, PostureSource};
use crate::{Attributes, Principal};

/// Default header name.
const DEFAULT_HEADER: &str = "x-zt-posture";
/// Longest header value accepted, in bytes.
const MAX_HEADER_LEN: usize = 4096;
/// Shortest HMAC secret accepted, in bytes.
const MIN_HMAC_SECRET_LEN: usize = 32;

/// The key posture statements are verified with. Its `Debug` output never shows secret
/// material.
#[derive(Clone)]
pub struct PostureKey(KeyKind);

#[derive(Clone)]
enum KeyKind {
    Hmac(Box<hmac::Key>),
    Ed25519([u8; 32]),
}

impl PostureKey {
    /// A shared HMAC-SHA256 secret, at least 32 bytes.
    ///
    /// # Errors
    ///
    /// [`PostureError::KeyTooShort`] for a shorter secret.
    pub fn hmac_sha256(secret: &[u8]) -> Result<Self, PostureError> {
        if secret.len() < MIN_HMAC_SECRET_LEN {
            return Err(PostureError::KeyTooShort {
                min: MIN_HMAC_SECRET_LEN,
            });
        }
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
        Ok(Self(KeyKind::Hmac(Box::new(key))))
    }

    /// The agent's raw 32-byte Ed25519 public key.
    pub fn ed25519(public_key: [u8; 32]) -> Self {
        Self(KeyKind::Ed25519(public_key))
    }

    fn verify(&self, message: &[u8], tag: &[u8]) -> Result<(), PostureError> {
        let verified = match &self.0 {
            KeyKind::Hmac(key) => hmac::verify(key, message, tag),
            KeyKind::Ed25519(public) => {
                signature::UnparsedPublicKey::new(&signature::ED25519, public).verify(message, tag)
            }
        };
        verified.map_err(|_| PostureError::BadSignature)
    }
}

impl fmt::Debug for PostureKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            KeyKind::Hmac(_) => f.write_str("PostureKey::HmacSha256(<redacted>)"),
            KeyKind::Ed25519(_) => f.write_str("PostureKey::Ed25519"),
        }
    }
}

/// Reads device posture from a header signed by a posture agent, verified with a
/// [`PostureKey`]. The format follows the example.
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use http::HeaderMap;
/// use zt_core::{PostureContext, PostureKey, PostureSource, Principal, SignedHeaderPosture};
///
/// let secret = [7u8; 32];
/// let posture = SignedHeaderPosture::new(PostureKey::hmac_sha256(&secret)?);
///
/// // A request without the header has no posture: conditions on it deny.
/// let principal = Principal::default();
/// let headers = HeaderMap::new();
/// let context = PostureContext { principal: &principal, headers: Some(&headers),
///     now: SystemTime::now() };
/// assert!(posture.attributes(&context)?.is_empty());
/// # Ok::<(), zt_core::PostureError>(())
/// ```
///
/// The header value is `<base64url(statement)>.<base64url(signature)>` (no padding), the
/// signature covering the first part's ASCII bytes, like a compact JWS. The statement is a
/// JSON object:
///
/// ```json
/// {"sub": "spiffe://example.org/ns/ops/sa/laptop-7", "iat": 1798761600, "exp": 1798761900,
///  "attributes": {"device.managed": true, "device.os_patch": 20261101}}
/// ```
///
/// `sub` binds the statement to the caller: it must equal the verified peer's SPIFFE ID or
/// the token's `sub`, so a statement from a managed device cannot be replayed by another
/// caller within its short lifetime.
#[derive(Debug, Clone)]
pub struct SignedHeaderPosture {
    key: PostureKey,
    header: HeaderName,
    max_lifetime: Duration,
    leeway: Duration,
    prefix: String,
}

impl SignedHeaderPosture {
    /// Reads the `x-zt-posture` header, verifies it with `key`, accepts statements living at
    /// most 5 minutes with 30 seconds of clock leeway, and attributes under `device.` only.
    pub fn new(key: PostureKey) -> Self {
        Self {
            key,
            header: HeaderName::from_static(DEFAULT_HEADER),
            max_lifetime: Duration::from_secs(300),
            leeway: Duration::from_secs(30),
            prefix: "device.".to_owned(),
        }
    }

    /// Reads `header` instead.
    pub fn header(mut self, header: HeaderName) -> Self {
        self.header = header;
        self
    }

    /// Sets the longest accepted `exp - iat`.
    pub fn max_lifetime(mut self, max_lifetime: Duration) -> Self {
        self.max_lifetime = max_lifetime;
        self
    }

    /// Sets the prefix every attribute name must start with (empty allows any name).
    pub fn attribute_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    fn verify_statement(&self, value: &[u8], now: SystemTime) -> Result<Statement, PostureError> {
        if value.len() > MAX_HEADER_LEN {
            return Err(PostureError::Malformed("longer than 4096 bytes"));
        }
        let mut parts = value.split(|b| *b == b'.');
        let (Some(payload), Some(tag), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(PostureError::Malformed("expected <payload>.<signature>"));
        };
        let tag = decode(tag)?;

        // Signature first: nothing of the payload is read before it verifies.
        self.key.verify(payload, &tag)?;

        let statement = Statement::parse(&decode(payload)?)?;
        self.check_times(&statement, now)?;
        Ok(statement)
    }

    fn check_times(&self, statement: &Statement, now: SystemTime) -> Result<(), PostureError> {
        let now = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        if statement.exp <= now {
            return Err(PostureError::Expired);
        }
        if statement.iat > now.saturating_add(self.leeway.as_secs()) {
            return Err(PostureError::NotYetValid);
        }
        let max_secs = self.max_lifetime.as_secs();
        if statement.exp.saturating_sub(statement.iat) > max_secs {
            return Err(PostureError::LifetimeTooLong { max_secs });
        }
        Ok(())
    }

    fn attributes_of(&self, statement: Statement) -> Result<Attributes, PostureError> {
        let mut attributes = Attributes::new();
        for (name, value) in statement.attributes {
            if !name.starts_with(&self.prefix) {
                return Err(PostureError::AttributeNotAllowed(
                    name.chars().take(64).collect(),
                ));
            }
            attributes.insert(name, value);
        }
        Ok(attributes)
    }
}

impl PostureSource for SignedHeaderPosture {
    fn attributes(&self, context: &PostureContext<'_>) -> Result<Attributes, PostureError> {
        let Some(headers) = context.headers else {
            return Ok(Attributes::new());
        };
        let mut values = headers.get_all(&self.header).iter();
        let Some(value) = values.next() else {
            return Ok(Attributes::new());
        };
        if values.next().is_some() {
            return Err(PostureError::Malformed("header repeated"));
        }

        let statement = self.verify_statement(value.as_bytes(), context.now)?;
        if !is_bound_to(&statement.sub, context.principal) {
            return Err(PostureError::WrongCaller);
        }
        let attributes = self.attributes_of(statement)?;
        tracing::debug!(
            posture.attributes = attributes.iter().count(),
            "device posture verified"
        );
        Ok(attributes)
    }
}

/// A verified posture statement.
#[derive(Debug)]
struct Statement {
    sub: String,
    iat: u64,
    exp: u64,
    attributes: Map<String, Value>,
}

impl Statement {
    fn parse(json: &[u8]) -> Result<Self, PostureError> {
        let invalid = PostureError::InvalidPayload;
        let Ok(Value::Object(mut object)) = serde_json::from_slice(json) else {
            return Err(invalid("not a JSON object"));
        };
        let sub = match object.remove("sub") {
            Some(Value::String(sub)) => sub,
            _ => return Err(invalid("`sub` must be a string")),
        };
        let number =
            |value: Option<&Value>, message| value.and_then(Value::as_u64).ok_or(invalid(message));
        let iat = number(object.get("iat"), "`iat` must be a non-negative integer")?;
        let exp = number(object.get("exp"), "`exp` must be a non-negative integer")?;
        let attributes = match object.remove("attributes") {
            Some(Value::Object(attributes)) => attributes,
            _ => return Err(invalid("`attributes` must be an object")),
        };
        Ok(Self {
            sub,
            iat,
            exp,
            attributes,
        })
    }
}

/// Whether `sub` names the caller: its peer SPIFFE ID or its token subject.
fn is_bound_to(sub: &str, principal: &Principal) -> bool {
    let peer = principal.peer_id().is_some_and(|id| id.to_string() == sub);
    let subject = principal
        .subject
        .as_deref()
        .is_some_and(|s| &*s.subject == sub);
    peer || subject
}

fn decode(part: &[u8]) -> Result<Vec<u8>, PostureError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| PostureError::Malformed("not base64url without padding"))
}

/// Signs `statement` (format in [`SignedHeaderPosture`]) with an HMAC-SHA256 `secret` into a header
/// value, for posture agents written in Rust and for tests.
///
/// # Errors
///
/// [`PostureError::KeyTooShort`] for a secret shorter than 32 bytes.
pub fn sign_posture_hmac(secret: &[u8], statement: &Value) -> Result<String, PostureError> {
    if secret.len() < MIN_HMAC_SECRET_LEN {
        return Err(PostureError::KeyTooShort {
            min: MIN_HMAC_SECRET_LEN,
        });
    }
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let payload = URL_SAFE_NO_PAD.encode(statement.to_string());
    let tag = hmac::sign(&key, payload.as_bytes());
    Ok(format!(
        "{payload}.{}",
        URL_SAFE_NO_PAD.encode(tag.as_ref())
    ))
}
