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
use zt_tower::TokenRequirement;

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
    harness_with(TokenRequirement::Required).await
}

async fn harness_with(requirement: TokenRequirement) -> Harness {
    Harness::start_with(requirement, |parts| {
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

#[tokio::test]
async fn workload_without_a_token_is_served_when_tokens_are_optional_for_peers() {
    let h = harness_with(TokenRequirement::OptionalForVerifiedPeers).await;
    let client = h.client(false);
    let reply = client
        .send(http::Method::GET, "/health", None, &[])
        .await
        .unwrap();
    assert_eq!(reply.status, http::StatusCode::OK);
    assert_eq!(reply.body, format!("peer={} subject=", support::CLIENT_ID));
    // The policy still asks for a role on orders, which only a token can bring.
    let reply = client
        .send(http::Method::GET, "/orders/42", None, &[])
        .await
        .unwrap();
    assert_eq!(reply.status, http::StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn workload_without_a_token_is_refused_when_tokens_are_required() {
    let h = harness().await;
    let reply = h
        .client(false)
        .send(http::Method::GET, "/health", None, &[])
        .await
        .unwrap();
    assert_eq!(reply.status, http::StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn stalled_handshake_does_not_hold_up_other_clients() {
    let h = harness().await;
    // Connects and never says a word.
    let _stalled = tokio::net::TcpStream::connect(h.addr).await.unwrap();
    let token = h.token(&["orders.read"]);
    let reply = h
        .client(false)
        .send(http::Method::GET, "/orders/42", Some(&token), &[])
        .await;
    assert_eq!(reply.unwrap().status, http::StatusCode::OK);
}
