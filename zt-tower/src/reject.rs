//! How a refused request is answered: RFC 6750 challenges, `application/problem+json`
//! bodies (RFC 9457) and, for gRPC callers, trailers-only gRPC statuses.
//!
//! A rejection says which rule of the protocol failed and nothing more: never the token,
//! never the policy's rule names, never a validation error's text.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, Response, StatusCode};

use crate::body::ResponseBody;

/// The realm named in `WWW-Authenticate` challenges unless configured otherwise.
pub const DEFAULT_REALM: &str = "zt";

const PROBLEM_JSON: &str = "application/problem+json";
const GRPC: &str = "application/grpc";

/// gRPC status code `PERMISSION_DENIED`.
const GRPC_PERMISSION_DENIED: &str = "7";
/// gRPC status code `UNAUTHENTICATED`.
const GRPC_UNAUTHENTICATED: &str = "16";
/// gRPC status code `INVALID_ARGUMENT`.
const GRPC_INVALID_ARGUMENT: &str = "3";

/// Why a zt layer refused a request, in the terms the caller is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// A token is required and the request carried none: `401` with a bare `Bearer`
    /// challenge (RFC 6750 section 3.1 sends no error code in this case).
    MissingToken,
    /// The token failed validation: `401` with `error="invalid_token"`.
    InvalidToken {
        /// A short, fixed description that leaks nothing about the token.
        description: &'static str,
    },
    /// The `Authorization` header was malformed or repeated: `400` with
    /// `error="invalid_request"`.
    InvalidRequest {
        /// A short, fixed description.
        description: &'static str,
    },
    /// The policy denied the request: `403`; with `error="insufficient_scope"` when the
    /// deciding rule only lacked a role or scope of the caller.
    Forbidden {
        /// Whether the caller lacked a role or scope that a rule asked for.
        insufficient_scope: bool,
    },
}

impl Rejection {
    /// The HTTP status of this rejection (for HTTP callers; gRPC callers get `200` with a
    /// `grpc-status`).
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MissingToken | Self::InvalidToken { .. } => StatusCode::UNAUTHORIZED,
            Self::InvalidRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
        }
    }

    /// The one-line description sent to the caller.
    pub fn description(&self) -> &'static str {
        match self {
            Self::MissingToken => "a bearer token is required",
            Self::InvalidToken { description } | Self::InvalidRequest { description } => {
                description
            }
            Self::Forbidden {
                insufficient_scope: true,
            } => "the caller lacks a role or scope this request needs",
            Self::Forbidden {
                insufficient_scope: false,
            } => "the policy denies this request",
        }
    }

    /// The RFC 6750 error code, if the challenge carries one.
    pub fn error_code(&self) -> Option<&'static str> {
        match self {
            Self::MissingToken => None,
            Self::InvalidToken { .. } => Some("invalid_token"),
            Self::InvalidRequest { .. } => Some("invalid_request"),
            Self::Forbidden {
                insufficient_scope: true,
            } => Some("insufficient_scope"),
            Self::Forbidden {
                insufficient_scope: false,
            } => None,
        }
    }

    /// The response for this rejection: a gRPC status when the request was gRPC, an HTTP
    /// status with a problem document otherwise.
    pub fn into_response<B>(
        self,
        request_headers: &HeaderMap,
        realm: &str,
    ) -> Response<ResponseBody<B>> {
        if is_grpc(request_headers) {
            self.grpc_response()
        } else {
            self.http_response(realm)
        }
    }

    /// An HTTP response: status, RFC 6750 challenge where one applies, problem+json body.
    pub fn http_response<B>(self, realm: &str) -> Response<ResponseBody<B>> {
        let mut response = Response::new(ResponseBody::rejection(self.problem_json()));
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if let Some(challenge) = self.challenge(realm) {
            headers.insert(WWW_AUTHENTICATE, challenge);
        }
        response
    }

    /// A trailers-only gRPC response: HTTP `200`, `grpc-status` and `grpc-message`.
    pub fn grpc_response<B>(self) -> Response<ResponseBody<B>> {
        let mut response = Response::new(ResponseBody::rejection(Bytes::new()));
        let code = match self {
            Self::MissingToken | Self::InvalidToken { .. } => GRPC_UNAUTHENTICATED,
            Self::InvalidRequest { .. } => GRPC_INVALID_ARGUMENT,
            Self::Forbidden { .. } => GRPC_PERMISSION_DENIED,
        };
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(GRPC));
        headers.insert("grpc-status", HeaderValue::from_static(code));
        // Descriptions are fixed printable ASCII, which gRPC sends without escaping.
        headers.insert("grpc-message", HeaderValue::from_static(self.description()));
        response
    }

    /// The `WWW-Authenticate` value, if this rejection carries a challenge.
    fn challenge(&self, realm: &str) -> Option<HeaderValue> {
        let realm = quoted(realm);
        let value = match (self, self.error_code()) {
            (Self::Forbidden { .. }, None) => return None,
            (_, None) => format!("Bearer realm=\"{realm}\""),
            (_, Some(code)) => format!(
                "Bearer realm=\"{realm}\", error=\"{code}\", error_description=\"{}\"",
                self.description()
            ),
        };
        HeaderValue::from_str(&value).ok()
    }

    /// The RFC 9457 problem document.
    fn problem_json(&self) -> Bytes {
        let status = self.status();
        let problem = serde_json::json!({
            "type": "about:blank",
            "title": status.canonical_reason().unwrap_or("Error"),
            "status": status.as_u16(),
            "detail": self.description(),
        });
        Bytes::from(problem.to_string())
    }
}

/// Whether a request is gRPC (its content type is `application/grpc` or a subtype).
pub fn is_grpc(request_headers: &HeaderMap) -> bool {
    request_headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(GRPC))
}

/// A realm safe inside a quoted string: only printable ASCII other than `"` and `\`.
fn quoted(realm: &str) -> String {
    realm
        .chars()
        .filter(|c| c.is_ascii_graphic() && *c != '"' && *c != '\\' || *c == ' ')
        .collect()
}

#[cfg(test)]
mod tests {
    use http_body_util::{BodyExt, Full};

    use super::*;

    type Body = ResponseBody<Full<Bytes>>;

    fn grpc_headers() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/grpc+proto"),
        );
        headers
    }

    fn challenge(response: &Response<Body>) -> &str {
        response.headers()[WWW_AUTHENTICATE].to_str().unwrap()
    }

    #[test]
    fn missing_token_gets_a_bare_bearer_challenge() {
        let response: Response<Body> = Rejection::MissingToken.http_response("orders");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(challenge(&response), "Bearer realm=\"orders\"");
    }

    #[test]
    fn invalid_token_names_the_rfc_6750_error() {
        let rejection = Rejection::InvalidToken {
            description: "the access token expired",
        };
        let response: Response<Body> = rejection.http_response(DEFAULT_REALM);
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            challenge(&response),
            "Bearer realm=\"zt\", error=\"invalid_token\", \
             error_description=\"the access token expired\""
        );
    }

    #[test]
    fn insufficient_scope_is_a_403_with_a_challenge() {
        let rejection = Rejection::Forbidden {
            insufficient_scope: true,
        };
        let response: Response<Body> = rejection.http_response(DEFAULT_REALM);
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(challenge(&response).contains("error=\"insufficient_scope\""));
    }

    #[test]
    fn plain_deny_is_a_403_without_a_challenge() {
        let rejection = Rejection::Forbidden {
            insufficient_scope: false,
        };
        let response: Response<Body> = rejection.http_response(DEFAULT_REALM);
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(!response.headers().contains_key(WWW_AUTHENTICATE));
    }

    #[tokio::test]
    async fn http_rejection_body_is_a_problem_document() {
        let response: Response<Body> =
            Rejection::MissingToken.into_response(&HeaderMap::new(), DEFAULT_REALM);
        assert_eq!(response.headers()[CONTENT_TYPE], PROBLEM_JSON);
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let problem: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(problem["status"], 401);
        assert_eq!(problem["title"], "Unauthorized");
        assert_eq!(problem["detail"], "a bearer token is required");
    }

    #[test]
    fn grpc_callers_get_unauthenticated_and_permission_denied() {
        let headers = grpc_headers();
        let unauthenticated: Response<Body> =
            Rejection::MissingToken.into_response(&headers, DEFAULT_REALM);
        assert_eq!(unauthenticated.status(), StatusCode::OK);
        assert_eq!(unauthenticated.headers()["grpc-status"], "16");
        let denied: Response<Body> = Rejection::Forbidden {
            insufficient_scope: false,
        }
        .into_response(&headers, DEFAULT_REALM);
        assert_eq!(denied.headers()["grpc-status"], "7");
        assert_eq!(denied.headers()[CONTENT_TYPE], GRPC);
    }

    #[test]
    fn a_realm_cannot_break_out_of_its_quotes() {
        let response: Response<Body> = Rejection::MissingToken.http_response("a\"b\\c\r\nd");
        assert_eq!(challenge(&response), "Bearer realm=\"abcd\"");
    }
}
