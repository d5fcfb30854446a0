//! Adversarial key-source servers: chunked bodies past the bound, credentials in URLs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt as _;
use zt_token::{FetchError, KeySource};

/// Serves `first` to the first request and `rest` (raw HTTP responses) to every later one.
async fn raw_server(first: String, rest: String) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut served = 0usize;
        loop {
            let (mut conn, _) = listener.accept().await.unwrap();
            let response = if served == 0 {
                first.clone()
            } else {
                rest.clone()
            };
            served += 1;
            tokio::spawn(async move {
                let mut request = vec![0u8; 4096];
                let _ = conn.read(&mut request).await;
                let _ = conn.write_all(response.as_bytes()).await;
            });
        }
    });
    port
}

fn ok_response(body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[tokio::test]
async fn chunked_body_without_length_is_still_bounded() {
    let key = TestKey::es256("ec");
    let mut body = jwks(&[&key]).to_string();
    body.push_str(&" ".repeat(64 * 1024));
    let mut chunked = String::from("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n");
    chunked.push_str("connection: close\r\n\r\n");
    for piece in body.as_bytes().chunks(1000) {
        chunked.push_str(&format!(
            "{:x}\r\n{}\r\n",
            piece.len(),
            std::str::from_utf8(piece).unwrap()
        ));
    }
    chunked.push_str("0\r\n\r\n");
    let port = raw_server(chunked.clone(), chunked).await;
    let result = KeySource::remote_jwks(format!("http://127.0.0.1:{port}/jwks"))
        .danger_allow_loopback_http(true)
        .max_response_bytes(4096)
        .connect()
        .await;
    assert!(
        matches!(result, Err(FetchError::TooLarge { max: 4096 })),
        "{result:?}"
    );
}

/// Collects everything logged, at every level.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn credentials_in_a_key_source_url_never_reach_logs_or_debug_output() {
    let key = TestKey::es256("ec");
    let port = raw_server(
        ok_response(&jwks(&[&key]).to_string()),
        "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n".into(),
    )
    .await;
    let captured = Captured::default();
    let sink = captured.clone();
    // Everything zt-token logs, at every level.
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || sink.clone())
        .finish()
        .with(Targets::new().with_target("zt_token", tracing::Level::TRACE));
    let _guard = tracing::subscriber::set_default(subscriber);

    let url = format!("http://svc:hunter2-secret@127.0.0.1:{port}/jwks?api_key=topsecret");
    let builder = KeySource::remote_jwks(url).danger_allow_loopback_http(true);
    let shown_builder = format!("{builder:?}");
    let keys = builder.connect().await.unwrap();
    // An unknown kid forces a refresh, which fails and is logged at warn.
    let forger = TestKey::es256("made-up");
    let validator = zt_token::Validator::builder()
        .issuer(zt_token::Issuer::new(ISS, keys.clone()).audience(AUD))
        .build()
        .unwrap();
    let mut c = claims();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    c["iat"] = serde_json::json!(now);
    c["exp"] = serde_json::json!(now + 60);
    assert!(validator.validate(&forger.token(&c), None).await.is_err());
    tokio::time::sleep(Duration::from_millis(50)).await;

    let unreachable = KeySource::remote_jwks("http://svc:hunter2-secret@127.0.0.1:1/jwks")
        .danger_allow_loopback_http(true)
        .timeout(Duration::from_secs(2))
        .connect()
        .await
        .unwrap_err();
    let shown_error = format!("{unreachable:?} {unreachable}");

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("JWKS refresh failed"),
        "the failure was logged: {logs}"
    );
    for shown in [
        &logs,
        &shown_builder,
        &shown_error,
        &format!("{keys:?} {validator:?}"),
    ] {
        assert!(!shown.contains("hunter2-secret"), "password shown: {shown}");
        assert!(!shown.contains("topsecret"), "query secret shown: {shown}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_token_stops_validating_once_the_keys_are_stale() {
    let key = TestKey::es256("ec");
    let port = raw_server(
        ok_response(&jwks(&[&key]).to_string()),
        "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n".into(),
    )
    .await;
    let keys = KeySource::remote_jwks(format!("http://127.0.0.1:{port}/jwks"))
        .danger_allow_loopback_http(true)
        .max_staleness(Duration::from_millis(400))
        .unknown_kid_interval(Duration::from_secs(60))
        .connect()
        .await
        .unwrap();
    let validator = zt_token::Validator::builder()
        .issuer(zt_token::Issuer::new(ISS, keys).audience(AUD))
        .build()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut c = claims();
    c["iat"] = serde_json::json!(now);
    c["exp"] = serde_json::json!(now + 120);
    let token = key.token(&c);
    validator.validate(&token, None).await.unwrap();
    assert_eq!(validator.cached_tokens(), 1);
    tokio::time::sleep(Duration::from_millis(700)).await;
    for _ in 0..3 {
        let error = validator.validate(&token, None).await.unwrap_err();
        assert!(error.is_unverifiable(), "{error:?}");
    }
}
