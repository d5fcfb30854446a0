//! Request paths, normalized once before any matching so that the policy and the router read
//! the same bytes.

use std::fmt;

/// A request path that passed [`normalize_path`](crate::normalize_path): absolute, no query or
/// fragment, no empty, `.` or `..` segments, no encoded separators.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NormalizedPath(String);

impl NormalizedPath {
    /// The normalized path, always starting with `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NormalizedPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for NormalizedPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NormalizedPath({:?})", self.0)
    }
}
