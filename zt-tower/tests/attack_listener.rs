//! Attacks on the accept loop and the connections it serves, over real sockets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use support::Harness;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tower::ServiceBuilder;
use zt_tower::serve::serve_connection_with_header_timeout;

async fn hello(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::from("hello")))
}

/// A server whose connections get `header_timeout` to send each request head.
async fn harness(header_timeout: Duration) -> Harness {
    Harness::start(|parts| {
        let service = ServiceBuilder::new().layer(parts.layer).service_fn(hello);
        let mut listener = parts.listener;
        tokio::spawn(async move {
            loop {
                let (stream, info) = listener.accept().await;
                let service = service.clone();
                tokio::spawn(serve_connection_with_header_timeout(
                    stream,
                    info.identity,
                    service,
                    header_timeout,
                ));
            }
        });
    })
    .await
}

#[tokio::test]
async fn verified_peer_that_never_finishes_its_request_head_is_disconnected() {
    let harness = harness(Duration::from_millis(300)).await;
    let mut tls = harness.client(false).connect().await.unwrap();
    tls.write_all(b"GET /health HTTP/1.1\r\nHost: orders\r\n")
        .await
        .unwrap();
    tls.flush().await.unwrap();
    let mut buffer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), tls.read_to_end(&mut buffer)).await;
    assert!(read.is_ok(), "the slow client still holds its connection");
}

#[tokio::test]
async fn failed_handshakes_do_not_stop_the_accept_loop() {
    let harness = harness(Duration::from_secs(5)).await;
    // Garbage instead of a ClientHello, then a client that hangs up at once.
    let mut garbage = TcpStream::connect(harness.addr).await.unwrap();
    garbage.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
    drop(TcpStream::connect(harness.addr).await.unwrap());
    // A client of an untrusted trust domain: refused during or right after its handshake.
    let _refused = harness.foreign_client().connect().await;
    // A good client is still served.
    let token = harness.token(&[]);
    let reply = harness
        .client(false)
        .send(http::Method::GET, "/health", Some(&token), &[])
        .await
        .unwrap();
    assert_eq!(reply.status, http::StatusCode::OK);
}
