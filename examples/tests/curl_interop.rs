//! Interop: `curl` with openssl-made certificates and a token minted here talks to the
//! `mtls-server` example's server (run in process), and gets 200, 403 or 401 where it
//! should.
//!
//! Needs `openssl` and `curl` on the PATH (CI installs both); fails loudly without them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use zt_examples::server::{ServerConfig, start_server};
use zt_token::{MintRequest, Minter};

const ISSUER: &str = "https://auth.example.org";

const POLICY: &str = r#"
[[rule]]
name = "orders-read"
effect = "allow"
peers = ["spiffe://example.org/ns/prod/sa/curl"]
roles = ["orders.read"]
methods = ["GET"]
paths = ["/orders/{id}"]
"#;

fn require_tool(tool: &str) {
    let found = Command::new(tool).arg("--version").output().is_ok()
        || Command::new(tool).arg("version").output().is_ok();
    assert!(
        found,
        "`{tool}` is not installed: install it (apt-get install {tool}) to run this test"
    );
}

fn make_certs(dir: &Path) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/make-certs.sh");
    let status = Command::new("sh").arg(script).arg(dir).status().unwrap();
    assert!(status.success(), "make-certs.sh failed");
}

/// Runs curl against `url`; returns the HTTP status it printed, or 0 if curl itself failed.
fn curl(dir: &Path, method: &str, url: &str, token: Option<&str>) -> u16 {
    let mut command = Command::new("curl");
    command
        .current_dir(dir)
        .args([
            "-sS",
            "--max-time",
            "5",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
        ])
        .args([
            "--cacert",
            "ca.pem",
            "--cert",
            "client.pem",
            "--key",
            "client.key",
        ])
        .args(["-X", method]);
    if let Some(token) = token {
        command.args(["-H", &format!("Authorization: Bearer {token}")]);
    }
    let output = command.arg(url).output().unwrap();
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_with_openssl_certificates_gets_200_403_and_401_where_it_should() {
    require_tool("openssl");
    require_tool("curl");
    let dir = tempfile::tempdir().unwrap();
    make_certs(dir.path());

    let minter = Minter::generate_es256(ISSUER).unwrap();
    std::fs::write(dir.path().join("jwks.json"), minter.jwks().to_string()).unwrap();
    std::fs::write(dir.path().join("policy.toml"), POLICY).unwrap();
    let reader = MintRequest::new("curl-user", "orders").role("orders.read");
    let token = minter.mint(&reader).unwrap().as_str().to_owned();
    let stranger = MintRequest::new("curl-user", "orders");
    let no_role = minter.mint(&stranger).unwrap().as_str().to_owned();

    let file = |name: &str| dir.path().join(name);
    let config = ServerConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        cert: file("server.pem"),
        key: file("server.key"),
        trust_domain: "example.org".parse().unwrap(),
        bundle: file("ca.pem"),
        policy: file("policy.toml"),
        jwks: file("jwks.json"),
        issuer: ISSUER.to_owned(),
        audience: "orders".to_owned(),
        token_optional: false,
    };
    let (addr, server) = start_server(&config).await.unwrap();
    let url = format!("https://{addr}/orders/42");

    let dir_path = dir.path().to_owned();
    let statuses = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::task::spawn_blocking(move || {
            [
                curl(&dir_path, "GET", &url, Some(&token)),
                curl(&dir_path, "GET", &url, Some(&no_role)),
                curl(&dir_path, "DELETE", &url, Some(&token)),
                curl(&dir_path, "GET", &url, None),
                curl(&dir_path, "GET", &url, Some("not.a.token")),
            ]
        }),
    )
    .await
    .unwrap()
    .unwrap();
    server.abort();
    assert_eq!(statuses, [200, 403, 403, 401, 401]);
}
