//! The zt quickstart: the whole of zt in one process, with nothing installed and nothing on
//! disk.
//!
//! It makes a development CA in memory, starts an axum server on 127.0.0.1 with an SVID for
//! `spiffe://example.org/ns/prod/sa/orders` behind the `ZeroTrustLayer` (a TOML policy, a
//! token validator trusting an in-process minter, an audit sink), then a client with its own
//! SVID makes calls that show each outcome. It prints a table of call, expected, got and
//! reason, and exits with status 1 if any outcome differs from the expected one.
//!
//! Run it with `cargo run --example quickstart`.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "an example prints its results"
)]

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::Path;
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::{Method, Request};
use http_body_util::Full;
use tokio::net::TcpListener;
use zt_core::{
    DecisionRecord, Grant, GrantStore, Grantee, ManualClock, MemoryAuditSink, RulePolicy, SpiffeId,
};
use zt_examples::{
    BoxError, MemoryRecorder, MtlsClient, Row, challenge_description, root_cause, table,
};
use zt_mtls::dev::DevCa;
use zt_mtls::{
    Authorizer, SpiffeAcceptor, SpiffeClientVerifier, SpiffeServerVerifier, TrustBundleSet,
};
use zt_token::{Issuer, KeySource, MintRequest, Minter, Validator};
use zt_tower::ZeroTrustLayer;
use zt_tower::axum::{Caller, into_make_service};
use zt_tower::serve::SpiffeListener;

const ISSUER: &str = "https://auth.example.org";
const SERVER_ID: &str = "spiffe://example.org/ns/prod/sa/orders";
const CLIENT_ID: &str = "spiffe://example.org/ns/prod/sa/checkout";
const FOREIGN_ID: &str = "spiffe://evil.example/ns/prod/sa/checkout";

/// Who may do what: reads need `orders.read`, refunds `orders.refund`, nobody deletes.
const POLICY: &str = r#"
[policy]
revision = "quickstart-1"

[[rule]]
name = "orders-read"
effect = "allow"
trust_domains = ["example.org"]
roles = ["orders.read"]
methods = ["GET"]
paths = ["/orders/{id}"]

[[rule]]
name = "orders-refund"
effect = "allow"
trust_domains = ["example.org"]
roles = ["orders.refund"]
methods = ["POST"]
paths = ["/orders/{id}/refund"]

[[rule]]
name = "no-deletes"
effect = "deny"
anyone = true
methods = ["DELETE"]
paths = ["/orders/*"]
"#;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("quickstart could not run: {e} ({})", root_cause(e.as_ref()));
            ExitCode::from(2)
        }
    }
}

/// Everything the calls need: the clients, the token issuer and the server's knobs.
struct Demo {
    client: MtlsClient,
    foreign_client: MtlsClient,
    minter: Minter,
    /// The minter's clock, to mint a token that expired an hour ago.
    issuer_clock: ManualClock,
    /// The server's decision clock, moved forward to let a grant expire.
    server_clock: ManualClock,
    grants: GrantStore,
    audit: MemoryAuditSink,
    /// Numbers the calls, so each finds its own audit record by `x-request-id`.
    calls_made: AtomicU32,
}

async fn run() -> Result<bool, BoxError> {
    // Counts what zt records through the `metrics` facade; a service would install an
    // exporter (Prometheus, OpenTelemetry) instead.
    let recorder = MemoryRecorder::new();
    recorder
        .install()
        .map_err(|_| "a metrics recorder was already installed")?;
    let demo = Demo::start().await?;
    let rows = demo.calls().await?;
    println!("{}", table(&rows));
    println!("metrics recorded by zt:");
    for line in recorder.render("zt_").lines() {
        println!("  {line}");
    }
    println!();
    let failed = rows.iter().filter(|r| !r.passed()).count();
    if failed == 0 {
        println!("all {} calls went as expected", rows.len());
    } else {
        println!("{failed} of {} calls did not go as expected", rows.len());
    }
    Ok(failed == 0)
}

impl Demo {
    async fn start() -> Result<Self, BoxError> {
        // A development CA for example.org, and a foreign one the server does not trust.
        let ca = DevCa::new("example.org".parse()?)?;
        let foreign_ca = DevCa::new("evil.example".parse()?)?;
        let bundles = TrustBundleSet::new().with(ca.bundle()?);
        let server_id: SpiffeId = SERVER_ID.parse()?;

        // The token issuer, and a validator that trusts its public keys.
        let issuer_clock = ManualClock::new(SystemTime::now());
        let minter = Minter::generate_es256(ISSUER)?.with_clock(Arc::new(issuer_clock.clone()));
        let validator = Validator::builder()
            .issuer(Issuer::new(ISSUER, KeySource::from_jwks(&minter.jwks())?).audience("orders"))
            .build()?;

        // The server: mTLS for example.org workloads, then the ZeroTrustLayer.
        let grants = GrantStore::new();
        let policy = RulePolicy::from_toml(POLICY)?.with_grants(grants.clone());
        let server_clock = ManualClock::new(SystemTime::now());
        let audit = MemoryAuditSink::new();
        let zero_trust = ZeroTrustLayer::builder(validator, policy)
            .audit(audit.clone())
            .clock(server_clock.clone())
            .build();
        let verifier = SpiffeClientVerifier::new(
            bundles.clone(),
            Authorizer::member_of(ca.trust_domain().clone()),
        );
        let server_tls = zt_mtls::server_config(ca.issue_svid(&server_id)?, verifier)?;
        let tcp = TcpListener::bind("127.0.0.1:0").await?;
        let addr = tcp.local_addr()?;
        let listener = SpiffeListener::new(tcp, SpiffeAcceptor::new(server_tls));
        let app = orders_app().layer(zero_trust);
        tokio::spawn(async move { axum::serve(listener, into_make_service(app)).await });
        println!("zt quickstart: server {SERVER_ID} on https://{addr}");
        println!("  clients: {CLIENT_ID} and {FOREIGN_ID} (untrusted)");
        println!("  tokens:  ES256 from {ISSUER}, audience `orders`");
        println!("  policy:  orders-read, orders-refund (allow), no-deletes (deny)\n");

        // Two clients: one of example.org, one of a trust domain the server does not know.
        let client_config = |svid, server: &SpiffeId| {
            let verifier =
                SpiffeServerVerifier::new(bundles.clone(), Authorizer::exact(server.clone()));
            zt_mtls::client_config_with(svid, verifier, &zt_examples::http1_tls_options())
        };
        let client_svid = ca.issue_svid(&CLIENT_ID.parse()?)?;
        let foreign_svid = foreign_ca.issue_svid(&FOREIGN_ID.parse()?)?;
        Ok(Self {
            client: MtlsClient::new(client_config(client_svid, &server_id)?, addr),
            foreign_client: MtlsClient::new(client_config(foreign_svid, &server_id)?, addr),
            minter,
            issuer_clock,
            server_clock,
            grants,
            audit,
            calls_made: AtomicU32::new(1),
        })
    }

    /// The calls, in order, each with the outcome it should have.
    async fn calls(&self) -> Result<Vec<Row>, BoxError> {
        let reader = MintRequest::new("checkout", "orders").role("orders.read");
        let minted = self.minter.mint(&reader)?;
        let token = minted.as_str();
        let expired = self.expired_token(&reader)?;
        let tampered = tamper(token)?;
        let (get, post, delete) = (Method::GET, Method::POST, Method::DELETE);
        let order = "/orders/42";
        let refund = "/orders/42/refund";
        let traversal = "/orders/42%2F..%2Fadmin";
        let c = &self.client;

        let mut rows = Vec::new();
        let plan = [
            (
                "GET /orders/42 (role orders.read)",
                "200",
                &get,
                order,
                Some(token),
            ),
            ("DELETE /orders/42", "403", &delete, order, Some(token)),
            ("POST /orders/42/refund", "403", &post, refund, Some(token)),
            (
                "GET /orders/42%2F..%2Fadmin",
                "403",
                &get,
                traversal,
                Some(token),
            ),
            ("GET /orders/42 without a token", "401", &get, order, None),
            (
                "GET /orders/42 expired token",
                "401",
                &get,
                order,
                Some(&expired),
            ),
            (
                "GET /orders/42 tampered token",
                "401",
                &get,
                order,
                Some(&tampered),
            ),
        ];
        for (label, expected, method, path, token) in plan {
            rows.push(self.call(c, label, expected, method, path, token).await);
        }

        // Just in time: a grant of `orders.refund` for five minutes, then ten minutes pass.
        self.grant_refunds(Duration::from_secs(300));
        let label = "POST /orders/42/refund (JIT grant)";
        rows.push(self.call(c, label, "200", &post, refund, Some(token)).await);
        self.server_clock.advance(Duration::from_secs(600));
        let label = "  ... 10 minutes later";
        rows.push(self.call(c, label, "403", &post, refund, Some(token)).await);

        // A workload of a trust domain the server has no bundle for.
        let label = "GET /orders/42 from evil.example";
        let foreign = &self.foreign_client;
        rows.push(
            self.call(foreign, label, "refused", &get, order, Some(token))
                .await,
        );
        Ok(rows)
    }

    /// A token for `request` that expired an hour ago, signed by the trusted key.
    fn expired_token(&self, request: &MintRequest) -> Result<String, BoxError> {
        let now = SystemTime::now();
        self.issuer_clock.set(now - Duration::from_secs(3600));
        let token = self.minter.mint(request);
        self.issuer_clock.set(now);
        Ok(token?.as_str().to_owned())
    }

    fn grant_refunds(&self, lifetime: Duration) {
        self.grants.insert(Grant {
            id: "jit-refund-1".into(),
            grantee: Grantee::subject(ISSUER, "checkout"),
            roles: vec!["orders.refund".to_owned()],
            expires_at: self.server_clock_now() + lifetime,
            reason: "customer ticket 4711".into(),
            approver: "oncall@example.org".into(),
        });
    }

    fn server_clock_now(&self) -> SystemTime {
        zt_core::Clock::now(&self.server_clock)
    }

    /// Sends one request and reports what happened and why.
    async fn call(
        &self,
        client: &MtlsClient,
        label: &str,
        expected: &str,
        method: &Method,
        path: &str,
        token: Option<&str>,
    ) -> Row {
        let request_id = format!("call-{}", self.calls_made.fetch_add(1, Ordering::Relaxed));
        let mut request = Request::builder()
            .method(method.clone())
            .uri(path)
            .header("x-request-id", &request_id);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = request.body(Full::<Bytes>::default());
        let (got, reason) = match request {
            Err(e) => ("error".to_owned(), e.to_string()),
            Ok(request) => match client.send(request).await {
                Ok(reply) => {
                    let reason = self.reason(&request_id, &reply);
                    (reply.status.as_u16().to_string(), reason)
                }
                Err(e) => ("refused".to_owned(), root_cause(e.as_ref())),
            },
        };
        Row {
            call: label.to_owned(),
            expected: expected.to_owned(),
            got,
            reason,
        }
    }

    /// Why the server answered as it did: its audit record, or its 401 challenge.
    fn reason(&self, request_id: &str, reply: &zt_examples::Reply) -> String {
        let records = self.audit.records();
        let record = records
            .iter()
            .rev()
            .find(|r| r.request_id.as_deref() == Some(request_id));
        match record {
            Some(record) => describe(record),
            None => challenge_description(&reply.headers)
                .unwrap_or_else(|| "no bearer token: a bare `Bearer` challenge".to_owned()),
        }
    }
}

/// An audit record in a few words: effect, rule, reason and grant.
fn describe(record: &DecisionRecord) -> String {
    let effect = format!("{:?}", record.effect).to_lowercase();
    let rule = record
        .rule
        .as_deref()
        .map(|r| format!(" by rule `{r}`"))
        .unwrap_or_default();
    let grant = record
        .grant
        .as_deref()
        .map(|g| format!(" (grant {g})"))
        .unwrap_or_default();
    format!("{effect}{rule}: {}{grant}", record.reason)
}

/// `token` with its payload rewritten to claim `orders.refund`, the signature kept.
fn tamper(token: &str) -> Result<String, BoxError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err("the minted token is not a JWS".into());
    };
    let claims = String::from_utf8(URL_SAFE_NO_PAD.decode(payload)?)?;
    let forged = URL_SAFE_NO_PAD.encode(claims.replace("orders.read", "orders.refund"));
    Ok(format!("{header}.{forged}.{signature}"))
}

/// The orders service itself: it only reads who the caller is.
fn orders_app() -> Router {
    Router::new()
        .route("/orders/{id}", get(show_order).delete(delete_order))
        .route("/orders/{id}/refund", post(refund_order))
}

async fn show_order(Caller(caller): Caller, Path(id): Path<String>) -> String {
    let peer = caller
        .peer_id()
        .map(ToString::to_string)
        .unwrap_or_default();
    format!("order {id}, shown to {peer}")
}

async fn delete_order(Path(id): Path<String>) -> String {
    format!("order {id} deleted")
}

async fn refund_order(Caller(caller): Caller, Path(id): Path<String>) -> String {
    let subject = caller
        .subject
        .as_ref()
        .map(|s| s.subject.to_string())
        .unwrap_or_default();
    format!("order {id} refunded for {subject}")
}
