//! Why a policy failed to load, with the line and column of the offending text.

use std::ops::Range;
use std::path::PathBuf;

use crate::IdError;

/// A policy that could not be loaded. A [`PolicyHandle`](crate::PolicyHandle) keeps serving
/// its current policy when a reload fails with one of these.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The policy file could not be read.
    #[error("cannot read policy file {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The policy text is not a valid policy.
    #[error("policy line {line}, column {column}{}: {kind}", rule_suffix(rule.as_deref()))]
    Invalid {
        /// 1-based line of the offending text.
        line: usize,
        /// 1-based column (in characters) of the offending text.
        column: usize,
        /// The name of the rule it belongs to, when known.
        rule: Option<String>,
        /// What is wrong.
        kind: PolicyErrorKind,
    },
}

fn rule_suffix(rule: Option<&str>) -> String {
    rule.map(|r| format!(" (rule `{r}`)")).unwrap_or_default()
}

/// What is wrong with a policy's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyErrorKind {
    /// TOML syntax, an unknown key, a missing key or a value of the wrong type.
    #[error("{0}")]
    Syntax(String),
    /// A SPIFFE ID pattern in `peers` is malformed.
    #[error("bad SPIFFE ID pattern: {0}")]
    BadSpiffeId(#[source] IdError),
    /// A trust domain in `trust_domains` is malformed.
    #[error("bad trust domain: {0}")]
    BadTrustDomain(#[source] IdError),
    /// A path pattern is malformed.
    #[error("bad path pattern: {0}")]
    BadPathPattern(&'static str),
    /// A method is not a valid HTTP method token.
    #[error("`{0}` is not an HTTP method")]
    BadMethod(String),
    /// A host pattern is malformed.
    #[error("bad host pattern: {0}")]
    BadHost(&'static str),
    /// A header name is not a valid HTTP header name, or a value is not visible ASCII.
    #[error("bad header `{0}`")]
    BadHeader(String),
    /// A condition is malformed (no claim or attribute, no or several operators, a value
    /// that cannot be compared).
    #[error("bad condition: {0}")]
    BadCondition(&'static str),
    /// A datetime is not a full date and time with an offset.
    #[error("datetime must be a full date and time with an offset, such as 2026-01-01T00:00:00Z")]
    BadDatetime,
    /// Two rules share a name.
    #[error("rule name `{0}` is used twice")]
    DuplicateName(String),
    /// A rule name is empty or holds characters other than letters, digits, `.`, `-`, `_`.
    #[error("rule name must be letters, digits, `.`, `-` or `_`")]
    BadName,
    /// A rule does not say whom it applies to.
    #[error(
        "rule says nothing about the caller; use `anyone = true`, `authenticated = true`, \
         `peers`, `trust_domains`, `issuers`, `subjects` or `roles`"
    )]
    NoCaller,
    /// A rule can never match a request.
    #[error("rule can never match: {0}")]
    NeverMatches(&'static str),
}

/// The 1-based line and column of byte offset `at` in `source`.
pub(crate) fn line_column(source: &str, at: usize) -> (usize, usize) {
    let before = source.get(..at.min(source.len())).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// Builds [`PolicyError::Invalid`] for the text at `span`.
pub(crate) fn invalid(
    source: &str,
    span: Range<usize>,
    rule: Option<&str>,
    kind: PolicyErrorKind,
) -> PolicyError {
    let (line, column) = line_column(source, span.start);
    PolicyError::Invalid {
        line,
        column,
        rule: rule.map(str::to_owned),
        kind,
    }
}
