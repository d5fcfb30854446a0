//! A failed key refresh is logged at `warn` (without the token) and counted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use zt_token::{Issuer, KeySource, TokenError, Validator};

/// Counts `zt_token_key_refresh_failures_total`, ignores everything else.
#[derive(Default)]
struct FailureCounter(Arc<AtomicU64>);

impl Recorder for FailureCounter {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        if key.name() == "zt_token_key_refresh_failures_total" {
            Counter::from_arc(self.0.clone())
        } else {
            Counter::noop()
        }
    }
    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }
    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

/// Collects formatted log lines.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Serves `good` once, then garbage.
async fn serve_then_fail(good: String) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut body = good;
        loop {
            let (mut conn, _) = listener.accept().await.unwrap();
            let mut request = vec![0u8; 4096];
            let _ = conn.read(&mut request).await;
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = conn.write_all(response.as_bytes()).await;
            body = "<html>oops</html>".into();
        }
    });
    port
}

#[test]
fn failed_refresh_is_logged_at_warn_and_counted() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let key = TestKey::es256("ec");
    let validator = runtime.block_on(async {
        let port = serve_then_fail(jwks(&[&key]).to_string()).await;
        let keys = KeySource::remote_jwks(format!("http://127.0.0.1:{port}/jwks"))
            .danger_allow_loopback_http(true)
            .timeout(Duration::from_secs(2))
            .connect()
            .await
            .unwrap();
        Validator::builder()
            .issuer(Issuer::new(ISS, keys).audience(AUD))
            .build()
            .unwrap()
    });

    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut claims = claims();
    claims["iat"] = json!(now);
    claims["exp"] = json!(now + 60);
    let stranger = TestKey::es256("rotated-away").token(&claims);

    let recorder = FailureCounter::default();
    let failures = recorder.0.clone();
    let logs = Logs::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let result = metrics::with_local_recorder(&recorder, || {
        tracing::subscriber::with_default(subscriber, || {
            runtime.block_on(validator.validate(&stranger, None))
        })
    });

    assert_eq!(result.unwrap_err(), TokenError::UnknownKey);
    assert_eq!(failures.load(Ordering::SeqCst), 1);
    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("WARN") && logs.contains("refresh failed"),
        "{logs}"
    );
    assert!(!logs.contains(&stranger), "the token must not be logged");
    // The keys fetched before the failure still verify.
    let good = key.token(&claims);
    assert!(runtime.block_on(validator.validate(&good, None)).is_ok());
}
