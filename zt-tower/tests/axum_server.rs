//! Every outcome over real mTLS sockets on 127.0.0.1, served by `axum::serve` over the
//! `SpiffeListener`, with the `ZeroTrustLayer` on the router and the `Caller` extractor.
#![cfg(feature = "axum")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use axum::Router;
use axum::routing::{any, get, post};
use support::{Harness, scenarios};
use zt_tower::axum::{Caller, into_make_service};

async fn who(Caller(caller): Caller) -> String {
    let peer = caller
        .peer_id()
        .map(ToString::to_string)
        .unwrap_or_default();
    let subject = caller
        .subject
        .as_ref()
        .map(|s| s.subject.to_string())
        .unwrap_or_default();
    format!("peer={peer} subject={subject}")
}

async fn harness() -> Harness {
    Harness::start(|parts| {
        let app = Router::new()
            .route("/orders/{id}", get(who).delete(who))
            .route("/orders/{id}/refund", post(who))
            .route("/orders.Orders/Get", any(who))
            .layer(parts.layer);
        let serve = axum::serve(parts.listener, into_make_service(app));
        tokio::spawn(async move { serve.await });
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
