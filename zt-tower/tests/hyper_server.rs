//! Every outcome over real mTLS sockets on 127.0.0.1, served by hyper-util's loop
//! (`zt_tower::serve::serve`) with the `ZeroTrustLayer` in a `ServiceBuilder`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use support::{Harness, scenarios};
use tower::ServiceBuilder;
use zt_core::Principal;

/// The orders service: answers with who called.
async fn orders(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let principal = request
        .extensions()
        .get::<Principal>()
        .cloned()
        .unwrap_or_default();
    let peer = principal
        .peer_id()
        .map(ToString::to_string)
        .unwrap_or_default();
    let subject = principal
        .subject
        .map(|s| s.subject.to_string())
        .unwrap_or_default();
    Ok(Response::new(Full::from(format!(
        "peer={peer} subject={subject}"
    ))))
}

async fn harness() -> Harness {
    Harness::start(|parts| {
        let service = ServiceBuilder::new().layer(parts.layer).service_fn(orders);
        tokio::spawn(zt_tower::serve::serve(parts.listener, service));
    })
    .await
}

macro_rules! scenario_tests {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $name() {
            scenarios::$name(&harness().await).await;
        }
    )*};
}

scenario_tests!(
    valid_token_is_allowed_and_the_service_sees_the_caller,
    valid_token_is_allowed_over_http2,
    deny_rule_is_a_403_and_the_audit_names_the_rule,
    missing_role_is_a_403_with_insufficient_scope,
    missing_token_is_a_401_with_a_bare_challenge,
    expired_token_is_a_401_that_says_expired,
    tampered_token_is_a_401_invalid_token,
    encoded_slash_in_the_path_is_a_403,
    just_in_time_grant_allows_until_it_expires,
    foreign_trust_domain_is_refused_at_the_handshake,
    grpc_caller_without_a_token_gets_unauthenticated,
    outbound_layer_attaches_a_fresh_minted_token,
);
