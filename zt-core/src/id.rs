//! SPIFFE identities, parsed strictly per the SPIFFE ID standard.
//!
//! A [`SpiffeId`] is `spiffe://<trust domain><path>`. Parsing accepts only what the standard
//! allows and says which rule a rejected input broke. Scheme and trust domain are
//! case-insensitive: ASCII letters are folded and only the lowercase form is stored, so two
//! spellings of one identity compare equal. The path keeps its case.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// Longest SPIFFE ID accepted, in bytes, scheme included.
pub const MAX_ID_LEN: usize = 2048;

/// Longest trust domain name accepted, in bytes.
pub const MAX_TRUST_DOMAIN_LEN: usize = 255;

const SCHEME: &str = "spiffe://";

/// Why a SPIFFE ID or trust domain was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// The input was empty.
    #[error("SPIFFE ID is empty")]
    Empty,
    /// The input holds a byte outside printable ASCII.
    #[error("SPIFFE ID holds a byte outside printable ASCII at offset {offset}")]
    NotAscii {
        /// Byte offset of the first offending byte.
        offset: usize,
    },
    /// The scheme is missing or is not `spiffe`.
    #[error("SPIFFE ID scheme must be `spiffe://`")]
    WrongScheme,
    /// The whole ID is longer than [`MAX_ID_LEN`].
    #[error("SPIFFE ID is {len} bytes long, more than the {MAX_ID_LEN} allowed")]
    TooLong {
        /// Length of the input in bytes.
        len: usize,
    },
    /// The trust domain is empty.
    #[error("trust domain is empty")]
    EmptyTrustDomain,
    /// The trust domain is longer than [`MAX_TRUST_DOMAIN_LEN`].
    #[error("trust domain is {len} bytes long, more than the {MAX_TRUST_DOMAIN_LEN} allowed")]
    TrustDomainTooLong {
        /// Length of the trust domain in bytes.
        len: usize,
    },
    /// The trust domain holds a port (`:`).
    #[error("trust domain must not carry a port")]
    PortNotAllowed,
    /// The trust domain holds user info (`@`).
    #[error("trust domain must not carry user info")]
    UserInfoNotAllowed,
    /// The trust domain holds a character other than letters, digits, `.`, `-` and `_`.
    #[error("trust domain holds {found:?}; only letters, digits, `.`, `-` and `_` are allowed")]
    BadTrustDomainChar {
        /// The offending character.
        found: char,
    },
    /// The ID holds a query (`?`) or fragment (`#`).
    #[error("SPIFFE ID must not carry a query or fragment")]
    QueryOrFragment,
    /// The ID holds a percent-encoded byte.
    #[error("SPIFFE ID must not be percent-encoded")]
    PercentEncoded,
    /// A path segment is empty (`//`).
    #[error("path holds an empty segment")]
    EmptySegment,
    /// A path segment is `.` or `..`.
    #[error("path holds a `.` or `..` segment")]
    DotSegment,
    /// The path does not start with `/`.
    #[error("path must start with `/`")]
    PathNotAbsolute,
    /// The path ends with `/`.
    #[error("path must not end with `/`")]
    TrailingSlash,
    /// A path segment holds a character other than letters, digits, `.`, `-` and `_`.
    #[error("path holds {found:?}; only letters, digits, `.`, `-` and `_` are allowed")]
    BadPathChar {
        /// The offending character.
        found: char,
    },
}

/// A SPIFFE trust domain such as `example.org`, stored in lowercase.
///
/// ```
/// use zt_core::TrustDomain;
///
/// let td: TrustDomain = "Example.ORG".parse()?;
/// assert_eq!(td.as_str(), "example.org");
/// # Ok::<(), zt_core::IdError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TrustDomain(Arc<str>);

impl TrustDomain {
    /// Parses a bare trust domain name (`example.org`) or a SPIFFE ID with an empty path
    /// (`spiffe://example.org`).
    ///
    /// # Errors
    ///
    /// [`IdError`] naming the rule the input broke.
    pub fn new(input: &str) -> Result<Self, IdError> {
        check_ascii(input)?;
        let name = match strip_scheme(input) {
            Some(rest) => rest,
            None if input.contains("://") => return Err(IdError::WrongScheme),
            None => input,
        };
        Self::from_name(name)
    }

    fn from_name(name: &str) -> Result<Self, IdError> {
        validate_trust_domain(name)?;
        Ok(Self(Arc::from(name.to_ascii_lowercase())))
    }

    /// The trust domain name, lowercase.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The SPIFFE ID of the trust domain itself, `spiffe://<name>`.
    pub fn id_string(&self) -> String {
        format!("{SCHEME}{}", self.0)
    }
}

impl FromStr for TrustDomain {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl fmt::Display for TrustDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TrustDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TrustDomain({})", self.0)
    }
}

/// A SPIFFE ID: `spiffe://<trust domain>/<path>`, compared as a value.
///
/// Two IDs are equal when their trust domains are equal (case-insensitively) and their paths
/// are byte-for-byte equal. An ID with an empty path names the trust domain itself; workload
/// identities (X509-SVIDs, JWT-SVIDs) always carry a path, see [`SpiffeId::is_workload`].
///
/// ```
/// use zt_core::{SpiffeId, TrustDomain};
///
/// let id: SpiffeId = "spiffe://EXAMPLE.org/ns/prod/sa/orders".parse()?;
/// assert_eq!(id.to_string(), "spiffe://example.org/ns/prod/sa/orders");
/// assert_eq!(id.path(), "/ns/prod/sa/orders");
/// assert!(id.is_member_of(&"example.org".parse::<TrustDomain>()?));
/// assert!("spiffe://example.org/a/../b".parse::<SpiffeId>().is_err());
/// # Ok::<(), zt_core::IdError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpiffeId {
    trust_domain: TrustDomain,
    path: Arc<str>,
}

impl SpiffeId {
    /// Parses a SPIFFE ID.
    ///
    /// # Errors
    ///
    /// [`IdError`] naming the rule the input broke.
    pub fn new(input: &str) -> Result<Self, IdError> {
        if input.is_empty() {
            return Err(IdError::Empty);
        }
        check_ascii(input)?;
        if input.len() > MAX_ID_LEN {
            return Err(IdError::TooLong { len: input.len() });
        }

        let rest = strip_scheme(input).ok_or(IdError::WrongScheme)?;
        if rest.contains(['?', '#']) {
            return Err(IdError::QueryOrFragment);
        }
        if rest.contains('%') {
            return Err(IdError::PercentEncoded);
        }

        let (name, path) = match rest.find('/') {
            Some(at) => rest.split_at(at),
            None => (rest, ""),
        };
        let trust_domain = TrustDomain::from_name(name)?;
        validate_path(path)?;
        Ok(Self {
            trust_domain,
            path: Arc::from(path),
        })
    }

    /// Builds the ID `spiffe://<trust_domain><path>`, checking `path` by the same rules as
    /// [`SpiffeId::new`]. `path` is empty or starts with `/`.
    ///
    /// # Errors
    ///
    /// [`IdError`] naming the rule the path broke.
    pub fn from_parts(trust_domain: TrustDomain, path: &str) -> Result<Self, IdError> {
        check_ascii(path)?;
        if path.contains(['?', '#']) {
            return Err(IdError::QueryOrFragment);
        }
        if path.contains('%') {
            return Err(IdError::PercentEncoded);
        }
        validate_path(path)?;
        let len = SCHEME.len() + trust_domain.as_str().len() + path.len();
        if len > MAX_ID_LEN {
            return Err(IdError::TooLong { len });
        }
        Ok(Self {
            trust_domain,
            path: Arc::from(path),
        })
    }

    /// The trust domain this ID belongs to.
    pub fn trust_domain(&self) -> &TrustDomain {
        &self.trust_domain
    }

    /// The path, empty or starting with `/`, case preserved.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Whether this ID lives in `trust_domain`.
    pub fn is_member_of(&self, trust_domain: &TrustDomain) -> bool {
        self.trust_domain == *trust_domain
    }

    /// Whether this ID names a workload (its path is not empty), as SVIDs require.
    pub fn is_workload(&self) -> bool {
        !self.path.is_empty()
    }
}

impl FromStr for SpiffeId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl fmt::Display for SpiffeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SCHEME}{}{}", self.trust_domain, self.path)
    }
}

impl fmt::Debug for SpiffeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SpiffeId({self})")
    }
}

impl serde::Serialize for SpiffeId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for SpiffeId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for TrustDomain {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for TrustDomain {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Rejects anything outside printable ASCII before any case folding happens.
fn check_ascii(input: &str) -> Result<(), IdError> {
    match input.bytes().position(|b| !(0x21..=0x7e).contains(&b)) {
        Some(offset) => Err(IdError::NotAscii { offset }),
        None => Ok(()),
    }
}

/// Strips a case-insensitive `spiffe://` prefix.
fn strip_scheme(input: &str) -> Option<&str> {
    let head = input.get(..SCHEME.len())?;
    head.eq_ignore_ascii_case(SCHEME)
        .then(|| &input[SCHEME.len()..])
}

fn validate_trust_domain(name: &str) -> Result<(), IdError> {
    if name.is_empty() {
        return Err(IdError::EmptyTrustDomain);
    }
    if name.len() > MAX_TRUST_DOMAIN_LEN {
        return Err(IdError::TrustDomainTooLong { len: name.len() });
    }
    for c in name.chars() {
        match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' | '_' => {}
            ':' => return Err(IdError::PortNotAllowed),
            '@' => return Err(IdError::UserInfoNotAllowed),
            '%' => return Err(IdError::PercentEncoded),
            '?' | '#' => return Err(IdError::QueryOrFragment),
            found => return Err(IdError::BadTrustDomainChar { found }),
        }
    }
    Ok(())
}

/// Checks a path that is empty or starts with `/`.
fn validate_path(path: &str) -> Result<(), IdError> {
    if path.is_empty() {
        return Ok(());
    }
    if !path.starts_with('/') {
        return Err(IdError::PathNotAbsolute);
    }
    if path.ends_with('/') {
        return Err(IdError::TrailingSlash);
    }
    for segment in path[1..].split('/') {
        match segment {
            "" => return Err(IdError::EmptySegment),
            "." | ".." => return Err(IdError::DotSegment),
            _ => {}
        }
        if let Some(found) = segment
            .chars()
            .find(|c| !matches!(c, 'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' | '_'))
        {
            return Err(IdError::BadPathChar { found });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
