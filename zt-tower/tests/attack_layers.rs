//! Attacks on the inbound and outbound layers, each named for the behaviour that holds.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{AUTHORIZATION, HOST};
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use tower::{BoxError, Layer, ServiceExt, service_fn};
use zt_core::Clock;
use zt_core::{
    AccessRequest, Decision, DecisionRecord, ManualClock, MemoryAuditSink, Policy, Reason,
};
use zt_tower::authorize::AuthorizeLayer;
use zt_tower::outbound::{BearerTokenLayer, IssuedToken, TokenSource};

/// Allows every request except those sent to the host `admin.internal`.
#[derive(Debug)]
struct AllButAdminHost;

impl Policy for AllButAdminHost {
    fn evaluate(&self, request: &AccessRequest<'_>) -> Decision {
        match request.host {
            Some(host) if host.eq_ignore_ascii_case("admin.internal") => {
                Decision::deny(Reason::NoRuleMatched)
            }
            _ => Decision::allow("anything-but-admin", Reason::AllowedByRule),
        }
    }
}

/// Allows everything: only the layer itself may refuse.
#[derive(Debug)]
struct AllowAll;

impl Policy for AllowAll {
    fn evaluate(&self, _: &AccessRequest<'_>) -> Decision {
        Decision::allow("all", Reason::AllowedByRule)
    }
}

async fn status_through(layer: AuthorizeLayer, request: Request<Full<Bytes>>) -> StatusCode {
    let service = layer.layer(service_fn(|_: Request<Full<Bytes>>| async {
        Ok::<_, Infallible>(Response::new(Full::<Bytes>::default()))
    }));
    service.oneshot(request).await.unwrap().status()
}

#[tokio::test]
async fn host_header_that_is_not_text_is_denied_rather_than_treated_as_no_host() {
    let mut request = Request::get("/").body(Full::default()).unwrap();
    let host = HeaderValue::from_bytes(b"admin.internal\xff").unwrap();
    request.headers_mut().insert(HOST, host);
    let status = status_through(AuthorizeLayer::new(AllButAdminHost), request).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn absolute_uri_naming_another_host_than_the_host_header_is_denied() {
    let request = Request::get("http://public.example/")
        .header(HOST, "admin.internal")
        .body(Full::default())
        .unwrap();
    let status = status_through(AuthorizeLayer::new(AllowAll), request).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn options_asterisk_and_connect_requests_are_denied_even_by_an_allow_all_policy() {
    let star = Request::options("*").body(Full::default()).unwrap();
    assert_eq!(
        status_through(AuthorizeLayer::new(AllowAll), star).await,
        StatusCode::FORBIDDEN
    );
    let connect = Request::connect("admin.internal:443")
        .body(Full::default())
        .unwrap();
    assert_eq!(
        status_through(AuthorizeLayer::new(AllowAll), connect).await,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn oversized_request_id_is_not_copied_into_the_audit_record() {
    let sink = MemoryAuditSink::new();
    let layer = AuthorizeLayer::new(AllowAll).with_audit(sink.clone());
    let request = Request::get("/")
        .header("x-request-id", "a".repeat(8 * 1024))
        .body(Full::default())
        .unwrap();
    assert_eq!(status_through(layer, request).await, StatusCode::OK);
    let records: Vec<DecisionRecord> = sink.records();
    assert_eq!(records.len(), 1);
    assert!(records[0].request_id.is_none());
}

#[tokio::test]
async fn unnormalizable_path_is_recorded_as_received_with_its_deny() {
    let sink = MemoryAuditSink::new();
    let layer = AuthorizeLayer::new(AllowAll).with_audit(sink.clone());
    let request = Request::get("/a%2Fb").body(Full::default()).unwrap();
    assert_eq!(status_through(layer, request).await, StatusCode::FORBIDDEN);
    let records = sink.records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].path, "/a%2Fb");
    assert_eq!(
        records[0].reason_code,
        Reason::PathRejected(String::new()).code()
    );
}

/// Issues `token-1`, `token-2`, ... each valid for a minute.
#[derive(Default)]
struct Counting(AtomicUsize);

impl TokenSource for Counting {
    fn issue(&self) -> Result<IssuedToken, BoxError> {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        IssuedToken::new(
            &format!("token-{n}"),
            SystemTime::now() + Duration::from_secs(60),
        )
    }
}

#[tokio::test]
async fn bearer_token_is_never_sent_over_plaintext_http() {
    let called = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&called);
    let client =
        BearerTokenLayer::new(Counting::default()).layer(service_fn(move |request: Request<()>| {
            seen.fetch_add(1, Ordering::SeqCst);
            let leaked = request.headers().contains_key(AUTHORIZATION);
            async move { Ok::<_, Infallible>(leaked) }
        }));
    let request = Request::get("http://orders.example/orders/1")
        .body(())
        .unwrap();
    let result = client.clone().oneshot(request).await;
    assert!(
        result.is_err(),
        "a token was attached to a plaintext request"
    );
    assert_eq!(called.load(Ordering::SeqCst), 0);

    let request = Request::get("ws://orders.example/orders/1")
        .body(())
        .unwrap();
    assert!(client.clone().oneshot(request).await.is_err());
    assert_eq!(called.load(Ordering::SeqCst), 0);

    let request = Request::get("https://orders.example/orders/1")
        .body(())
        .unwrap();
    assert!(client.oneshot(request).await.unwrap());
}

#[tokio::test]
async fn forwarded_host_that_differs_from_the_host_judged_is_denied() {
    for (name, value) in [
        ("x-forwarded-host", "admin.internal"),
        ("forwarded", "for=10.0.0.1;host=admin.internal;proto=https"),
        ("forwarded", "for=10.0.0.1, host=\"admin.internal\""),
    ] {
        let request = Request::get("/")
            .header(HOST, "public.example")
            .header(name, value)
            .body(Full::default())
            .unwrap();
        let status = status_through(AuthorizeLayer::new(AllButAdminHost), request).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{name}: {value}");
    }
}

#[tokio::test]
async fn forwarded_host_that_agrees_with_the_host_judged_is_allowed() {
    let request = Request::get("/")
        .header(HOST, "public.example:8443")
        .header("x-forwarded-host", "Public.Example:8443")
        .header("forwarded", "for=10.0.0.1;proto=https")
        .body(Full::default())
        .unwrap();
    let status = status_through(AuthorizeLayer::new(AllButAdminHost), request).await;
    assert_eq!(status, StatusCode::OK);
}

/// Issues `token-1`, `token-2`, ... each valid for a minute of `clock`.
struct OnClock(ManualClock, AtomicUsize);

impl TokenSource for OnClock {
    fn issue(&self) -> Result<IssuedToken, BoxError> {
        let n = self.1.fetch_add(1, Ordering::SeqCst) + 1;
        let expires_at = self.0.now() + Duration::from_secs(60);
        IssuedToken::new(&format!("token-{n}"), expires_at)
    }
}

#[tokio::test]
async fn held_token_is_never_attached_once_it_expired() {
    let clock = ManualClock::new(SystemTime::now());
    let source = OnClock(clock.clone(), AtomicUsize::new(0));
    let layer = BearerTokenLayer::with_clock(source, clock.clone(), Duration::ZERO);
    let client = layer.layer(service_fn(|request: Request<()>| async move {
        let header = request.headers()[AUTHORIZATION]
            .to_str()
            .unwrap()
            .to_owned();
        Ok::<_, Infallible>(header)
    }));
    let send = || client.clone().oneshot(Request::new(()));
    assert_eq!(send().await.unwrap(), "Bearer token-1");
    clock.advance(Duration::from_secs(59));
    assert_eq!(send().await.unwrap(), "Bearer token-1");
    // At its expiry instant the held token is no longer attached: a new one is.
    clock.advance(Duration::from_secs(1));
    assert_eq!(send().await.unwrap(), "Bearer token-2");
}
