use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{StatusCode, request};
use http_body_util::Full;
use tower::{ServiceExt, service_fn};
use zt_core::{CertThumbprint, PeerIdentity, SpiffeId, Subject, TransportIdentity};
use zt_token::TokenError;

use super::*;

/// Knows the token `good` (any peer), `bound` (only for the peer with thumbprint [1; 32]),
/// and `old` (expired); counts its calls.
#[derive(Clone, Default)]
struct FakeValidator {
    calls: Arc<AtomicUsize>,
}

impl ValidateToken for FakeValidator {
    async fn validate(
        &self,
        token: &str,
        peer: Option<&PeerIdentity>,
    ) -> Result<Arc<Subject>, TokenError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        match (token, peer) {
            ("good", _) => Ok(subject()),
            ("bound", Some(p)) if p.thumbprint == CertThumbprint([1; 32]) => Ok(subject()),
            ("bound", Some(_)) => Err(TokenError::BindingMismatch),
            ("bound", None) => Err(TokenError::BindingWithoutPeer),
            ("old", _) => Err(TokenError::Expired),
            _ => Err(TokenError::BadSignature),
        }
    }
}

fn subject() -> Arc<Subject> {
    Arc::new(Subject {
        issuer: Arc::from("https://issuer.example"),
        subject: Arc::from("alice"),
        audiences: vec!["orders".to_owned()],
        roles: vec![],
        expires_at: SystemTime::now() + Duration::from_secs(60),
        token_id: None,
        claims: serde_json::Map::new(),
    })
}

fn peer(thumbprint: u8) -> TransportIdentity {
    TransportIdentity::Verified(Arc::new(PeerIdentity {
        spiffe_id: SpiffeId::new("spiffe://example.org/ns/prod/sa/web").unwrap(),
        thumbprint: CertThumbprint([thumbprint; 32]),
        not_after: SystemTime::UNIX_EPOCH,
    }))
}

struct Outcome {
    status: StatusCode,
    challenge: Option<String>,
    /// "peer subject" as the service saw them, if it was called.
    seen: Option<String>,
}

async fn send(
    requirement: TokenRequirement,
    transport: Option<TransportIdentity>,
    build: request::Builder,
) -> Outcome {
    let service = service_fn(|request: Request<Full<Bytes>>| async move {
        let principal = request.extensions().get::<Principal>().cloned().unwrap();
        let peer = principal
            .peer_id()
            .map(ToString::to_string)
            .unwrap_or_default();
        let subject = principal
            .subject
            .map(|s| s.subject.to_string())
            .unwrap_or_default();
        Ok::<_, Infallible>(Response::new(Full::from(format!("{peer} {subject}"))))
    });
    let layer = AuthenticateLayer::new(FakeValidator::default()).with_requirement(requirement);
    let mut request = build.body(Full::default()).unwrap();
    if let Some(transport) = transport {
        request.extensions_mut().insert(transport);
    }
    let response = layer.layer(service).oneshot(request).await.unwrap();
    let status = response.status();
    let challenge = response
        .headers()
        .get(WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned());
    let seen = if response.body().is_rejection() {
        None
    } else {
        use http_body_util::BodyExt;
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Some(String::from_utf8(bytes.to_vec()).unwrap())
    };
    Outcome {
        status,
        challenge,
        seen,
    }
}

fn bearer(token: &str) -> request::Builder {
    Request::get("/").header(AUTHORIZATION, format!("Bearer {token}"))
}

#[tokio::test]
async fn valid_token_reaches_the_service_with_its_subject_and_peer() {
    let outcome = send(TokenRequirement::Required, Some(peer(1)), bearer("good")).await;
    assert_eq!(outcome.status, StatusCode::OK);
    assert_eq!(
        outcome.seen.as_deref(),
        Some("spiffe://example.org/ns/prod/sa/web alice")
    );
}

#[tokio::test]
async fn missing_token_is_a_401_with_a_bare_challenge() {
    let outcome = send(TokenRequirement::Required, Some(peer(1)), Request::get("/")).await;
    assert_eq!(outcome.status, StatusCode::UNAUTHORIZED);
    assert_eq!(outcome.challenge.as_deref(), Some("Bearer realm=\"zt\""));
    assert!(outcome.seen.is_none());
}

#[tokio::test]
async fn expired_token_is_a_401_that_says_expired() {
    let outcome = send(TokenRequirement::Required, None, bearer("old")).await;
    assert_eq!(outcome.status, StatusCode::UNAUTHORIZED);
    let challenge = outcome.challenge.unwrap();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert!(challenge.contains("expired"), "{challenge}");
    assert!(outcome.seen.is_none());
}

#[tokio::test]
async fn forged_token_is_a_401_that_leaks_nothing() {
    let outcome = send(TokenRequirement::Required, None, bearer("forged")).await;
    assert_eq!(outcome.status, StatusCode::UNAUTHORIZED);
    let challenge = outcome.challenge.unwrap();
    assert!(
        challenge.contains("the access token is invalid"),
        "{challenge}"
    );
    assert!(!challenge.contains("forged") && !challenge.contains("signature"));
}

#[tokio::test]
async fn bound_token_is_checked_against_the_connection_peer() {
    let ok = send(TokenRequirement::Required, Some(peer(1)), bearer("bound")).await;
    assert_eq!(ok.status, StatusCode::OK);
    let other = send(TokenRequirement::Required, Some(peer(2)), bearer("bound")).await;
    assert_eq!(other.status, StatusCode::UNAUTHORIZED);
    let none = send(TokenRequirement::Required, None, bearer("bound")).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn verified_peer_without_token_goes_on_when_tokens_are_optional_for_peers() {
    let requirement = TokenRequirement::OptionalForVerifiedPeers;
    let outcome = send(requirement, Some(peer(1)), Request::get("/")).await;
    assert_eq!(outcome.status, StatusCode::OK);
    assert_eq!(
        outcome.seen.as_deref(),
        Some("spiffe://example.org/ns/prod/sa/web ")
    );
    let anonymous = send(
        requirement,
        Some(TransportIdentity::TlsAnonymous),
        Request::get("/"),
    );
    assert_eq!(anonymous.await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn present_but_invalid_token_is_refused_even_when_tokens_are_optional() {
    let outcome = send(TokenRequirement::Optional, Some(peer(1)), bearer("forged")).await;
    assert_eq!(outcome.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn anonymous_caller_goes_on_when_tokens_are_optional() {
    let outcome = send(TokenRequirement::Optional, None, Request::get("/")).await;
    assert_eq!(outcome.status, StatusCode::OK);
    assert_eq!(outcome.seen.as_deref(), Some(" "));
}

#[tokio::test]
async fn malformed_authorization_header_is_a_400_invalid_request() {
    let outcome = send(TokenRequirement::Required, None, bearer("a b")).await;
    assert_eq!(outcome.status, StatusCode::BAD_REQUEST);
    assert!(outcome.challenge.unwrap().contains("invalid_request"));
}

#[tokio::test]
async fn inner_service_readiness_is_kept_for_the_request_that_claimed_it() {
    // A service that is ready once: the clone left behind must not be the one called.
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let service = service_fn(move |_: Request<Full<Bytes>>| {
        counted.fetch_add(1, Ordering::SeqCst);
        async { Ok::<_, Infallible>(Response::new(Full::<Bytes>::default())) }
    });
    let mut service = AuthenticateLayer::new(FakeValidator::default()).layer(service);
    let request = bearer("good").body(Full::default()).unwrap();
    let response = service.ready().await.unwrap().call(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn peer_spraying_forged_tokens_is_quarantined_by_the_responder() {
    use zt_core::{ResponderConfig, RevocationList};
    let revocations = Arc::new(RevocationList::new());
    let config = ResponderConfig::default().deny_threshold(2, Duration::from_secs(60));
    let responder = Arc::new(zt_core::Responder::new(Arc::clone(&revocations), config));
    let layer = AuthenticateLayer::new(FakeValidator::default()).with_responder(responder);
    let service = layer.layer(service_fn(|_: Request<Full<Bytes>>| async {
        Ok::<_, Infallible>(Response::new(Full::<Bytes>::default()))
    }));
    for _ in 0..2 {
        let mut request = bearer("forged").body(Full::default()).unwrap();
        request.extensions_mut().insert(peer(1));
        let response = service.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let principal = Principal {
        peer: peer(1).peer().cloned(),
        ..Principal::default()
    };
    assert!(revocations.check(&principal, SystemTime::now()).is_some());
}

#[tokio::test]
async fn credentials_of_another_scheme_count_as_no_token() {
    let basic = || Request::get("/").header(AUTHORIZATION, "Basic dXNlcjpwdw==");
    let required = send(TokenRequirement::Required, Some(peer(1)), basic()).await;
    assert_eq!(required.status, StatusCode::UNAUTHORIZED);
    assert_eq!(required.challenge.as_deref(), Some("Bearer realm=\"zt\""));
    let optional = send(
        TokenRequirement::OptionalForVerifiedPeers,
        Some(peer(1)),
        basic(),
    )
    .await;
    assert_eq!(optional.status, StatusCode::OK);
}

/// Answers `cached` and `revoked-key` at once, as a cache would; knows nothing else.
#[derive(Clone, Default)]
struct CachingValidator {
    slow_calls: Arc<AtomicUsize>,
}

impl ValidateToken for CachingValidator {
    async fn validate(
        &self,
        _: &str,
        _: Option<&PeerIdentity>,
    ) -> Result<Arc<Subject>, TokenError> {
        self.slow_calls.fetch_add(1, Ordering::SeqCst);
        Err(TokenError::BadSignature)
    }

    fn validate_cached(
        &self,
        token: &str,
        _: Option<&PeerIdentity>,
    ) -> Option<Result<Arc<Subject>, Rejected>> {
        match token {
            "cached" => Some(Ok(subject())),
            "cached-expired" => Some(Err(Rejected::from(TokenError::Expired))),
            _ => None,
        }
    }
}

#[tokio::test]
async fn token_answered_at_once_is_decided_without_the_full_validation() {
    let validator = CachingValidator::default();
    let service = AuthenticateLayer::new(validator.clone()).layer(service_fn(
        |request: Request<()>| async move {
            let principal = request.extensions().get::<Principal>().cloned().unwrap();
            let subject = principal.subject.map(|s| s.subject.to_string());
            Ok::<_, Infallible>(Response::new(subject.unwrap_or_default()))
        },
    ));
    let send = |token: &str| {
        let request = bearer(token).body(()).unwrap();
        service.clone().oneshot(request)
    };

    let cached = send("cached").await.unwrap();
    assert_eq!(cached.status(), StatusCode::OK);
    let expired = send("cached-expired").await.unwrap();
    assert_eq!(expired.status(), StatusCode::UNAUTHORIZED);
    let challenge = expired.headers().get(WWW_AUTHENTICATE).unwrap();
    assert!(challenge.to_str().unwrap().contains("expired"));
    assert_eq!(validator.slow_calls.load(Ordering::SeqCst), 0);

    let unknown = send("unknown").await.unwrap();
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(validator.slow_calls.load(Ordering::SeqCst), 1);
}
