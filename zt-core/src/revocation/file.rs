//! The revocation file: one entry per line. The format is described in the
//! docs of `RevocationList`.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::RevocationError;
use super::target::{Revocation, RevocationOrigin, RevocationTarget};
use crate::{CertThumbprint, IdError};

/// Longest line accepted, in bytes.
const MAX_LINE_LEN: usize = 8 * 1024;

/// How much of an offending token an error message repeats.
const ECHO_LEN: usize = 64;

const DEFAULT_REASON: &str = "listed in the revocation file";

/// What was wrong with one line of a revocation file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LineError {
    /// The first word is not `spiffe`, `thumbprint`, `token` or `subject`.
    #[error("unknown entry kind {0:?}; expected spiffe, thumbprint, token or subject")]
    UnknownKind(String),
    /// A field the entry kind requires is missing.
    #[error("missing {0}")]
    Missing(&'static str),
    /// The SPIFFE ID of a `spiffe` entry does not parse.
    #[error("bad SPIFFE ID: {0}")]
    SpiffeId(#[source] IdError),
    /// The thumbprint of a `thumbprint` entry is not 64 hexadecimal digits.
    #[error("thumbprint must be 64 hexadecimal digits (SHA-256 of the DER certificate)")]
    Thumbprint,
    /// The `expires=` value is neither Unix seconds nor an RFC 3339 date-time with an offset.
    #[error("bad expiry {0:?}; expected Unix seconds or an RFC 3339 date-time with offset")]
    Expiry(String),
    /// A word after the fields is not `expires=` or `reason=`.
    #[error("unknown option {0:?}; expected expires= or reason=")]
    UnknownOption(String),
    /// `expires=` appears twice.
    #[error("expires= given twice")]
    DuplicateExpiry,
    /// The line is longer than 8 KiB.
    #[error("line is {0} bytes long, more than the 8192 allowed")]
    TooLong(usize),
}

/// Reads and parses the file at `path`.
pub(super) fn load(path: &Path) -> Result<Vec<Revocation>, RevocationError> {
    let text = std::fs::read_to_string(path).map_err(|source| RevocationError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text).map_err(|(line, problem)| RevocationError::Line {
        path: path.to_path_buf(),
        line,
        problem,
    })
}

/// Parses a whole file; the first bad line (1-based) fails it.
pub(super) fn parse(text: &str) -> Result<Vec<Revocation>, (usize, LineError)> {
    let mut entries = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let revocation = parse_line(line).map_err(|problem| (index + 1, problem))?;
        entries.push(revocation);
    }
    Ok(entries)
}

fn parse_line(line: &str) -> Result<Revocation, LineError> {
    if line.len() > MAX_LINE_LEN {
        return Err(LineError::TooLong(line.len()));
    }
    let (kind, rest) = next_word(line);
    let (target, options) = match kind {
        "spiffe" => {
            let (id, rest) = required(rest, "SPIFFE ID")?;
            let id = id.parse().map_err(LineError::SpiffeId)?;
            (RevocationTarget::SpiffeId(id), rest)
        }
        "thumbprint" => {
            let (hex, rest) = required(rest, "thumbprint")?;
            (RevocationTarget::Thumbprint(parse_thumbprint(hex)?), rest)
        }
        "token" => {
            let (issuer, rest) = required(rest, "issuer")?;
            let (token_id, rest) = required(rest, "token id")?;
            (RevocationTarget::token_id(issuer, token_id), rest)
        }
        "subject" => {
            let (issuer, rest) = required(rest, "issuer")?;
            let (subject, rest) = required(rest, "subject")?;
            (RevocationTarget::subject(issuer, subject), rest)
        }
        other => return Err(LineError::UnknownKind(echo(other))),
    };
    let revocation = Revocation::new(target, DEFAULT_REASON).origin(RevocationOrigin::File);
    apply_options(revocation, options)
}

/// Reads `expires=<time>` and `reason=<rest of line>` after the fields.
fn apply_options(mut revocation: Revocation, mut rest: &str) -> Result<Revocation, LineError> {
    loop {
        let (word, after) = next_word(rest);
        if word.is_empty() {
            return Ok(revocation);
        }
        if word.starts_with("reason=") {
            // The reason runs to the end of the line, spaces included.
            let reason = rest.trim_start()["reason=".len()..].trim();
            if !reason.is_empty() {
                revocation.reason = Arc::from(reason);
            }
            return Ok(revocation);
        }
        let Some(value) = word.strip_prefix("expires=") else {
            return Err(LineError::UnknownOption(echo(word)));
        };
        if revocation.expires_at.is_some() {
            return Err(LineError::DuplicateExpiry);
        }
        revocation.expires_at = Some(parse_expiry(value)?);
        rest = after;
    }
}

/// Splits off the first whitespace-separated word.
fn next_word(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.find(char::is_whitespace) {
        Some(at) => s.split_at(at),
        None => (s, ""),
    }
}

fn required<'a>(s: &'a str, field: &'static str) -> Result<(&'a str, &'a str), LineError> {
    let (word, rest) = next_word(s);
    if word.is_empty() || word.starts_with("expires=") || word.starts_with("reason=") {
        return Err(LineError::Missing(field));
    }
    Ok((word, rest))
}

fn parse_thumbprint(hex: &str) -> Result<CertThumbprint, LineError> {
    if hex.len() != 64 || !hex.is_ascii() {
        return Err(LineError::Thumbprint);
    }
    let mut bytes = [0u8; 32];
    for (byte, pair) in bytes.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
        let pair = std::str::from_utf8(pair).map_err(|_| LineError::Thumbprint)?;
        *byte = u8::from_str_radix(pair, 16).map_err(|_| LineError::Thumbprint)?;
    }
    Ok(CertThumbprint(bytes))
}

/// Unix seconds, or an RFC 3339 date-time with an offset (`2026-12-31T00:00:00Z`).
pub(super) fn parse_expiry(value: &str) -> Result<SystemTime, LineError> {
    let bad = || LineError::Expiry(echo(value));
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        let secs: u64 = value.parse().map_err(|_| bad())?;
        return UNIX_EPOCH
            .checked_add(Duration::from_secs(secs))
            .ok_or_else(bad);
    }
    let datetime: toml::value::Datetime = value.parse().map_err(|_| bad())?;
    let (Some(date), Some(time), Some(offset)) = (datetime.date, datetime.time, datetime.offset)
    else {
        return Err(bad());
    };
    let offset_minutes = match offset {
        toml::value::Offset::Z => 0,
        toml::value::Offset::Custom { minutes } => i64::from(minutes),
    };
    let days = days_from_civil(i64::from(date.year), date.month.into(), date.day.into());
    let seconds = days * 86_400
        + i64::from(time.hour) * 3_600
        + i64::from(time.minute) * 60
        + i64::from(time.second)
        - offset_minutes * 60;
    let seconds = u64::try_from(seconds).map_err(|_| bad())?;
    let nanos = Duration::from_nanos(time.nanosecond.into());
    UNIX_EPOCH
        .checked_add(Duration::from_secs(seconds) + nanos)
        .ok_or_else(bad)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn echo(s: &str) -> String {
    s.chars().take(ECHO_LEN).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_expiry_matches_unix_seconds() {
        let unix = parse_expiry("1798761600").unwrap();
        assert_eq!(parse_expiry("2027-01-01T00:00:00Z").unwrap(), unix);
        assert_eq!(parse_expiry("2027-01-01T02:00:00+02:00").unwrap(), unix);
    }

    #[test]
    fn expiry_without_offset_is_refused() {
        assert!(parse_expiry("2027-01-01T00:00:00").is_err());
        assert!(parse_expiry("2027-01-01").is_err());
        assert!(parse_expiry("soon").is_err());
    }

    #[test]
    fn reason_runs_to_the_end_of_the_line() {
        let r = parse_line("subject https://idp alice expires=10 reason=left the company").unwrap();
        assert_eq!(&*r.reason, "left the company");
        assert_eq!(r.expires_at, Some(UNIX_EPOCH + Duration::from_secs(10)));
    }

    #[test]
    fn token_line_without_token_id_is_refused() {
        assert_eq!(
            parse_line("token https://idp reason=x").unwrap_err(),
            LineError::Missing("token id")
        );
    }

    #[test]
    fn documented_example_parses() {
        let text = "\
# kind     fields, then options
spiffe     spiffe://example.org/ns/prod/sa/billing  expires=2027-01-01T00:00:00Z reason=leak
thumbprint 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
token      https://idp.example.org 4f1c2d3e  reason=reported stolen
subject    https://idp.example.org alice@example.org  expires=1798761600
";
        let entries = parse(text).unwrap();
        assert_eq!(entries.len(), 4);
        assert_eq!(&*entries[0].reason, "leak");
        assert_eq!(entries[0].expires_at, entries[3].expires_at);
        assert_eq!(&*entries[1].reason, DEFAULT_REASON);
    }

    #[test]
    fn bad_line_number_is_reported() {
        let text = "# header\nspiffe spiffe://example.org/a\n\nthumbprint abc\n";
        let (line, problem) = parse(text).unwrap_err();
        assert_eq!(line, 4);
        assert_eq!(problem, LineError::Thumbprint);
    }
}
