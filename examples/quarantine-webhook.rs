//! Assume breach: a workload that keeps being denied is quarantined by the responder, and
//! each quarantine is posted as JSON to a webhook (here a receiver on 127.0.0.1 in the same
//! process) so that someone gets paged.
//!
//! Run it with `cargo run --example quarantine-webhook`. It exits with status 1 if the
//! webhook is not called or the quarantined workload is still served.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "an example prints its results"
)]

use std::convert::Infallible;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tower::{Layer, ServiceExt, service_fn};
use zt_core::{
    CertThumbprint, PeerIdentity, Quarantine, Responder, ResponderConfig, RevocationList,
    RulePolicy, TransportIdentity,
};
use zt_examples::BoxError;
use zt_tower::AuthorizeLayer;

const POLICY: &str = r#"
[[rule]]
name = "orders-read"
effect = "allow"
trust_domains = ["example.org"]
methods = ["GET"]
paths = ["/orders/{id}"]
"#;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("quarantine-webhook could not run: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run() -> Result<bool, BoxError> {
    let (webhook, mut received) = start_webhook_receiver().await?;

    // The responder quarantines after 3 denies in a minute; its callback must not block,
    // so it only queues the quarantine for the sender task.
    let (queue, mut quarantines) = mpsc::channel::<Quarantine>(64);
    let revocations = Arc::new(RevocationList::new());
    let config = ResponderConfig::default().deny_threshold(3, Duration::from_secs(60));
    let responder = Responder::new(Arc::clone(&revocations), config).on_quarantine(move |q| {
        let _ = queue.try_send(q.clone());
    });
    tokio::spawn(async move {
        while let Some(quarantine) = quarantines.recv().await {
            if let Err(e) = post_json(webhook, to_json(&quarantine)).await {
                eprintln!("webhook failed: {e}");
            }
        }
    });

    let service = AuthorizeLayer::new(RulePolicy::from_toml(POLICY)?)
        .with_revocations(revocations)
        .with_responder(Arc::new(responder))
        .layer(service_fn(|_: Request<()>| async {
            Ok::<_, Infallible>(Response::new(Full::<Bytes>::from("order 42")))
        }));

    // A compromised workload probes what it may not touch, then asks for what it may.
    let scraper = "spiffe://example.org/ns/prod/sa/scraper";
    for path in ["/orders/42", "/admin", "/admin/users", "/secrets"] {
        let status = service
            .clone()
            .oneshot(request(scraper, path)?)
            .await?
            .status();
        println!("{scraper} GET {path}: {status}");
    }
    let status = service
        .oneshot(request(scraper, "/orders/42")?)
        .await?
        .status();
    println!("{scraper} GET /orders/42: {status} (quarantined)");

    let paged = tokio::time::timeout(Duration::from_secs(5), received.recv()).await;
    let called = match paged {
        Ok(Some(body)) => {
            println!("webhook received: {body}");
            true
        }
        _ => {
            println!("webhook was not called");
            false
        }
    };
    Ok(called && status == StatusCode::FORBIDDEN)
}

/// A request from the workload `peer`, as the mTLS connection wrapper would mark it.
fn request(peer: &str, path: &str) -> Result<Request<()>, BoxError> {
    let mut request = Request::get(path).body(())?;
    let peer = PeerIdentity {
        spiffe_id: peer.parse()?,
        thumbprint: CertThumbprint([0; 32]),
        not_after: SystemTime::now() + Duration::from_secs(3600),
    };
    request
        .extensions_mut()
        .insert(TransportIdentity::Verified(Arc::new(peer)));
    Ok(request)
}

fn to_json(quarantine: &Quarantine) -> serde_json::Value {
    let until = quarantine
        .until
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    serde_json::json!({
        "event": "zt.quarantine",
        "trigger": quarantine.trigger.to_string(),
        "targets": quarantine.targets.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "until_unix": until.as_secs(),
    })
}

/// Posts `body` to `http://addr/` over HTTP/1.1.
async fn post_json(addr: std::net::SocketAddr, body: serde_json::Value) -> Result<(), BoxError> {
    let tcp = TcpStream::connect(addr).await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
    tokio::spawn(connection);
    let request = Request::post("/")
        .header("content-type", "application/json")
        .header("host", addr.to_string())
        .body(Full::<Bytes>::from(body.to_string()))?;
    let response = sender.send_request(request).await?;
    if !response.status().is_success() {
        return Err(format!("webhook answered {}", response.status()).into());
    }
    Ok(())
}

/// A webhook receiver on 127.0.0.1 that hands each body it gets to the returned channel.
async fn start_webhook_receiver() -> Result<(std::net::SocketAddr, mpsc::Receiver<String>), BoxError>
{
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (sink, received) = mpsc::channel(16);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let sink = sink.clone();
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let sink = sink.clone();
                async move {
                    let body = request.into_body().collect().await?.to_bytes();
                    let _ = sink.send(String::from_utf8_lossy(&body).into_owned()).await;
                    Ok::<_, hyper::Error>(Response::new(Full::<Bytes>::default()))
                }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tcp), service);
            tokio::spawn(connection);
        }
    });
    Ok((addr, received))
}
