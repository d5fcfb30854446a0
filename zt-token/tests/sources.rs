//! Key sources: a JWKS file re-read on change, and a remote JWKS served by a small counting
//! HTTP server on 127.0.0.1 (fetch bounds, rate limit, last good keys, https-only rule).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use zt_token::{FetchError, Issuer, KeySource, TokenError, Validator};

/// What the test server answers.
#[derive(Clone)]
enum Answer {
    Json(String),
    Slow,
}

/// A tiny HTTP/1.1 server answering every request with the current [`Answer`].
struct JwksServer {
    port: u16,
    answer: Arc<std::sync::Mutex<Answer>>,
    hits: Arc<AtomicUsize>,
}

impl JwksServer {
    async fn start(body: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let answer = Arc::new(std::sync::Mutex::new(Answer::Json(body)));
        let hits = Arc::new(AtomicUsize::new(0));
        let (shared, counter) = (answer.clone(), hits.clone());
        tokio::spawn(async move {
            loop {
                let (mut conn, _) = listener.accept().await.unwrap();
                let answer = shared.lock().unwrap().clone();
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut request = vec![0u8; 4096];
                    let _ = conn.read(&mut request).await;
                    let body = match answer {
                        Answer::Json(body) => body,
                        Answer::Slow => {
                            tokio::time::sleep(Duration::from_secs(10)).await;
                            String::new()
                        }
                    };
                    let response = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                         content-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = conn.write_all(response.as_bytes()).await;
                });
            }
        });
        Self { port, answer, hits }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/jwks", self.port)
    }

    fn answer(&self, answer: Answer) {
        *self.answer.lock().unwrap() = answer;
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

fn real_time_claims() -> serde_json::Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut c = claims();
    c["iat"] = json!(now);
    c["exp"] = json!(now + 120);
    c
}

fn validator_over(keys: KeySource) -> Validator {
    Validator::builder()
        .issuer(Issuer::new(ISS, keys).audience(AUD))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_kid_flood_fetches_at_most_once_per_interval() {
    let key = TestKey::es256("ec");
    let server = JwksServer::start(jwks(&[&key]).to_string()).await;
    let keys = KeySource::remote_jwks(server.url())
        .danger_allow_loopback_http(true)
        .unknown_kid_interval(Duration::from_secs(60))
        .connect()
        .await
        .unwrap();
    let validator = validator_over(keys);
    assert_eq!(server.hits(), 1);

    let mut tasks = Vec::new();
    for i in 0..50 {
        let forger = TestKey::es256(&format!("made-up-{i}"));
        let token = forger.token(&real_time_claims());
        let validator = validator.clone();
        tasks.push(tokio::spawn(async move {
            validator.validate(&token, None).await
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap_err(), TokenError::UnknownKey);
    }
    assert!(
        server.hits() <= 2,
        "{} fetches for a flood of unknown kids",
        server.hits()
    );

    // The real key still works throughout.
    validator
        .validate(&key.token(&real_time_claims()), None)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_from_the_key_source_keeps_the_last_good_keys() {
    let key = TestKey::ed25519("ed");
    let server = JwksServer::start(jwks(&[&key]).to_string()).await;
    let keys = KeySource::remote_jwks(server.url())
        .danger_allow_loopback_http(true)
        .refresh_interval(Duration::from_millis(100))
        .connect()
        .await
        .unwrap();
    let validator = validator_over(keys);
    server.answer(Answer::Json("{\"keys\": 42".into()));
    let before = server.hits();
    for _ in 0..50 {
        if server.hits() >= before + 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(server.hits() >= before + 2, "background refreshes ran");
    validator
        .validate(&key.token(&real_time_claims()), None)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_or_slow_responses_are_refused() {
    let key = TestKey::es256("ec");
    let server = JwksServer::start(jwks(&[&key]).to_string()).await;
    let small = KeySource::remote_jwks(server.url())
        .danger_allow_loopback_http(true)
        .max_response_bytes(64)
        .connect()
        .await;
    assert!(
        matches!(small, Err(FetchError::TooLarge { max: 64 })),
        "{small:?}"
    );

    server.answer(Answer::Slow);
    let slow = KeySource::remote_jwks(server.url())
        .danger_allow_loopback_http(true)
        .timeout(Duration::from_millis(300))
        .connect()
        .await;
    assert!(
        matches!(slow, Err(FetchError::Timeout(_) | FetchError::Request(_))),
        "{slow:?}"
    );
}

#[tokio::test]
async fn plain_http_is_refused_unless_loopback_is_allowed() {
    let refused = KeySource::remote_jwks("http://127.0.0.1:9/jwks")
        .connect()
        .await;
    assert!(
        matches!(refused, Err(FetchError::InsecureUrl)),
        "{refused:?}"
    );
    let remote = KeySource::remote_jwks("http://idp.example.org/jwks")
        .danger_allow_loopback_http(true)
        .connect()
        .await;
    assert!(matches!(remote, Err(FetchError::InsecureUrl)), "{remote:?}");
    let discovery = KeySource::oidc_discovery("http://idp.example.org")
        .connect()
        .await;
    assert!(
        matches!(discovery, Err(FetchError::InsecureUrl)),
        "{discovery:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_naming_another_issuer_is_refused() {
    let server = JwksServer::start(String::new()).await;
    let issuer = format!("http://127.0.0.1:{}", server.port);
    let doc = json!({ "issuer": "https://evil.example", "jwks_uri": server.url() });
    server.answer(Answer::Json(doc.to_string()));
    let result = KeySource::oidc_discovery(&issuer)
        .danger_allow_loopback_http(true)
        .connect()
        .await;
    assert!(
        matches!(result, Err(FetchError::IssuerMismatch)),
        "{result:?}"
    );
}

/// Polls `check` every 50 ms for up to 5 s.
async fn eventually(mut check: impl FnMut() -> bool) -> bool {
    for _ in 0..100 {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

fn write_atomically(path: &std::path::Path, contents: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_file_is_reread_on_change_and_keeps_last_good_keys() {
    let old = TestKey::es256("old");
    let new = TestKey::es256("new");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jwks.json");
    std::fs::write(&path, jwks(&[&old]).to_string()).unwrap();
    let clock = clock();
    let keys = KeySource::jwks_file(&path).unwrap();
    let validator = validator_with(Issuer::new(ISS, keys).audience(AUD), &clock);
    let old_token = old.token(&claims());
    check(&validator, &old_token).unwrap();
    assert_eq!(
        check(&validator, &new.token(&claims())).unwrap_err(),
        TokenError::UnknownKey
    );

    // Rotation: the new key arrives and the old one leaves, even for a cached token.
    write_atomically(&path, &jwks(&[&new]).to_string());
    assert!(eventually(|| check(&validator, &new.token(&claims())).is_ok()).await);
    assert_eq!(
        check(&validator, &old_token).unwrap_err(),
        TokenError::UnknownKey
    );

    // A broken file keeps the keys that were good.
    std::fs::write(&path, "{ not json").unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    check(&validator, &new.token(&claims())).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_spiffe_bundle_serves_jwt_svid_keys() {
    let key = TestKey::es256("jwt");
    let mut bundle = jwks(&[&key]);
    bundle["keys"][0]["use"] = json!("jwt-svid");
    bundle["spiffe_sequence"] = json!(7);
    let server = JwksServer::start(bundle.to_string()).await;
    let keys = KeySource::remote_spiffe_bundle(server.url())
        .danger_allow_loopback_http(true)
        .connect()
        .await
        .unwrap();
    let trust_domain = "example.org".parse().unwrap();
    let validator = Validator::builder()
        .issuer(Issuer::jwt_svid(ISS, trust_domain, keys).audience(AUD))
        .build()
        .unwrap();
    let mut claims = real_time_claims();
    claims["sub"] = json!("spiffe://example.org/ns/prod/sa/orders");
    let subject = validator.validate(&key.token(&claims), None).await.unwrap();
    assert_eq!(&*subject.subject, "spiffe://example.org/ns/prod/sa/orders");

    // The same document read as a plain JWKS has no signing key at all.
    let as_jwks = KeySource::remote_jwks(server.url())
        .danger_allow_loopback_http(true)
        .connect()
        .await;
    assert!(matches!(as_jwks, Err(FetchError::KeySet(_))), "{as_jwks:?}");
}

#[test]
fn connecting_outside_a_tokio_runtime_is_an_error_not_a_panic() {
    let connect = KeySource::remote_jwks("https://idp.example.org/jwks").connect();
    let mut connect = std::pin::pin!(connect);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match connect.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(result) => {
            assert!(matches!(result, Err(FetchError::NoRuntime)), "{result:?}");
        }
        std::task::Poll::Pending => panic!("must fail at once without a runtime"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spiffe_bundle_file_serves_its_jwt_svid_keys() {
    let key = TestKey::ed25519("jwt");
    let mut bundle = jwks(&[&key]);
    bundle["keys"][0]["use"] = json!("jwt-svid");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bundle.json");
    std::fs::write(&path, bundle.to_string()).unwrap();
    let keys = KeySource::spiffe_bundle_file(&path).unwrap();
    let trust_domain = "example.org".parse().unwrap();
    let validator = validator_with(
        Issuer::jwt_svid(ISS, trust_domain, keys).audience(AUD),
        &clock(),
    );
    let mut c = claims();
    c["sub"] = json!("spiffe://example.org/ns/prod/sa/orders");
    check(&validator, &key.token(&c)).unwrap();

    // A plain JWKS (no `jwt-svid` keys) is not a SPIFFE bundle.
    std::fs::write(&path, jwks(&[&key]).to_string()).unwrap();
    assert!(KeySource::spiffe_bundle_file(&path).is_err());
}
