//! Reading the bearer token from a request (RFC 6750 section 2.1).

use http::HeaderMap;
use http::header::AUTHORIZATION;

use crate::reject::Rejection;

/// Longest `Authorization` header value read, in bytes; longer ones are refused unparsed.
pub(crate) const MAX_AUTHORIZATION_LEN: usize = 16 * 1024;

/// The bearer token of a request: `Ok(None)` when the request carries no bearer
/// credentials, a rejection when the `Authorization` header is malformed or repeated.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, Rejection> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(invalid_request("the Authorization header is repeated"));
    }
    if value.len() > MAX_AUTHORIZATION_LEN {
        return Err(invalid_request("the Authorization header is too long"));
    }

    // Another scheme (Basic, DPoP, ...) carries no bearer token.
    let value = value.as_bytes();
    let Some(space) = value.iter().position(|&b| b == b' ') else {
        return Ok(None);
    };
    let (scheme, token) = value.split_at(space);
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return Ok(None);
    }
    let token = trim_leading_spaces(token);
    if !is_b64token(token) {
        return Err(invalid_request("the bearer token is malformed"));
    }
    // A b64token is ASCII, so this never fails.
    std::str::from_utf8(token)
        .map(Some)
        .map_err(|_| invalid_request("the bearer token is malformed"))
}

fn trim_leading_spaces(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != b' ').unwrap_or(bytes.len());
    bytes.get(start..).unwrap_or_default()
}

/// RFC 6750 `b64token`: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(token: &[u8]) -> bool {
    let padding = token.iter().rev().take_while(|&&b| b == b'=').count();
    let body = token.get(..token.len() - padding).unwrap_or_default();
    // No early exit: the whole token is checked in one pass the compiler can vectorize.
    !body.is_empty() && body.iter().fold(true, |ok, &b| ok & is_b64token_byte(b))
}

fn is_b64token_byte(b: u8) -> bool {
    // Two ranges and three single bytes, without branches: `-`, `.`, `/` and the digits
    // are the run 0x2D..=0x39, and setting bit 5 folds uppercase letters onto lowercase.
    let letter = (b | 0x20).wrapping_sub(b'a') < 26;
    let dash_dot_slash_digit = b.wrapping_sub(b'-') <= b'9' - b'-';
    letter | dash_dot_slash_digit | (b == b'_') | (b == b'~') | (b == b'+')
}

fn invalid_request(description: &'static str) -> Rejection {
    Rejection::InvalidRequest { description }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn with(values: &[&'static str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(AUTHORIZATION, HeaderValue::from_static(v));
        }
        headers
    }

    #[test]
    fn bearer_token_is_read_with_any_scheme_case() {
        assert_eq!(bearer_token(&with(&["Bearer a.b.c"])), Ok(Some("a.b.c")));
        assert_eq!(
            bearer_token(&with(&["bearer a.b-c_d"])),
            Ok(Some("a.b-c_d"))
        );
    }

    #[test]
    fn request_without_bearer_credentials_has_no_token() {
        assert_eq!(bearer_token(&HeaderMap::new()), Ok(None));
        assert_eq!(bearer_token(&with(&["Basic dXNlcjpwdw=="])), Ok(None));
        assert_eq!(bearer_token(&with(&["Bearer"])), Ok(None));
    }

    #[test]
    fn repeated_authorization_header_is_an_invalid_request() {
        let headers = with(&["Bearer a", "Bearer b"]);
        let result = bearer_token(&headers);
        assert!(matches!(result, Err(Rejection::InvalidRequest { .. })));
    }

    #[test]
    fn b64token_bytes_are_exactly_those_of_rfc_6750() {
        for b in 0..=u8::MAX {
            let expected = b.is_ascii_alphanumeric() || b"-._~+/".contains(&b);
            assert_eq!(is_b64token_byte(b), expected, "byte {b:#04x}");
        }
    }

    #[test]
    fn token_with_characters_outside_b64token_is_an_invalid_request() {
        for value in [
            "Bearer a b",
            "Bearer a,b",
            "Bearer ",
            "Bearer ==",
            "Bearer a\"b",
        ] {
            let headers = with(&[value]);
            let result = bearer_token(&headers);
            assert!(
                matches!(result, Err(Rejection::InvalidRequest { .. })),
                "{value}"
            );
        }
    }
}
