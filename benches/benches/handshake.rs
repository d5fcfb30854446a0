//! Full mutual-TLS 1.3 handshakes in memory (no sockets): the server verifies the client
//! with zt's `SpiffeClientVerifier`, beside rustls' stock `WebPkiClientVerifier` on the same
//! certificates in the same run. Budget: SPIFFE rate at least 0.95 of the WebPki rate.
//!
//! Each timed handshake is followed by an untimed one with the other verifier, so that load
//! from other processes drifts into both rates alike. After the criterion groups, a paired
//! summary alternates the two handshake by handshake and prints both rates and their ratio,
//! which stays meaningful on a loaded machine where two criterion windows do not.
//!
//! Run: `cargo bench -p zt-benches --bench handshake`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::ClientCertVerifier;
use rustls::server::{NoServerSessionStorage, WebPkiClientVerifier};
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};
use zt_mtls::dev::DevCa;
use zt_mtls::{Authorizer, SpiffeClientVerifier, SpiffeServerVerifier, Svid, TrustBundleSet};

struct Fixture {
    client_chain: Vec<CertificateDer<'static>>,
    spiffe_verifier: SpiffeClientVerifier,
    webpki_verifier: Arc<dyn ClientCertVerifier>,
    spiffe_server: Arc<ServerConfig>,
    webpki_server: Arc<ServerConfig>,
    client: Arc<ClientConfig>,
}

fn fixture() -> Fixture {
    let ca = DevCa::new("example.org".parse().unwrap()).unwrap();
    let server_id = "spiffe://example.org/ns/prod/sa/orders".parse().unwrap();
    let server_svid = ca.issue_svid(&server_id).unwrap();
    let client_svid = ca
        .issue_svid(&"spiffe://example.org/ns/prod/sa/web".parse().unwrap())
        .unwrap();
    let bundles = TrustBundleSet::new().with(ca.bundle().unwrap());

    let spiffe_verifier = SpiffeClientVerifier::new(
        bundles.clone(),
        Authorizer::member_of(ca.trust_domain().clone()),
    );
    let spiffe_server =
        zt_mtls::server_config(server_svid.clone(), spiffe_verifier.clone()).unwrap();
    let client_chain = client_svid.chain().to_vec();
    let client = zt_mtls::client_config(
        client_svid,
        SpiffeServerVerifier::new(bundles, Authorizer::exact(server_id)),
    )
    .unwrap();
    Fixture {
        client_chain,
        spiffe_verifier,
        webpki_verifier: webpki_verifier(&ca),
        webpki_server: webpki_server(&ca, &server_svid, &spiffe_server),
        spiffe_server,
        client,
    }
}

/// The stock baseline: same provider, versions, certificate, ALPN and resumption settings as
/// the SPIFFE config; only the client certificate verifier differs.
fn webpki_server(ca: &DevCa, svid: &Svid, like: &ServerConfig) -> Arc<ServerConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = webpki_verifier(ca);
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(svid.chain().to_vec(), svid.private_key())
        .unwrap();
    config.alpn_protocols = like.alpn_protocols.clone();
    config.session_storage = Arc::new(NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    Arc::new(config)
}

/// rustls' stock client verifier trusting the same CA.
fn webpki_verifier(ca: &DevCa) -> Arc<dyn ClientCertVerifier> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = RootCertStore::empty();
    roots.add(ca.cert_der()).unwrap();
    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .unwrap()
}

/// Moves the client's pending TLS records to the server and lets it process them.
fn client_to_server(
    client: &mut ClientConnection,
    server: &mut ServerConnection,
    buf: &mut Vec<u8>,
) {
    buf.clear();
    while client.wants_write() {
        client.write_tls(buf).unwrap();
    }
    let mut input = &buf[..];
    while !input.is_empty() {
        server.read_tls(&mut input).unwrap();
    }
    server.process_new_packets().unwrap();
}

/// Moves the server's pending TLS records to the client and lets it process them.
fn server_to_client(
    server: &mut ServerConnection,
    client: &mut ClientConnection,
    buf: &mut Vec<u8>,
) {
    buf.clear();
    while server.wants_write() {
        server.write_tls(buf).unwrap();
    }
    let mut input = &buf[..];
    while !input.is_empty() {
        client.read_tls(&mut input).unwrap();
    }
    client.process_new_packets().unwrap();
}

/// One full mutual-TLS handshake, both sides in memory.
fn handshake(server_config: &Arc<ServerConfig>, client_config: &Arc<ClientConfig>) {
    let name = ServerName::try_from("localhost").unwrap();
    let mut client = ClientConnection::new(Arc::clone(client_config), name).unwrap();
    let mut server = ServerConnection::new(Arc::clone(server_config)).unwrap();
    let mut buf = Vec::with_capacity(16 * 1024);
    for _ in 0..8 {
        if !client.is_handshaking() && !server.is_handshaking() {
            break;
        }
        client_to_server(&mut client, &mut server, &mut buf);
        server_to_client(&mut server, &mut client, &mut buf);
    }
    assert!(!server.is_handshaking() && !client.is_handshaking());
    assert!(server.peer_certificates().is_some());
    black_box((client, server));
}

fn bench_handshakes(c: &mut Criterion) {
    let f = fixture();
    let mut group = c.benchmark_group("mtls_handshake");
    group.throughput(Throughput::Elements(1));
    group.bench_function("spiffe_client_verifier", |b| {
        b.iter_custom(|iters| interleaved(&f.spiffe_server, &f.webpki_server, &f.client, iters));
    });
    group.bench_function("webpki_client_verifier", |b| {
        b.iter_custom(|iters| interleaved(&f.webpki_server, &f.spiffe_server, &f.client, iters));
    });
    group.finish();
}

/// Times `iters` handshakes against `measured`, each followed by an untimed one against
/// `other`, so that load from other processes on a shared machine hits both alike.
fn interleaved(
    measured: &Arc<ServerConfig>,
    other: &Arc<ServerConfig>,
    client: &Arc<ClientConfig>,
    iters: u64,
) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let start = Instant::now();
        handshake(measured, client);
        total += start.elapsed();
        handshake(other, client);
    }
    total
}

/// The client certificate check alone, the only part that differs between the handshakes.
fn bench_verifiers(c: &mut Criterion) {
    let fixture = fixture();
    let (leaf, intermediates) = (&fixture.client_chain[0], &fixture.client_chain[1..]);
    let now = UnixTime::now();
    let mut group = c.benchmark_group("client_cert_verify");
    group.bench_function("spiffe_client_verifier", |b| {
        b.iter(|| {
            fixture
                .spiffe_verifier
                .verify_client_cert(black_box(leaf), intermediates, now)
                .unwrap()
        });
    });
    group.bench_function("webpki_client_verifier", |b| {
        b.iter(|| {
            fixture
                .webpki_verifier
                .verify_client_cert(black_box(leaf), intermediates, now)
                .unwrap()
        });
    });
    group.bench_function("x509_svid_rules_only", |b| {
        b.iter(|| zt_mtls::parse_x509_svid(black_box(leaf)).unwrap());
    });
    group.finish();
}

/// Handshake rates measured pairwise: the two verifiers alternate one handshake at a time
/// (order flipped each round), so both see the same background load, which on a shared
/// machine moves far more between two criterion windows than the verifiers differ.
#[allow(
    clippy::print_stderr,
    reason = "a benchmark reports its summary on stderr"
)]
fn paired_summary() {
    const ROUNDS: usize = 2_000;
    let f = fixture();
    let mut spiffe = Vec::with_capacity(ROUNDS);
    let mut webpki = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        let time = |server: &Arc<ServerConfig>| {
            let start = Instant::now();
            handshake(server, &f.client);
            start.elapsed()
        };
        if round % 2 == 0 {
            spiffe.push(time(&f.spiffe_server));
            webpki.push(time(&f.webpki_server));
        } else {
            webpki.push(time(&f.webpki_server));
            spiffe.push(time(&f.spiffe_server));
        }
    }
    let (spiffe, webpki) = (median(&mut spiffe), median(&mut webpki));
    let rate = |d: Duration| 1.0 / d.as_secs_f64();
    eprintln!(
        "mtls_handshake paired ({ROUNDS} rounds): spiffe {:.0}/s (median {spiffe:?}), \
         webpki {:.0}/s (median {webpki:?}), ratio spiffe/webpki {:.3} (budget >= 0.95)",
        rate(spiffe),
        rate(webpki),
        rate(spiffe) / rate(webpki),
    );
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

criterion_group!(benches, bench_verifiers, bench_handshakes);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    // Only in benchmark mode (`cargo bench`), not when `cargo test` smoke-runs benches.
    if std::env::args().any(|arg| arg == "--bench") {
        paired_summary();
    }
}
