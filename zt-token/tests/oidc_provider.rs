//! Against a real OpenID provider: `oidc-provider` (npm) started from `tests/oidc/provider.js`
//! on 127.0.0.1. Needs `npm ci --prefix zt-token/tests/oidc` first; fails loudly otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use zt_token::{Issuer, KeySource, TokenError, Validator};

const RESOURCES: [&str; 3] = ["urn:zt:rs256", "urn:zt:es256", "urn:zt:eddsa"];

/// The provider process; killed when dropped.
struct Provider {
    child: Child,
    port: u16,
}

impl Provider {
    async fn start() -> Self {
        Self::start_on(0).await
    }

    /// Starts the provider on `port` (0 for any free port).
    async fn start_on(port: u16) -> Self {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oidc");
        assert!(
            dir.join("node_modules/oidc-provider").is_dir(),
            "the OpenID provider's npm packages are missing: run \
             `npm ci --prefix zt-token/tests/oidc` before these tests"
        );
        let mut child = Command::new("node")
            .arg("provider.js")
            .current_dir(&dir)
            .env("PORT", port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("`node` must be installed to run the OpenID provider");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(port) = line.strip_prefix("READY ") {
                    return port.trim().parse::<u16>().unwrap();
                }
            }
            panic!("the OpenID provider exited before it was ready");
        });
        let port = ready
            .await
            .expect("the OpenID provider did not start within 30 s");
        Self { child, port }
    }

    fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A JWT access token for `resource` by client credentials.
    async fn token(&self, resource: &str) -> String {
        let body = format!(
            "grant_type=client_credentials&client_id=svc&client_secret=secret&scope=read\
             &resource={}",
            resource.replace(':', "%3A")
        );
        let response = reqwest::Client::new()
            .post(format!("{}/token", self.issuer()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "token request failed");
        let answer: serde_json::Value =
            serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        answer["access_token"].as_str().unwrap().to_owned()
    }

    async fn rotate(&self) {
        let response = reqwest::Client::new()
            .post(format!("{}/admin/rotate", self.issuer()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }

    async fn stop(mut self) {
        self.child.kill().await.unwrap();
    }
}

async fn validator_for(provider: &Provider, staleness: Duration) -> Validator {
    let keys = KeySource::oidc_discovery(provider.issuer())
        .danger_allow_loopback_http(true)
        .unknown_kid_interval(Duration::ZERO)
        .max_staleness(staleness)
        .timeout(Duration::from_secs(2))
        .connect()
        .await
        .expect("discovery and JWKS fetch from the provider");
    let issuer = RESOURCES
        .iter()
        .fold(Issuer::new(provider.issuer(), keys), |issuer, aud| {
            issuer.audience(*aud)
        })
        .expected_type("at+jwt");
    Validator::builder().issuer(issuer).build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_tokens_of_each_algorithm_validate_through_discovery() {
    let provider = Provider::start().await;
    let validator = validator_for(&provider, Duration::from_secs(600)).await;
    for resource in RESOURCES {
        let token = provider.token(resource).await;
        let subject = validator.validate(&token, None).await.unwrap();
        assert_eq!(&*subject.subject, "svc");
        assert_eq!(subject.audiences, vec![resource.to_owned()]);
        assert!(subject.has_role("read"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_rotation_on_the_provider_is_followed_without_restart() {
    let provider = Provider::start().await;
    let validator = validator_for(&provider, Duration::from_secs(600)).await;
    let before = provider.token("urn:zt:es256").await;
    validator.validate(&before, None).await.unwrap();

    provider.rotate().await;
    let after = provider.token("urn:zt:es256").await;
    validator
        .validate(&after, None)
        .await
        .expect("new key fetched on its unknown kid");

    // The old key left the provider's JWKS, so its token no longer verifies, cached or not.
    let error = validator.validate(&before, None).await.unwrap_err();
    assert!(error.is_unverifiable(), "{error:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provider_down_keeps_cached_keys_serving_until_stale() {
    let provider = Provider::start().await;
    let validator = validator_for(&provider, Duration::from_secs(5)).await;
    let seen = provider.token("urn:zt:rs256").await;
    let unseen = provider.token("urn:zt:eddsa").await;
    validator.validate(&seen, None).await.unwrap();
    let issuer = provider.issuer();
    provider.stop().await;

    // Keys fetched before the outage keep verifying tokens never seen before.
    validator
        .validate(&unseen, None)
        .await
        .expect("cached keys serve during the outage");
    validator.validate(&seen, None).await.unwrap();

    // A token under an unknown key is unverifiable: a failed fetch, never a pass.
    let stranger = common::TestKey::es256("not-at-the-provider");
    let mut claims = common::claims();
    claims["iss"] = json!(issuer);
    claims["aud"] = json!("urn:zt:es256");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    claims["iat"] = json!(now);
    claims["exp"] = json!(now + 60);
    let error = validator
        .validate(&stranger.token(&claims), None)
        .await
        .unwrap_err();
    assert_eq!(error, TokenError::UnknownKey);

    // Past the staleness bound the keys stop serving.
    tokio::time::sleep(Duration::from_millis(5200)).await;
    let error = validator.validate(&unseen, None).await.unwrap_err();
    assert_eq!(error, TokenError::KeysUnavailable);

    // Back on the same address (with new keys), the provider's tokens verify again.
    let port = issuer.rsplit(':').next().unwrap().parse().unwrap();
    let provider = Provider::start_on(port).await;
    let fresh = provider.token("urn:zt:es256").await;
    validator
        .validate(&fresh, None)
        .await
        .expect("keys fetched again after the outage");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_under_unknown_keys_are_rejected_as_unverifiable() {
    let provider = Provider::start().await;
    let validator = validator_for(&provider, Duration::from_secs(600)).await;
    let stranger = common::TestKey::ed25519("EdDSA-g1-forged");
    let mut claims = common::claims();
    claims["iss"] = json!(provider.issuer());
    claims["aud"] = json!("urn:zt:eddsa");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    claims["iat"] = json!(now);
    claims["exp"] = json!(now + 60);
    let error = validator
        .validate(&stranger.token(&claims), None)
        .await
        .unwrap_err();
    assert!(error.is_unverifiable(), "{error:?}");

    // A real kid with a foreign signature is a bad signature, not a pass.
    let mut header = stranger.header();
    header["kid"] = json!("EdDSA-g1");
    let error = validator
        .validate(&stranger.sign(&header, &claims), None)
        .await
        .unwrap_err();
    assert_eq!(error, TokenError::BadSignature);
}
