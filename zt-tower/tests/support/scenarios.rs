//! Each outcome once, run against both the hyper and the axum server.

use std::time::Duration;

use http::{Method, StatusCode};

use super::{CLIENT_ID, Harness};

/// The service answers `peer=<spiffe id> subject=<sub>`.
pub async fn valid_token_is_allowed_and_the_service_sees_the_caller(h: &Harness) {
    let token = h.token(&["orders.read"]);
    let reply = h
        .client(false)
        .send(Method::GET, "/orders/42", Some(&token), &[])
        .await;
    let reply = reply.unwrap();
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, format!("peer={CLIENT_ID} subject=checkout"));
}

pub async fn valid_token_is_allowed_over_http2(h: &Harness) {
    let token = h.token(&["orders.read"]);
    let reply = h
        .client(true)
        .send(Method::GET, "/orders/42", Some(&token), &[])
        .await;
    assert_eq!(reply.unwrap().status, StatusCode::OK);
}

pub async fn deny_rule_is_a_403_and_the_audit_names_the_rule(h: &Harness) {
    let token = h.token(&["orders.read"]);
    let headers = [("x-request-id", "delete-1")];
    let client = h.client(false);
    let reply = client
        .send(Method::DELETE, "/orders/42", Some(&token), &headers)
        .await
        .unwrap();
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json")
    );
    assert!(
        !reply.body.contains("no-deletes"),
        "rule names stay on the server"
    );
    let records = h.audit.records();
    let record = records
        .iter()
        .find(|r| r.request_id.as_deref() == Some("delete-1"));
    assert_eq!(record.unwrap().rule.as_deref(), Some("no-deletes"));
}

pub async fn missing_role_is_a_403_with_insufficient_scope(h: &Harness) {
    let token = h.token(&["orders.read"]);
    let client = h.client(false);
    let reply = client
        .send(Method::POST, "/orders/42/refund", Some(&token), &[])
        .await
        .unwrap();
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    let challenge = reply.header("www-authenticate").unwrap();
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
}

pub async fn missing_token_is_a_401_with_a_bare_challenge(h: &Harness) {
    let reply = h
        .client(false)
        .send(Method::GET, "/orders/42", None, &[])
        .await
        .unwrap();
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.header("www-authenticate"),
        Some("Bearer realm=\"zt\"")
    );
}

pub async fn expired_token_is_a_401_that_says_expired(h: &Harness) {
    let token = h.expired_token();
    let client = h.client(false);
    let reply = client
        .send(Method::GET, "/orders/42", Some(&token), &[])
        .await
        .unwrap();
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let challenge = reply.header("www-authenticate").unwrap();
    assert!(
        challenge.contains("invalid_token") && challenge.contains("expired"),
        "{challenge}"
    );
}

pub async fn tampered_token_is_a_401_invalid_token(h: &Harness) {
    let token = h.token(&["orders.read"]);
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    // Re-sign nothing: swap in the payload of a token with more roles.
    let other = h.token(&["orders.read", "orders.refund"]);
    parts[1] = other.split('.').nth(1).unwrap().to_owned();
    let tampered = parts.join(".");
    let client = h.client(false);
    let reply = client
        .send(Method::POST, "/orders/42/refund", Some(&tampered), &[])
        .await
        .unwrap();
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let challenge = reply.header("www-authenticate").unwrap();
    assert!(
        challenge.contains("the access token is invalid"),
        "{challenge}"
    );
}

pub async fn encoded_slash_in_the_path_is_a_403(h: &Harness) {
    let token = h.token(&["orders.read"]);
    let path = "/orders/42%2F..%2F..%2Fadmin";
    let reply = h
        .client(false)
        .send(Method::GET, path, Some(&token), &[])
        .await
        .unwrap();
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
}

pub async fn just_in_time_grant_allows_until_it_expires(h: &Harness) {
    let token = h.token(&["orders.read"]);
    let client = h.client(false);
    h.grant_refunds(Duration::from_secs(300));
    let reply = client
        .send(Method::POST, "/orders/42/refund", Some(&token), &[])
        .await;
    assert_eq!(reply.unwrap().status, StatusCode::OK);
    h.server_clock.advance(Duration::from_secs(301));
    let reply = client
        .send(Method::POST, "/orders/42/refund", Some(&token), &[])
        .await;
    assert_eq!(reply.unwrap().status, StatusCode::FORBIDDEN);
}

pub async fn foreign_trust_domain_is_refused_at_the_handshake(h: &Harness) {
    let token = h.token(&["orders.read"]);
    let reply = h
        .foreign_client()
        .send(Method::GET, "/orders/42", Some(&token), &[])
        .await;
    assert!(reply.is_err(), "{reply:?}");
    assert!(
        h.audit.records().is_empty(),
        "no request reached the layers"
    );
}

pub async fn grpc_caller_without_a_token_gets_unauthenticated(h: &Harness) {
    let headers = [("content-type", "application/grpc")];
    let client = h.client(true);
    let reply = client
        .send(Method::POST, "/orders.Orders/Get", None, &headers)
        .await
        .unwrap();
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("grpc-status"), Some("16"));
    assert_eq!(reply.header("content-type"), Some("application/grpc"));
}

pub async fn outbound_layer_attaches_a_fresh_minted_token(h: &Harness) {
    use std::sync::Arc;
    use tower::{ServiceBuilder, ServiceExt};
    use zt_token::MintRequest;
    use zt_tower::{BearerTokenLayer, MinterSource};

    let source = MinterSource::new(
        Arc::clone(&h.minter),
        MintRequest::new("checkout", "orders").role("orders.read"),
    );
    let client = Arc::new(h.client(false));
    let outbound = ServiceBuilder::new()
        .layer(BearerTokenLayer::new(source))
        .service_fn(move |request| {
            let client = Arc::clone(&client);
            async move { client.send_request(request).await }
        });
    for _ in 0..2 {
        let request = http::Request::get("/orders/42")
            .body(Default::default())
            .unwrap();
        let reply = outbound.clone().oneshot(request).await.unwrap();
        assert_eq!(reply.status, StatusCode::OK);
    }
}
