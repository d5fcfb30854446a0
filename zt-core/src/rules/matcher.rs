//! Matchers for who asks and what is asked: SPIFFE ID patterns, path patterns, hosts and
//! headers, each parsed once at load and matched without allocation.

use std::sync::Arc;

use http::HeaderMap;
use http::header::HeaderName;

use super::error::PolicyErrorKind;
use crate::{ConditionError, NormalizedPath, SpiffeId, TrustDomain, normalize_path};

/// The result of matching one part of a rule: three-valued, so that a part that cannot be
/// evaluated is kept apart from one that does not match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tri {
    True,
    False,
    Unknown(ConditionError),
}

impl Tri {
    pub(crate) fn from_bool(b: bool) -> Self {
        if b { Self::True } else { Self::False }
    }
}

// === impl PeerPattern ===

/// A pattern over mTLS peer SPIFFE IDs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PeerPattern {
    /// Exactly this ID.
    Exact(SpiffeId),
    /// Every ID of this trust domain (`spiffe://example.org/*`).
    TrustDomain(TrustDomain),
    /// Every ID of the trust domain whose path starts with these segments
    /// (`spiffe://example.org/ns/prod/*`); the path is stored with its final `/`.
    Prefix(TrustDomain, Box<str>),
}

impl PeerPattern {
    pub(crate) fn parse(pattern: &str) -> Result<Self, PolicyErrorKind> {
        let Some(base) = pattern.strip_suffix("/*") else {
            let id = SpiffeId::new(pattern).map_err(PolicyErrorKind::BadSpiffeId)?;
            if !id.is_workload() {
                return Err(PolicyErrorKind::NeverMatches(
                    "a peer ID always has a path; write `spiffe://<domain>/*` for a trust domain",
                ));
            }
            return Ok(Self::Exact(id));
        };
        let id = SpiffeId::new(base).map_err(PolicyErrorKind::BadSpiffeId)?;
        match id.path() {
            "" => Ok(Self::TrustDomain(id.trust_domain().clone())),
            path => Ok(Self::Prefix(
                id.trust_domain().clone(),
                format!("{path}/").into(),
            )),
        }
    }

    pub(crate) fn matches(&self, id: &SpiffeId) -> bool {
        match self {
            Self::Exact(exact) => exact == id,
            Self::TrustDomain(td) => id.is_member_of(td),
            Self::Prefix(td, prefix) => id.is_member_of(td) && id.path().starts_with(&**prefix),
        }
    }
}

// === impl PathPattern ===

/// One segment of a path pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// This exact segment.
    Literal(Box<str>),
    /// Any one non-empty segment (`{name}`).
    Any,
}

/// A path pattern: exact (`/health`), with single-segment wildcards (`/orders/{id}`), or a
/// prefix (`/orders/*`, which also matches `/orders` itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PathPattern {
    segments: Box<[Segment]>,
    prefix: bool,
}

impl PathPattern {
    pub(crate) fn parse(pattern: &str) -> Result<Self, PolicyErrorKind> {
        let bad = PolicyErrorKind::BadPathPattern;
        let rest = pattern
            .strip_prefix('/')
            .ok_or(bad("must start with `/`"))?;
        let (rest, prefix) = match rest.strip_suffix('*') {
            Some(r) if r.is_empty() || r.ends_with('/') => (r.strip_suffix('/').unwrap_or(r), true),
            Some(_) => return Err(bad("`*` must be a whole last segment, as in `/orders/*`")),
            None => (rest, false),
        };
        if prefix && rest.is_empty() {
            return Ok(Self {
                segments: Box::new([]),
                prefix,
            });
        }
        let segments: Box<[Segment]> = rest
            .split('/')
            .map(parse_segment)
            .collect::<Result<_, _>>()?;
        let inner = &segments[..segments.len().saturating_sub(1)];
        if inner.contains(&Segment::Literal("".into()))
            || (prefix && segments.ends_with(&[Segment::Literal("".into())]))
        {
            return Err(bad("a pattern has no empty segment (`//`)"));
        }
        Ok(Self { segments, prefix })
    }

    /// The literal first segment, when there is one: the key of the path index (folded to
    /// lowercase there, since deny rules match it ignoring case).
    pub(crate) fn first_literal(&self) -> Option<&str> {
        match self.segments.first() {
            Some(Segment::Literal(s)) => Some(s),
            Some(Segment::Any) | None => None,
        }
    }

    pub(crate) fn matches(&self, path: &NormalizedPath) -> bool {
        self.matches_segments(&self.segments, path.segments(), false)
    }

    /// Like [`matches`](Self::matches), but `/a` and `/a/` count as one path, on either
    /// side, and literals compare ignoring ASCII case. Deny rules match this way: many
    /// routers, and path-normalizing layers in front of them, do not tell `/admin/` or
    /// `/ADMIN` from `/admin`, so a deny on `/admin` must stop them too.
    pub(crate) fn matches_leniently(&self, path: &NormalizedPath) -> bool {
        let text = path.as_str();
        let trimmed = match text.len() > 1 {
            true => text.strip_suffix('/').unwrap_or(text),
            false => text,
        };
        let expected = match &*self.segments {
            [init @ .., Segment::Literal(last)] if !init.is_empty() && last.is_empty() => init,
            all => all,
        };
        let actual = trimmed.strip_prefix('/').unwrap_or(trimmed).split('/');
        self.matches_segments(expected, actual, true)
    }

    fn matches_segments<'p>(
        &self,
        expected: &[Segment],
        mut actual: impl Iterator<Item = &'p str>,
        fold_case: bool,
    ) -> bool {
        for expected in expected {
            let Some(segment) = actual.next() else {
                return false;
            };
            let ok = match expected {
                Segment::Literal(lit) if fold_case => lit.eq_ignore_ascii_case(segment),
                Segment::Literal(lit) => **lit == *segment,
                Segment::Any => !segment.is_empty(),
            };
            if !ok {
                return false;
            }
        }
        self.prefix || actual.next().is_none()
    }
}

fn parse_segment(segment: &str) -> Result<Segment, PolicyErrorKind> {
    let bad = PolicyErrorKind::BadPathPattern;
    if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
        let valid =
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        return if valid {
            Ok(Segment::Any)
        } else {
            Err(bad("a wildcard is `{name}`"))
        };
    }
    // `:id` is how axum 0.7 and many routers spell a parameter; read literally it would
    // never match, so a deny rule written that way would silently never deny.
    if segment.strip_prefix(':').is_some_and(|name| {
        !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    }) {
        return Err(bad("a wildcard is `{name}`, not `:name`"));
    }
    if segment.contains(['*', '{', '}']) {
        return Err(bad(
            "`*` only ends a pattern and `{name}` is a whole segment",
        ));
    }
    if segment.is_empty() {
        return Ok(Segment::Literal("".into()));
    }
    let raw = format!("/{segment}");
    match normalize_path(&raw) {
        Ok(normal) if normal.as_str() == raw => Ok(Segment::Literal(segment.into())),
        _ => Err(bad(
            "segments must be in normalized form (no `.`, `..`, `;` or lowercase escapes)",
        )),
    }
}

// === impl HostPattern ===

/// A host pattern, lowercase, without port or trailing dot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HostPattern {
    /// Exactly this host.
    Exact(Box<str>),
    /// Any host below this suffix (`*.example.org` holds `.example.org`).
    Suffix(Box<str>),
}

impl HostPattern {
    pub(crate) fn parse(pattern: &str) -> Result<Self, PolicyErrorKind> {
        let bad = PolicyErrorKind::BadHost;
        let host = bare_host(pattern).ok_or(bad("empty host"))?;
        if host.len() != pattern.len() {
            return Err(bad("write the host without port or trailing dot"));
        }
        let (name, suffix) = match host.strip_prefix("*.") {
            Some(rest) => (rest, true),
            None => (host, false),
        };
        if !is_well_formed_host(name) || (suffix && name.starts_with('[')) {
            return Err(bad(
                "a host is letters, digits, `.`, `-`, or `*.` followed by a host",
            ));
        }
        let name = name.to_ascii_lowercase();
        Ok(match suffix {
            true => Self::Suffix(format!(".{name}").into()),
            false => Self::Exact(name.into()),
        })
    }

    pub(crate) fn matches(&self, host: &str) -> bool {
        let Some(host) = bare_host(host) else {
            return false;
        };
        match self {
            Self::Exact(exact) => host.eq_ignore_ascii_case(exact),
            Self::Suffix(suffix) => {
                host.len() > suffix.len()
                    && host.is_char_boundary(host.len() - suffix.len())
                    && host[host.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
            }
        }
    }
}

/// Whether `host` is a host as a request names it: a name of dot-separated labels (letters,
/// digits, `-`, `_`; one trailing dot allowed) or an IP literal in brackets, then
/// optionally `:` and a port of at most five digits. Anything else (`a..b`, `user@host`,
/// `host:1:2`, spaces, commas, escapes) cannot be compared by name, only refused.
pub(crate) fn is_well_formed_host(host: &str) -> bool {
    let (name_ok, port) = match host.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((literal, port)) => (is_ip_literal(literal), port),
            None => return false,
        },
        None => {
            let (name, port) = host.split_at(host.find(':').unwrap_or(host.len()));
            (is_host_name(name), port)
        }
    };
    let port_ok = port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|d| d.len() <= 5 && d.bytes().all(|b| b.is_ascii_digit()));
    name_ok && port_ok
}

/// The inside of `[...]`: an IPv6 address (hex digits and colons, maybe a dotted tail).
fn is_ip_literal(literal: &str) -> bool {
    literal.contains(':')
        && literal
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
}

/// A registered name: labels of letters, digits, `-` and `_`, one trailing dot allowed.
fn is_host_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// The host without port and without one trailing dot; `None` if nothing is left.
fn bare_host(host: &str) -> Option<&str> {
    let without_port = match host.rfind(':') {
        // An IPv6 literal keeps its colons inside the brackets.
        Some(colon) if !host[colon..].contains(']') => &host[..colon],
        _ => host,
    };
    let bare = without_port.strip_suffix('.').unwrap_or(without_port);
    (!bare.is_empty()).then_some(bare)
}

// === impl HeaderMatch ===

/// Values a header must hold; `*` means any value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeaderMatch {
    name: HeaderName,
    label: Arc<str>,
    values: Box<[Box<str>]>,
}

impl HeaderMatch {
    pub(crate) fn parse(name: &str, values: Vec<String>) -> Result<Self, PolicyErrorKind> {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| PolicyErrorKind::BadHeader(name.to_owned()))?;
        if values.is_empty() {
            return Err(PolicyErrorKind::NeverMatches(
                "a header with an empty list of values",
            ));
        }
        if values
            .iter()
            .any(|v| v.is_empty() || v.contains(',') || !is_visible(v))
        {
            return Err(PolicyErrorKind::BadHeader(name.to_owned()));
        }
        Ok(Self {
            label: header.as_str().into(),
            name: header,
            values: values.into_iter().map(String::into_boxed_str).collect(),
        })
    }

    /// Matches every value of the header, repeated or comma-joined. A deny rule matches when
    /// any value is listed; an allow rule only when every value is.
    pub(crate) fn matches(&self, headers: &HeaderMap, deny: bool) -> Tri {
        let mut seen = false;
        for value in headers.get_all(&self.name) {
            let Ok(text) = value.to_str() else {
                return Tri::Unknown(ConditionError::HeaderNotText {
                    header: self.label.clone(),
                });
            };
            for item in text.split(',').map(str::trim) {
                seen = true;
                let listed = self.values.iter().any(|v| &**v == "*" || **v == *item);
                if deny && listed {
                    return Tri::True;
                }
                if !deny && !listed {
                    return Tri::False;
                }
            }
        }
        Tri::from_bool(seen && !deny)
    }
}

fn is_visible(value: &str) -> bool {
    value.bytes().all(|b| (0x20..=0x7e).contains(&b))
}
