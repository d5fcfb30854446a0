//! The table the quickstart prints.

use std::fmt::Write as _;

use http::HeaderMap;

/// One row of the quickstart's table.
#[derive(Debug, Clone)]
pub struct Row {
    /// What was called.
    pub call: String,
    /// What should happen.
    pub expected: String,
    /// What happened.
    pub got: String,
    /// Why, as the server or the TLS layer said.
    pub reason: String,
}

impl Row {
    /// Whether the call went as expected.
    pub fn passed(&self) -> bool {
        self.expected == self.got
    }
}

/// The rows as a plain-text table with a verdict column.
pub fn table(rows: &[Row]) -> String {
    let width = |f: fn(&Row) -> &str, title: &str| {
        rows.iter()
            .map(|r| f(r).len())
            .chain([title.len()])
            .max()
            .unwrap_or(0)
    };
    let call = width(|r| &r.call, "call");
    let expected = width(|r| &r.expected, "expected");
    let got = width(|r| &r.got, "got");
    let mut out = String::new();
    let _ = writeln!(
        out,
        "   {:call$}  {:expected$}  {:got$}  reason",
        "call", "expected", "got"
    );
    let _ = writeln!(out, "   {}", "-".repeat(call + expected + got + 14));
    for row in rows {
        let mark = if row.passed() { "ok" } else { "!!" };
        let _ = writeln!(
            out,
            "{mark} {:call$}  {:expected$}  {:got$}  {}",
            row.call, row.expected, row.got, row.reason
        );
    }
    out
}

/// The `error_description` of a `WWW-Authenticate` challenge, if it has one.
pub fn challenge_description(headers: &HeaderMap) -> Option<String> {
    let challenge = headers.get(http::header::WWW_AUTHENTICATE)?.to_str().ok()?;
    let (_, rest) = challenge.split_once("error_description=\"")?;
    rest.split('"').next().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_marks_rows_that_differ_from_the_expectation() {
        let rows = [
            Row {
                call: "GET /a".into(),
                expected: "200".into(),
                got: "200".into(),
                reason: "allowed".into(),
            },
            Row {
                call: "GET /b".into(),
                expected: "403".into(),
                got: "200".into(),
                reason: "allowed".into(),
            },
        ];
        let text = table(&rows);
        assert!(text.lines().nth(2).unwrap().starts_with("ok GET /a"));
        assert!(text.lines().nth(3).unwrap().starts_with("!! GET /b"));
    }

    #[test]
    fn challenge_description_is_read_from_the_header() {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::WWW_AUTHENTICATE,
            http::HeaderValue::from_static(
                "Bearer realm=\"zt\", error=\"invalid_token\", error_description=\"expired\"",
            ),
        );
        assert_eq!(challenge_description(&headers).as_deref(), Some("expired"));
    }
}
