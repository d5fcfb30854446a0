//! Request paths, normalized once before any matching so that the policy and the router read
//! the same bytes.
//!
//! [`normalize_path`] turns the path of a request target into the one form every later step
//! reads. It follows RFC 3986 where RFC 3986 is unambiguous and refuses the input where
//! servers, proxies and frameworks are known to disagree, because a path that means one thing
//! to the policy and another to the router is how authorization is bypassed:
//!
//! | input | result |
//! | --- | --- |
//! | `/a//b`, `/a/./b`, `/a/x/../b` | `/a/b` |
//! | `/../a` | `/a` (never above the root) |
//! | `/%7Euser/%41`, `/a%40b` | `/~user/A`, `/a@b` (characters allowed raw decoded) |
//! | `/caf%c3%a9` | `/caf%C3%A9` (other escapes kept, hex in uppercase) |
//! | `/a?x=1#f` | `/a` (query and fragment excluded) |
//! | `/a%2Fb`, `/a%5Cb`, `/a\b`, `/a%00`, `/a;x=1/b`, `/a%252e`, `/a/%2e%2e` | error |
//! | `/%C0%AE`, `/%FF` (overlong or invalid UTF-8) | error |
//!
//! ```
//! use zt_core::{PathError, normalize_path};
//!
//! assert_eq!(normalize_path("/api//v1/./orders/../items?x=1")?.as_str(), "/api/v1/items");
//! assert_eq!(normalize_path("/admin%2Fusers"), Err(PathError::EncodedSeparator { offset: 6 }));
//! # Ok::<(), PathError>(())
//! ```

use std::fmt;
use std::str::FromStr;

/// Longest raw path accepted, in bytes, query excluded.
pub const MAX_PATH_LEN: usize = 8 * 1024;

/// Why a request path was refused. Each variant names the rule the path broke; a refused
/// path is a denied request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// The path does not start with `/` (it is empty, `*`, or relative).
    #[error("path must start with `/`")]
    NotAbsolute,
    /// The path is longer than [`MAX_PATH_LEN`].
    #[error("path is {len} bytes long, more than the {MAX_PATH_LEN} allowed")]
    TooLong {
        /// Length of the path in bytes.
        len: usize,
    },
    /// The path holds an encoded `/` or `\` (`%2F`, `%5C`), which routers read differently.
    #[error("path holds an encoded separator at offset {offset}")]
    EncodedSeparator {
        /// Byte offset of the `%`.
        offset: usize,
    },
    /// A segment is `.` or `..` spelled with escapes (`%2e%2e`): a dot segment to readers
    /// that decode first, a plain name to readers that resolve first.
    #[error("path holds an encoded dot segment at offset {offset}")]
    EncodedDotSegment {
        /// Byte offset of the segment.
        offset: usize,
    },
    /// The path holds a backslash, which some servers read as `/`.
    #[error("path holds a backslash at offset {offset}")]
    Backslash {
        /// Byte offset of the backslash.
        offset: usize,
    },
    /// The path holds an encoded NUL or other control character (`%00`..`%1F`, `%7F`).
    #[error("path holds an encoded control character at offset {offset}")]
    ControlCharacter {
        /// Byte offset of the `%`.
        offset: usize,
    },
    /// A segment carries `;` parameters (raw or as `%3B`), which some servers strip before
    /// routing (`/admin;x/`, `/..;/`).
    #[error("path holds a `;` parameter at offset {offset}")]
    PathParameter {
        /// Byte offset of the `;` or its escape.
        offset: usize,
    },
    /// The path holds an encoded `%` followed by hex digits (`%252F`, or `%25u002e` for
    /// readers of `%uXXXX`), which a second decoding would turn into something else.
    #[error("path holds a double-encoded escape in the segment at offset {offset}")]
    DoubleEncoded {
        /// Byte offset of the segment that holds it.
        offset: usize,
    },
    /// A `%` is not followed by two hex digits.
    #[error("path holds a malformed percent escape at offset {offset}")]
    MalformedEscape {
        /// Byte offset of the `%`.
        offset: usize,
    },
    /// Percent escapes decode to bytes that are not valid UTF-8 (overlong forms, surrogates,
    /// stray continuation bytes).
    #[error("path escapes at offset {offset} are not valid UTF-8")]
    InvalidUtf8 {
        /// Byte offset of the first `%` of the offending sequence.
        offset: usize,
    },
    /// The path holds a raw byte outside visible ASCII (a space, a control character or
    /// unencoded non-ASCII text).
    #[error("path holds a raw byte outside visible ASCII at offset {offset}")]
    InvalidCharacter {
        /// Byte offset of the offending byte.
        offset: usize,
    },
}

/// A request path that passed [`normalize_path`]: absolute, no query or fragment, no empty,
/// `.` or `..` segments, no encoded separators, escapes of characters a segment may hold raw
/// decoded and every other escape in uppercase hex, so each character has one spelling.
/// Normalizing it again gives the same path.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NormalizedPath(String);

impl NormalizedPath {
    /// The root path, `/`.
    pub fn root() -> Self {
        Self("/".to_owned())
    }

    /// The normalized path, always starting with `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The segments between the slashes. A trailing slash yields a final empty segment;
    /// the root yields one empty segment.
    ///
    /// ```
    /// let path = zt_core::normalize_path("/orders/42")?;
    /// assert_eq!(path.segments().collect::<Vec<_>>(), ["orders", "42"]);
    /// # Ok::<(), zt_core::PathError>(())
    /// ```
    pub fn segments(&self) -> std::str::Split<'_, char> {
        self.0[1..].split('/')
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

impl AsRef<str> for NormalizedPath {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for NormalizedPath {
    type Err = PathError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        normalize_path(s)
    }
}

/// Normalizes the path of a request target (`/a/b?q`), or says why it must be refused.
///
/// Steps, in order: the query and fragment are cut off; each `%XX` escape is checked, and
/// those of characters a segment may hold raw (unreserved `A-Z a-z 0-9 - . _ ~` and
/// `! $ & ' ( ) * + , = : @`) are decoded while all others are kept with uppercase hex, so
/// that every character has one spelling; raw characters outside that set are encoded; empty
/// segments are dropped; `.` and `..` segments are resolved without climbing above `/`
/// (spelled with escapes, as `%2e%2e`, they are refused). A trailing slash is kept (`/a/`
/// and `/a` stay different paths), since routers treat them differently.
///
/// | input | result |
/// | --- | --- |
/// | `/a//b`, `/a/./b`, `/a/x/../b` | `/a/b` |
/// | `/../a` | `/a` (never above the root) |
/// | `/%7Euser/%41`, `/a%40b` | `/~user/A`, `/a@b` (characters allowed raw decoded) |
/// | `/caf%c3%a9` | `/caf%C3%A9` (other escapes kept, hex in uppercase) |
/// | `/a?x=1#f` | `/a` (query and fragment excluded) |
/// | `/a%2Fb`, `/a%5Cb`, `/a\b`, `/a%00`, `/a;x=1/b`, `/a%252e`, `/a/%2e%2e` | error |
/// | `/%C0%AE`, `/%FF` (overlong or invalid UTF-8) | error |
///
/// # Errors
///
/// [`PathError`] when the path is not absolute, is longer than [`MAX_PATH_LEN`], holds an
/// encoded `/` or `\`, an encoded dot segment, a backslash, an encoded control character,
/// a `;` parameter, a double-encoded escape, a malformed escape, escapes that are not
/// UTF-8, or a raw byte outside visible ASCII.
pub fn normalize_path(raw: &str) -> Result<NormalizedPath, PathError> {
    let path = raw.split(['?', '#']).next().unwrap_or_default();
    if !path.starts_with('/') {
        return Err(PathError::NotAbsolute);
    }
    if path.len() > MAX_PATH_LEN {
        return Err(PathError::TooLong { len: path.len() });
    }
    // Most paths are already normal: copied as they are, without decoding segment by segment.
    if is_already_normal(path) {
        return Ok(NormalizedPath(path.to_owned()));
    }
    normalize_segments(path)
}

/// Normalizes `path` (absolute, without query, not too long) segment by segment.
fn normalize_segments(path: &str) -> Result<NormalizedPath, PathError> {
    let mut out = Output::with_capacity(path.len());
    let mut start = 1;
    for segment in path[1..].split('/') {
        let decoded = decode_segment(segment, start)?;
        // `%2e%2e` is `..` only to readers that decode before resolving dot segments.
        if matches!(decoded.as_str(), "." | "..") && decoded != segment {
            return Err(PathError::EncodedDotSegment { offset: start });
        }
        out.push_segment(&decoded);
        start += segment.len() + 1;
    }
    Ok(NormalizedPath(out.finish()))
}

/// Whether `path` (absolute, without query) is its own normal form: only raw path
/// characters (no escape, nothing to escape, nothing refused), no empty segment but a final
/// one, and no dot segment. Normalizing such a path changes nothing.
fn is_already_normal(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    let mut segments = rest.split('/').peekable();
    while let Some(segment) = segments.next() {
        let last = segments.peek().is_none();
        let plain = segment.bytes().all(is_raw_path_char);
        if !plain || matches!(segment, "." | "..") || (segment.is_empty() && !last) {
            return false;
        }
    }
    true
}

/// The normalized segments gathered so far, with dot segments resolved.
struct Output {
    segments: Vec<String>,
    trailing_slash: bool,
    capacity: usize,
}

impl Output {
    fn with_capacity(capacity: usize) -> Self {
        Self {
            segments: Vec::new(),
            trailing_slash: false,
            capacity,
        }
    }

    fn push_segment(&mut self, segment: &str) {
        // An empty segment is a merged slash; it only matters at the very end.
        self.trailing_slash = matches!(segment, "" | "." | "..");
        match segment {
            "" | "." => {}
            ".." => {
                self.segments.pop();
            }
            _ => self.segments.push(segment.to_owned()),
        }
    }

    fn finish(self) -> String {
        let mut path = String::with_capacity(self.capacity);
        for segment in &self.segments {
            path.push('/');
            path.push_str(segment);
        }
        if self.trailing_slash || path.is_empty() {
            path.push('/');
        }
        path
    }
}

/// Decodes one segment; `base` is the segment's offset in the raw path, for errors.
fn decode_segment(segment: &str, base: usize) -> Result<String, PathError> {
    let bytes = segment.as_bytes();
    let mut out = String::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            i = decode_escapes(bytes, i, base, &mut out)?;
            continue;
        }
        check_raw_byte(b, base + i)?;
        if is_raw_path_char(b) {
            out.push(char::from(b));
        } else {
            push_escape(&mut out, b);
        }
        i += 1;
    }
    reject_double_encoding(&out, base)?;
    Ok(out)
}

/// `%25` is fine on its own; `%25` followed by two hex digits (raw or decoded) reads as a
/// second escape to anyone who decodes twice, and `%25u` followed by four hex digits reads
/// as a `%uXXXX` escape to the readers (IIS, some filters) that know that form.
fn reject_double_encoding(decoded: &str, base: usize) -> Result<(), PathError> {
    let bytes = decoded.as_bytes();
    let is_hex = |b: &[u8]| b.iter().all(|&b| hex_value(b).is_some());
    let found = (0..bytes.len()).any(|at| match bytes.get(at..) {
        Some([b'%', b'2', b'5', b'u' | b'U', rest @ ..]) => rest.get(..4).is_some_and(is_hex),
        Some([b'%', b'2', b'5', rest @ ..]) => rest.get(..2).is_some_and(is_hex),
        _ => false,
    });
    match found {
        true => Err(PathError::DoubleEncoded { offset: base }),
        false => Ok(()),
    }
}

/// Refuses raw bytes that some reader would take differently.
fn check_raw_byte(b: u8, offset: usize) -> Result<(), PathError> {
    match b {
        b'\\' => Err(PathError::Backslash { offset }),
        b';' => Err(PathError::PathParameter { offset }),
        0x21..=0x7e => Ok(()),
        _ => Err(PathError::InvalidCharacter { offset }),
    }
}

/// Decodes the run of escapes starting at `bytes[at]`, returning the index after it.
///
/// Escapes of bytes above 0x7F are gathered into one run and checked as UTF-8 together, so
/// that an overlong or truncated sequence is refused rather than passed on.
fn decode_escapes(
    bytes: &[u8],
    at: usize,
    base: usize,
    out: &mut String,
) -> Result<usize, PathError> {
    let first = escape_at(bytes, at, base)?;
    if first < 0x80 {
        push_ascii_escape(first, base + at, out)?;
        return Ok(at + 3);
    }
    let mut run = vec![first];
    let mut end = at + 3;
    while let Some(b'%') = bytes.get(end) {
        let byte = escape_at(bytes, end, base)?;
        if byte < 0x80 {
            break;
        }
        run.push(byte);
        end += 3;
    }
    if std::str::from_utf8(&run).is_err() {
        return Err(PathError::InvalidUtf8 { offset: base + at });
    }
    run.into_iter().for_each(|b| push_escape(out, b));
    Ok(end)
}

/// The byte of the `%XX` escape at `bytes[at]`.
fn escape_at(bytes: &[u8], at: usize, base: usize) -> Result<u8, PathError> {
    let malformed = PathError::MalformedEscape { offset: base + at };
    let hi = bytes.get(at + 1).and_then(|&b| hex_value(b));
    let lo = bytes.get(at + 2).and_then(|&b| hex_value(b));
    match (hi, lo) {
        (Some(hi), Some(lo)) => Ok(hi << 4 | lo),
        _ => Err(malformed),
    }
}

/// Decodes or keeps one ASCII escape, refusing the ones that change meaning.
fn push_ascii_escape(byte: u8, offset: usize, out: &mut String) -> Result<(), PathError> {
    match byte {
        b'/' | b'\\' => Err(PathError::EncodedSeparator { offset }),
        0x00..=0x1f | 0x7f => Err(PathError::ControlCharacter { offset }),
        b';' => Err(PathError::PathParameter { offset }),
        // Every character that may stand raw in a segment is decoded, so each has one
        // spelling: `%40` and `@` must not be two paths to the policy when a router's path
        // extractor reads both as `@`.
        _ if is_raw_path_char(byte) => {
            out.push(char::from(byte));
            Ok(())
        }
        _ => {
            push_escape(out, byte);
            Ok(())
        }
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn push_escape(out: &mut String, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('%');
    out.push(char::from(HEX[usize::from(byte >> 4)]));
    out.push(char::from(HEX[usize::from(byte & 0x0f)]));
}

/// RFC 3986 unreserved characters: decoding their escapes never changes meaning.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Characters kept raw in a normalized segment: RFC 3986 `pchar` minus `;` and escapes.
fn is_raw_path_char(b: u8) -> bool {
    is_unreserved(b)
        || matches!(b, b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*')
        || matches!(b, b'+' | b',' | b'=' | b':' | b'@')
}

#[cfg(test)]
mod tests;
