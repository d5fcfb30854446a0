//! A flood of 10,000 distinct bad principals over a few keep-alive mTLS connections on
//! 127.0.0.1, through a server with a `Responder` and a `RevocationList`: memory stays
//! bounded and an allowed caller is still served afterwards.
//!
//! Each bad principal is a distinct token subject with a valid signature and no role, so the
//! policy denies it (403). Each sends two requests, the second after a window of other principals:
//! more principals have open deny counts than the responder may track (so it evicts), and
//! those it still tracks cross the deny threshold and are quarantined, more than the (small)
//! revocation list holds.
//! Run with `--nocapture` to see the figures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod support;

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use support::{Client, Harness, ISSUER, POLICY};
use tower::ServiceBuilder;
use zt_core::{Responder, ResponderConfig, RevocationList, RulePolicy};
use zt_token::{Issuer, KeySource, MintRequest, Validator};
use zt_tower::ZeroTrustLayer;
use zt_tower::serve::SpiffeListener;

/// Distinct bad principals (token subjects).
const PRINCIPALS: usize = 10_000;
/// Requests each bad principal sends: the last one crosses the deny threshold.
const REQUESTS_PER_PRINCIPAL: usize = 2;
/// Keep-alive mTLS connections the flood is spread over.
const CONNECTIONS: usize = 4;
/// Principals a connection denies once before it sends their second requests; with all
/// connections together, more principals have open deny counts than the responder tracks.
const WINDOW: usize = 384;
/// The responder's bound on tracked principals and on tracked token ids.
const MAX_TRACKED: usize = 1_024;
/// The revocation list's bound on run-time entries (quarantines).
const REVOCATION_CAPACITY: usize = 256;
/// Growth of the resident set the flood may cause; generous so that the test cannot flake.
const RSS_GROWTH_BOUND: u64 = 64 * 1024 * 1024;
/// The whole test, minting included, must finish within this.
const HARD_CAP: Duration = Duration::from_secs(60);

/// What the server side exposes to the test.
struct Server {
    revocations: Arc<RevocationList>,
    responder: Arc<Responder>,
    recorded: Arc<AtomicUsize>,
    unrecorded: Arc<AtomicUsize>,
}

/// The most each bounded structure held, sampled after every response.
#[derive(Default)]
struct Peaks {
    principals: AtomicUsize,
    tokens: AtomicUsize,
    revocations: AtomicUsize,
}

impl Peaks {
    fn sample(&self, server: &Server) {
        let principals = server.responder.tracked_principals();
        let tokens = server.responder.tracked_tokens();
        let revocations = server.revocations.runtime_len();
        self.principals.fetch_max(principals, Ordering::Relaxed);
        self.tokens.fetch_max(tokens, Ordering::Relaxed);
        self.revocations.fetch_max(revocations, Ordering::Relaxed);
    }
}

/// Resident set size of this process, in bytes (Linux, 4 KiB pages).
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

async fn ok(_: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::new(Full::from("ok")))
}

/// Serves the support harness's policy on `listener` with a responder and a revocation list.
fn start_server(h: &Harness, listener: SpiffeListener) -> Server {
    let keys = KeySource::from_jwks(&h.minter.jwks()).unwrap();
    let validator = Validator::builder()
        .issuer(Issuer::new(ISSUER, keys).audience("orders"))
        .build()
        .unwrap();
    let policy = RulePolicy::from_toml(POLICY).unwrap();
    let revocations = Arc::new(RevocationList::with_capacity(REVOCATION_CAPACITY));
    let (recorded, unrecorded) = (Arc::default(), Arc::default());
    let (on_recorded, on_unrecorded) = (Arc::clone(&recorded), Arc::clone(&unrecorded));
    let config = ResponderConfig::default()
        .deny_threshold(REQUESTS_PER_PRINCIPAL, Duration::from_secs(60))
        .max_tracked(MAX_TRACKED, MAX_TRACKED);
    let responder = Responder::new(Arc::clone(&revocations), config).on_quarantine(move |q| {
        let counter: &AtomicUsize = if q.recorded {
            &on_recorded
        } else {
            &on_unrecorded
        };
        counter.fetch_add(1, Ordering::Relaxed);
    });
    let responder = Arc::new(responder);
    let layer = ZeroTrustLayer::builder(validator, policy)
        .revocations(Arc::clone(&revocations))
        .responder(Arc::clone(&responder))
        .build();
    let service = ServiceBuilder::new().layer(layer).service_fn(ok);
    tokio::spawn(zt_tower::serve::serve(listener, service));
    Server {
        revocations,
        responder,
        recorded,
        unrecorded,
    }
}

/// One token per bad principal, `bad-0` .. `bad-9999`, without any role; minted on the
/// blocking pool, two halves at once.
async fn mint_bad_tokens(h: &Harness) -> Vec<String> {
    let halves = [0..PRINCIPALS / 2, PRINCIPALS / 2..PRINCIPALS].map(|range| {
        let minter = Arc::clone(&h.minter);
        tokio::task::spawn_blocking(move || {
            range
                .map(|n| {
                    let request = MintRequest::new(format!("bad-{n}"), "orders");
                    minter.mint(&request).unwrap().as_str().to_owned()
                })
                .collect::<Vec<_>>()
        })
    });
    let mut tokens = Vec::with_capacity(PRINCIPALS);
    for half in halves {
        tokens.extend(half.await.unwrap());
    }
    tokens
}

/// Sends each of `tokens` `REQUESTS_PER_PRINCIPAL` times over one keep-alive connection,
/// window by window (every principal of a window once, then again), so that many principals
/// have open deny counts at once; asserts every answer is a 403 and returns the requests sent.
async fn flood_one_connection(
    client: &Client,
    tokens: &[String],
    server: &Server,
    peaks: &Peaks,
) -> usize {
    let tls = client.connect().await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(connection);
    let mut sent = 0;
    for window in tokens.chunks(WINDOW) {
        for _ in 0..REQUESTS_PER_PRINCIPAL {
            for token in window {
                sender.ready().await.unwrap();
                let request = Request::builder()
                    .method(Method::GET)
                    .uri("/orders/42")
                    .header("authorization", format!("Bearer {token}"))
                    .body(Full::<Bytes>::default())
                    .unwrap();
                let response = sender.send_request(request).await.unwrap();
                let status = response.status();
                response.into_body().collect().await.unwrap();
                assert_eq!(status, StatusCode::FORBIDDEN);
                sent += 1;
                peaks.sample(server);
            }
        }
    }
    sent
}

async fn flood_and_check() {
    let mut listener = None;
    let h = Harness::start(|parts| listener = Some(parts.listener)).await;
    let server = Arc::new(start_server(&h, listener.unwrap()));

    let started = Instant::now();
    let tokens = Arc::new(mint_bad_tokens(&h).await);
    let minted_in = started.elapsed();

    let rss_before = rss_bytes();
    let peaks = Arc::new(Peaks::default());
    let flood_started = Instant::now();
    let per_connection = PRINCIPALS.div_ceil(CONNECTIONS);
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|c| {
            let (tokens, server, peaks) =
                (Arc::clone(&tokens), Arc::clone(&server), Arc::clone(&peaks));
            let client = h.client(false);
            tokio::spawn(async move {
                let end = ((c + 1) * per_connection).min(PRINCIPALS);
                let slice = &tokens[c * per_connection..end];
                flood_one_connection(&client, slice, &server, &peaks).await
            })
        })
        .collect();
    let mut requests = 0;
    for task in tasks {
        requests += task.await.unwrap();
    }
    let elapsed = flood_started.elapsed();
    let rss_after = rss_bytes();

    let good = h.token(&["orders.read"]);
    let reply = h
        .client(false)
        .send(Method::GET, "/orders/42", Some(&good), &[])
        .await
        .unwrap();

    let peak_principals = peaks.principals.load(Ordering::Relaxed);
    let peak_tokens = peaks.tokens.load(Ordering::Relaxed);
    let peak_revocations = peaks.revocations.load(Ordering::Relaxed);
    let recorded = server.recorded.load(Ordering::Relaxed);
    let unrecorded = server.unrecorded.load(Ordering::Relaxed);
    println!("bad principals: {PRINCIPALS}, tokens minted in {minted_in:.2?}");
    println!(
        "requests: {requests} over {CONNECTIONS} keep-alive mTLS connections in {elapsed:.2?} \
         ({:.0} req/s)",
        requests as f64 / elapsed.as_secs_f64()
    );
    println!(
        "responder: tracked principals peak {peak_principals} (now {}, cap {MAX_TRACKED}), \
         tracked token ids peak {peak_tokens} (now {}, cap {MAX_TRACKED})",
        server.responder.tracked_principals(),
        server.responder.tracked_tokens(),
    );
    println!(
        "revocation list: run-time entries peak {peak_revocations} (now {}, capacity \
         {REVOCATION_CAPACITY}); quarantines recorded {recorded}, refused as full {unrecorded}",
        server.revocations.runtime_len(),
    );
    println!(
        "rss before {:.1} MiB, after {:.1} MiB, growth {:.1} MiB",
        mib(rss_before),
        mib(rss_after),
        mib(rss_after.saturating_sub(rss_before))
    );

    assert_eq!(requests, PRINCIPALS * REQUESTS_PER_PRINCIPAL);
    assert!(peak_principals <= MAX_TRACKED, "{peak_principals}");
    assert!(peak_tokens <= MAX_TRACKED, "{peak_tokens}");
    assert!(
        peak_revocations <= REVOCATION_CAPACITY,
        "{peak_revocations}"
    );
    assert!(recorded > 0, "the flood quarantined nobody");
    assert!(
        unrecorded > 0,
        "the revocation list never reached its capacity"
    );
    assert!(
        rss_after.saturating_sub(rss_before) < RSS_GROWTH_BOUND,
        "rss grew from {rss_before} to {rss_after} bytes"
    );
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flood_of_ten_thousand_bad_principals_keeps_memory_bounded_and_serves_allowed_callers() {
    tokio::time::timeout(HARD_CAP, flood_and_check())
        .await
        .expect("the load test ran past its 60 s cap");
}
