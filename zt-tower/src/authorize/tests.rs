use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use tower::{ServiceExt, service_fn};
use zt_core::{
    AccessRequest, CertThumbprint, Decision, Effect, PeerIdentity, Policy, Principal, Reason,
    SpiffeId, TransportIdentity,
};

use super::*;

/// Allows `GET /orders...`; says "insufficient roles" for `POST /orders`; denies the rest.
/// Remembers the path and peer of every request it saw.
#[derive(Debug, Default)]
struct OrdersPolicy {
    seen: Mutex<Vec<(String, Option<String>)>>,
}

impl Policy for OrdersPolicy {
    fn evaluate(&self, request: &AccessRequest<'_>) -> Decision {
        let peer = request.principal.peer_id().map(ToString::to_string);
        self.seen
            .lock()
            .unwrap()
            .push((request.path.as_str().to_owned(), peer));
        let orders = request.path.as_str().starts_with("/orders");
        match (request.method.as_str(), orders) {
            ("GET", true) => Decision::allow("read-orders", Reason::AllowedByRule),
            ("POST", true) => Decision::new(
                Effect::Deny,
                Some(Arc::from("write-orders")),
                Reason::InsufficientRoles,
            ),
            _ => Decision::deny(Reason::NoRuleMatched),
        }
    }
}

fn peer() -> Arc<PeerIdentity> {
    Arc::new(PeerIdentity {
        spiffe_id: SpiffeId::new("spiffe://example.org/ns/prod/sa/web").unwrap(),
        thumbprint: CertThumbprint([1; 32]),
        not_after: SystemTime::UNIX_EPOCH,
    })
}

/// A service that answers with the path and principal it saw, counting its calls.
fn echo(
    calls: Arc<AtomicUsize>,
) -> impl tower::Service<
    Request<Full<Bytes>>,
    Response = Response<Full<Bytes>>,
    Error = Infallible,
    Future = impl Send,
> + Clone {
    service_fn(move |request: Request<Full<Bytes>>| {
        calls.fetch_add(1, Ordering::SeqCst);
        let principal = request.extensions().get::<Principal>().cloned();
        let peer = principal.and_then(|p| p.peer_id().map(ToString::to_string));
        let body = format!("{} {}", request.uri(), peer.unwrap_or_default());
        async move { Ok::<_, Infallible>(Response::new(Full::from(body))) }
    })
}

async fn send(
    policy: Arc<OrdersPolicy>,
    request: Request<Full<Bytes>>,
) -> (Response<crate::ResponseBody<Full<Bytes>>>, usize) {
    let calls = Arc::new(AtomicUsize::new(0));
    let service = AuthorizeLayer::new(policy).layer(echo(Arc::clone(&calls)));
    let response = service.oneshot(request).await.unwrap();
    (response, calls.load(Ordering::SeqCst))
}

async fn body_of(response: Response<crate::ResponseBody<Full<Bytes>>>) -> String {
    use http_body_util::BodyExt;
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

fn get(uri: &str) -> Request<Full<Bytes>> {
    let mut request = Request::get(uri).body(Full::default()).unwrap();
    request
        .extensions_mut()
        .insert(TransportIdentity::Verified(peer()));
    request
}

#[tokio::test]
async fn allowed_request_reaches_the_service_with_the_principal() {
    let (response, calls) = send(Arc::default(), get("/orders/1")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(calls, 1);
    assert_eq!(
        body_of(response).await,
        "/orders/1 spiffe://example.org/ns/prod/sa/web"
    );
}

#[tokio::test]
async fn denied_request_gets_403_and_never_reaches_the_service() {
    let (response, calls) = send(Arc::default(), get("/admin")).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(
        !response
            .headers()
            .contains_key(http::header::WWW_AUTHENTICATE)
    );
    assert_eq!(calls, 0);
}

#[tokio::test]
async fn missing_roles_are_reported_as_insufficient_scope() {
    let request = Request::post("/orders").body(Full::default()).unwrap();
    let (response, calls) = send(Arc::default(), request).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let challenge = response.headers()[http::header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap();
    assert!(challenge.contains("insufficient_scope"), "{challenge}");
    assert_eq!(calls, 0);
}

#[tokio::test]
async fn unnormalizable_path_is_denied_without_asking_the_policy() {
    let policy = Arc::new(OrdersPolicy::default());
    let (response, calls) = send(Arc::clone(&policy), get("/orders%2F..%2Fadmin")).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(calls, 0);
    assert!(policy.seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn service_sees_the_normalized_path_and_the_query() {
    let policy = Arc::new(OrdersPolicy::default());
    let (response, _) = send(Arc::clone(&policy), get("/api/..//orders/./7?x=1")).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(body_of(response).await.starts_with("/orders/7?x=1 "));
    assert_eq!(policy.seen.lock().unwrap()[0].0, "/orders/7");
}

#[tokio::test]
async fn policy_sees_the_peer_of_the_connection() {
    let policy = Arc::new(OrdersPolicy::default());
    let _ = send(Arc::clone(&policy), get("/orders")).await;
    let seen = policy.seen.lock().unwrap();
    assert_eq!(
        seen[0].1.as_deref(),
        Some("spiffe://example.org/ns/prod/sa/web")
    );
}

#[tokio::test]
async fn grpc_deny_is_permission_denied() {
    let mut request = get("/admin");
    request.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/grpc"),
    );
    let (response, calls) = send(Arc::default(), request).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["grpc-status"], "7");
    assert_eq!(calls, 0);
}

/// A service that is never ready.
#[derive(Clone)]
struct NeverReady;

impl tower::Service<Request<Full<Bytes>>> for NeverReady {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Pending
    }

    fn call(&mut self, _: Request<Full<Bytes>>) -> Self::Future {
        unreachable!("never ready")
    }
}

#[test]
fn poll_ready_is_passed_through_to_the_inner_service() {
    use tower::Service;
    let mut service = AuthorizeLayer::new(OrdersPolicy::default()).layer(NeverReady);
    let mut cx = Context::from_waker(std::task::Waker::noop());
    assert!(service.poll_ready(&mut cx).is_pending());
}

#[tokio::test]
async fn revoked_peer_is_denied_before_the_policy_is_asked() {
    use zt_core::{Revocation, RevocationList, RevocationTarget};
    let revocations = Arc::new(RevocationList::new());
    let target = RevocationTarget::SpiffeId(peer().spiffe_id.clone());
    revocations
        .revoke(Revocation::new(target, "key stolen"), SystemTime::now())
        .unwrap();
    let policy = Arc::new(OrdersPolicy::default());
    let calls = Arc::new(AtomicUsize::new(0));
    let service = AuthorizeLayer::new(Arc::clone(&policy))
        .with_revocations(revocations)
        .layer(echo(Arc::clone(&calls)));
    let response = service.oneshot(get("/orders/1")).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    assert!(policy.seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn every_decision_is_audited_with_its_request_id() {
    use zt_core::MemoryAuditSink;
    let audit = MemoryAuditSink::new();
    let service = AuthorizeLayer::new(OrdersPolicy::default())
        .with_audit(audit.clone())
        .layer(echo(Arc::default()));
    let mut allowed = get("/orders/1");
    allowed
        .headers_mut()
        .insert("x-request-id", "r-1".parse().unwrap());
    let _ = service.clone().oneshot(allowed).await.unwrap();
    let _ = service.clone().oneshot(get("/admin")).await.unwrap();
    let _ = service.oneshot(get("/a%2Fb")).await.unwrap();

    let records = audit.records();
    assert_eq!(records.len(), 3);
    assert_eq!(records[0].request_id.as_deref(), Some("r-1"));
    assert_eq!(records[0].rule.as_deref(), Some("read-orders"));
    assert_eq!(records[1].effect, Effect::Deny);
    assert_eq!(
        records[2].path, "/a%2Fb",
        "a rejected path is recorded as received"
    );
    assert!(records[2].reason.starts_with("path rejected"));
}

/// Vouches for `device.managed = true`, or fails verification.
#[derive(Debug)]
struct Posture(bool);

impl zt_core::PostureSource for Posture {
    fn attributes(
        &self,
        _: &zt_core::PostureContext<'_>,
    ) -> Result<zt_core::Attributes, zt_core::PostureError> {
        if self.0 {
            Ok([("device.managed", true)].into_iter().collect())
        } else {
            Err(zt_core::PostureError::BadSignature)
        }
    }
}

#[tokio::test]
async fn posture_attributes_reach_the_service() {
    let service = AuthorizeLayer::new(OrdersPolicy::default())
        .with_posture(Posture(true))
        .layer(service_fn(|request: Request<Full<Bytes>>| async move {
            let principal = request.extensions().get::<Principal>().cloned().unwrap();
            let managed = principal.attributes.get("device.managed").cloned();
            Ok::<_, Infallible>(Response::new(Full::from(format!("{managed:?}"))))
        }));
    let response = service.oneshot(get("/orders/1")).await.unwrap();
    assert_eq!(body_of(response).await, "Some(Bool(true))");
}

#[tokio::test]
async fn posture_that_fails_verification_is_denied() {
    let calls = Arc::new(AtomicUsize::new(0));
    let service = AuthorizeLayer::new(OrdersPolicy::default())
        .with_posture(Posture(false))
        .layer(echo(Arc::clone(&calls)));
    let response = service.oneshot(get("/orders/1")).await.unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn peer_that_keeps_being_denied_is_quarantined_by_the_responder() {
    use std::time::Duration;
    use zt_core::{Responder, ResponderConfig, RevocationList};
    let revocations = Arc::new(RevocationList::new());
    let config = ResponderConfig::default().deny_threshold(3, Duration::from_secs(60));
    let responder = Arc::new(Responder::new(Arc::clone(&revocations), config));
    let service = AuthorizeLayer::new(OrdersPolicy::default())
        .with_revocations(revocations)
        .with_responder(responder)
        .layer(echo(Arc::default()));

    let allowed = service.clone().oneshot(get("/orders/1")).await.unwrap();
    assert_eq!(allowed.status(), StatusCode::OK);
    for _ in 0..3 {
        let denied = service.clone().oneshot(get("/admin")).await.unwrap();
        assert_eq!(denied.status(), StatusCode::FORBIDDEN);
    }
    // Quarantined: what the policy allows is now refused too.
    let quarantined = service.oneshot(get("/orders/1")).await.unwrap();
    assert_eq!(quarantined.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn request_naming_two_hosts_is_denied() {
    let mut request = get("http://orders.example.org/orders/1");
    request
        .headers_mut()
        .insert(http::header::HOST, "admin.example.org".parse().unwrap());
    let (response, calls) = send(Arc::default(), request).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(calls, 0);

    let mut request = get("http://orders.example.org/orders/1");
    request
        .headers_mut()
        .insert(http::header::HOST, "Orders.example.org".parse().unwrap());
    let (response, _) = send(Arc::default(), request).await;
    assert_eq!(response.status(), StatusCode::OK);

    let mut request = get("/orders/1");
    request
        .headers_mut()
        .append(http::header::HOST, "a.example.org".parse().unwrap());
    request
        .headers_mut()
        .append(http::header::HOST, "b.example.org".parse().unwrap());
    let (response, _) = send(Arc::default(), request).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}
