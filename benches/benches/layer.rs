//! The full zt layer stack around an empty service, beside the bare service, in the same
//! run.
//!
//! Each iteration builds the same request (`GET /orders/42` with a bearer token and a
//! verified mTLS peer in its extensions), waits for the service to be ready, calls it and
//! polls the response future to completion. The token was validated once before measuring,
//! so the stack answers it from the validator's cache, as it does for every request after a
//! client's first. Variants:
//!
//! - `bare`: the empty service alone (the baseline);
//! - `authorize`: `AuthorizeLayer` only (path normalization, policy, principal);
//! - `zero_trust`: `ZeroTrustLayer` (bearer token from the cache, then `AuthorizeLayer`);
//! - `zero_trust_audited`: the same with an audit sink that records every decision;
//! - `bare_axum07` and `jwt_authorizer`: the same empty service answering with axum 0.7's
//!   body type, alone and behind the `jwt-authorizer` crate's layer (0.15, on jsonwebtoken
//!   9 with ring), configured for the same ES256 key, issuer and audience. It verifies the
//!   signature of every request.
//!
//! Budgets (DESIGN.md): `zero_trust` under 3 microseconds per request over `bare`, and at
//! least 50 times less overhead over its bare service than `jwt_authorizer`.
//!
//! Run: `cargo bench -p zt-benches --bench layer`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::SystemTime;

use criterion::{Criterion, criterion_group, criterion_main};
use http::{Request, Response};
use tower::{Layer, Service, service_fn};
use zt_core::{
    AuditSink, CertThumbprint, DecisionRecord, PeerIdentity, Principal, RulePolicy,
    TransportIdentity,
};
use zt_token::{Issuer, KeySource, MintRequest, Minter, Validator};
use zt_tower::{AuthorizeLayer, ZeroTrustLayer};

const ISSUER: &str = "https://auth.example.org";

const POLICY: &str = r#"
[[rule]]
name = "orders-read"
effect = "allow"
trust_domains = ["example.org"]
roles = ["orders.read"]
methods = ["GET"]
paths = ["/orders/{id}"]

[[rule]]
name = "no-deletes"
effect = "deny"
anyone = true
methods = ["DELETE"]
paths = ["/orders/*"]
"#;

/// An audit sink that only counts, so the cost measured is the record's construction.
#[derive(Debug, Default)]
struct CountingSink(std::sync::atomic::AtomicU64);

impl AuditSink for CountingSink {
    fn record(&self, record: DecisionRecord) {
        black_box(&record);
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

fn bare() -> impl Service<
    Request<()>,
    Response = Response<()>,
    Error = Infallible,
    Future = Ready<Result<Response<()>, Infallible>>,
> + Clone {
    service_fn(|_: Request<()>| ready(Ok(Response::new(()))))
}

/// The request every variant serves: a verified peer and a bearer token.
fn request(transport: &TransportIdentity, authorization: &http::HeaderValue) -> Request<()> {
    let mut request = Request::get("/orders/42").body(()).unwrap();
    request
        .headers_mut()
        .insert(http::header::AUTHORIZATION, authorization.clone());
    request.extensions_mut().insert(transport.clone());
    request
}

/// Readies `service`, calls it and polls the response to completion without a runtime
/// (nothing in the measured path waits on I/O or timers).
fn serve<S, R>(service: &mut S, request: Request<()>) -> Response<R>
where
    S: Service<Request<()>, Response = Response<R>>,
    S::Error: std::fmt::Debug,
{
    let mut cx = Context::from_waker(Waker::noop());
    match service.poll_ready(&mut cx) {
        Poll::Ready(Ok(())) => {}
        _ => panic!("service not ready"),
    }
    let mut future = pin!(service.call(request));
    for _ in 0..16 {
        if let Poll::Ready(result) = future.as_mut().poll(&mut cx) {
            return result.unwrap();
        }
    }
    panic!("response future did not complete")
}

fn setup() -> (Validator, Minter, TransportIdentity) {
    let minter = Minter::generate_es256(ISSUER).unwrap();
    let keys = KeySource::from_jwks(&minter.jwks()).unwrap();
    let validator = Validator::builder()
        .issuer(Issuer::new(ISSUER, keys).audience("orders"))
        .build()
        .unwrap();
    let peer = PeerIdentity {
        spiffe_id: "spiffe://example.org/ns/prod/sa/checkout".parse().unwrap(),
        thumbprint: CertThumbprint([9; 32]),
        not_after: SystemTime::now() + std::time::Duration::from_secs(3600),
    };
    (
        validator,
        minter,
        TransportIdentity::Verified(Arc::new(peer)),
    )
}

fn layer_stack(c: &mut Criterion) {
    let (validator, minter, transport) = setup();
    let token = minter
        .mint(&MintRequest::new("checkout", "orders").role("orders.read"))
        .unwrap();
    let authorization = http::HeaderValue::try_from(format!("Bearer {}", token.as_str())).unwrap();
    let policy = Arc::new(RulePolicy::from_toml(POLICY).unwrap());

    let mut bare = bare();
    let mut authorize = AuthorizeLayer::new(Arc::clone(&policy)).layer(bare.clone());
    let mut zero_trust =
        ZeroTrustLayer::new(validator.clone(), Arc::clone(&policy)).layer(bare.clone());
    let mut audited = ZeroTrustLayer::builder(validator.clone(), Arc::clone(&policy))
        .audit(CountingSink::default())
        .build()
        .layer(bare.clone());

    // `authorize` alone gets the principal that authentication would have left.
    let subject = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(validator.validate(token.as_str(), transport.peer().map(|p| &**p)))
        .unwrap();
    let principal = Principal {
        peer: transport.peer().cloned(),
        subject: Some(subject),
        ..Principal::default()
    };
    let authenticated = |transport: &TransportIdentity, authorization: &http::HeaderValue| {
        let mut request = request(transport, authorization);
        request.extensions_mut().insert(principal.clone());
        request
    };

    // The token is verified once here; every measured request finds it in the cache.
    for service_status in [
        serve(&mut zero_trust, request(&transport, &authorization)).status(),
        serve(&mut audited, request(&transport, &authorization)).status(),
        serve(&mut authorize, authenticated(&transport, &authorization)).status(),
    ] {
        assert_eq!(service_status, http::StatusCode::OK);
    }

    let mut group = c.benchmark_group("layer");
    group.bench_function("bare", |b| {
        b.iter(|| black_box(serve(&mut bare, request(&transport, &authorization))))
    });
    group.bench_function("authorize", |b| {
        b.iter(|| {
            black_box(serve(
                &mut authorize,
                authenticated(&transport, &authorization),
            ))
        })
    });
    group.bench_function("zero_trust", |b| {
        b.iter(|| black_box(serve(&mut zero_trust, request(&transport, &authorization))))
    });
    group.bench_function("zero_trust_audited", |b| {
        b.iter(|| black_box(serve(&mut audited, request(&transport, &authorization))))
    });
    group.finish();
}

/// The `jwt-authorizer` layer over an empty service, and that service alone.
fn jwt_authorizer_baseline(c: &mut Criterion) {
    use axum_core_04::body::Body;
    use jwt_authorizer::{IntoLayer, JwtAuthorizer, Validation};

    let (_, minter, transport) = setup();
    let token = minter
        .mint(&MintRequest::new("checkout", "orders").role("orders.read"))
        .unwrap();
    let authorization = http::HeaderValue::try_from(format!("Bearer {}", token.as_str())).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _entered = runtime.enter();
    let authorizer = runtime
        .block_on(
            JwtAuthorizer::<serde_json::Value>::from_jwks_text(&minter.jwks().to_string())
                .validation(Validation::new().iss(&[ISSUER]).aud(&["orders"]))
                .build(),
        )
        .unwrap();

    let mut bare =
        service_fn(|_: Request<()>| ready(Ok::<_, Infallible>(Response::new(Body::empty()))));
    let mut jwt = [authorizer].into_layer().layer(bare);
    let status = runtime.block_on(async {
        let response = tower::ServiceExt::oneshot(jwt.clone(), request(&transport, &authorization));
        response.await.unwrap().status()
    });
    assert_eq!(status, http::StatusCode::OK);

    let mut group = c.benchmark_group("layer");
    group.bench_function("bare_axum07", |b| {
        b.iter(|| black_box(serve(&mut bare, request(&transport, &authorization))))
    });
    group.bench_function("jwt_authorizer", |b| {
        b.iter(|| black_box(serve(&mut jwt, request(&transport, &authorization))))
    });
    group.finish();
}

criterion_group!(benches, layer_stack, jwt_authorizer_baseline);
criterion_main!(benches);
