//! A zero-trust server on 127.0.0.1 and mTLS clients, shared by the socket tests.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code, unreachable_pub)]

pub mod scenarios;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::{TcpListener, TcpStream};
use zt_core::{Grant, GrantStore, Grantee, ManualClock, MemoryAuditSink, RulePolicy, SpiffeId};
use zt_mtls::dev::DevCa;
use zt_mtls::{
    Authorizer, SpiffeAcceptor, SpiffeClientVerifier, SpiffeConnector, SpiffeServerVerifier,
    TlsOptions, TrustBundleSet,
};
use zt_token::{Issuer, KeySource, MintRequest, Minter, Validator};
use zt_tower::serve::SpiffeListener;
use zt_tower::{TokenRequirement, ZeroTrustLayer};

pub const ISSUER: &str = "https://auth.example.org";
pub const SERVER_ID: &str = "spiffe://example.org/ns/prod/sa/orders";
pub const CLIENT_ID: &str = "spiffe://example.org/ns/prod/sa/checkout";
pub const FOREIGN_ID: &str = "spiffe://evil.example/ns/prod/sa/checkout";

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub const POLICY: &str = r#"
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
name = "health"
effect = "allow"
trust_domains = ["example.org"]
methods = ["GET"]
paths = ["/health"]

[[rule]]
name = "no-deletes"
effect = "deny"
anyone = true
methods = ["DELETE"]
paths = ["/orders/*"]
"#;

/// Everything about one test server: its PKI, its token issuer and its knobs.
pub struct Harness {
    pub addr: SocketAddr,
    pub ca: DevCa,
    pub foreign_ca: DevCa,
    pub bundles: TrustBundleSet,
    pub minter: Arc<Minter>,
    pub issuer_clock: ManualClock,
    pub server_clock: ManualClock,
    pub grants: GrantStore,
    pub audit: MemoryAuditSink,
}

/// The pieces a server needs before it is started.
pub struct ServerParts {
    pub layer: ZeroTrustLayer<Validator>,
    pub listener: SpiffeListener,
}

impl Harness {
    /// Builds the PKI, issuer and policy, and starts a server with `start`; every request
    /// needs a token.
    pub async fn start(start: impl FnOnce(ServerParts)) -> Self {
        Self::start_with(TokenRequirement::Required, start).await
    }

    /// As [`Harness::start`], with `requirement` for tokens.
    pub async fn start_with(
        requirement: TokenRequirement,
        start: impl FnOnce(ServerParts),
    ) -> Self {
        let ca = DevCa::new("example.org".parse().unwrap()).unwrap();
        let foreign_ca = DevCa::new("evil.example".parse().unwrap()).unwrap();
        let bundles = TrustBundleSet::new().with(ca.bundle().unwrap());

        let issuer_clock = ManualClock::new(SystemTime::now());
        let minter = Minter::generate_es256(ISSUER)
            .unwrap()
            .with_clock(Arc::new(issuer_clock.clone()));
        let minter = Arc::new(minter);
        let keys = KeySource::from_jwks(&minter.jwks()).unwrap();
        let validator = Validator::builder()
            .issuer(Issuer::new(ISSUER, keys).audience("orders"))
            .build()
            .unwrap();

        let grants = GrantStore::new();
        let policy = RulePolicy::from_toml(POLICY)
            .unwrap()
            .with_grants(grants.clone());
        let server_clock = ManualClock::new(SystemTime::now());
        let audit = MemoryAuditSink::new();
        let layer = ZeroTrustLayer::builder(validator, policy)
            .token_requirement(requirement)
            .audit(audit.clone())
            .clock(server_clock.clone())
            .build();

        let verifier = SpiffeClientVerifier::new(
            bundles.clone(),
            Authorizer::member_of(ca.trust_domain().clone()),
        );
        let svid = ca.issue_svid(&SERVER_ID.parse().unwrap()).unwrap();
        let server_tls = zt_mtls::server_config(svid, verifier).unwrap();
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let listener = SpiffeListener::new(tcp, SpiffeAcceptor::new(server_tls))
            .with_handshake_timeout(Duration::from_secs(30));
        start(ServerParts { layer, listener });

        Self {
            addr,
            ca,
            foreign_ca,
            bundles,
            minter,
            issuer_clock,
            server_clock,
            grants,
            audit,
        }
    }

    /// A client of example.org.
    pub fn client(&self, http2: bool) -> Client {
        let svid = self.ca.issue_svid(&CLIENT_ID.parse().unwrap()).unwrap();
        self.client_with(svid, http2)
    }

    /// A client of a trust domain the server has no bundle for.
    pub fn foreign_client(&self) -> Client {
        let svid = self
            .foreign_ca
            .issue_svid(&FOREIGN_ID.parse().unwrap())
            .unwrap();
        self.client_with(svid, false)
    }

    fn client_with(&self, svid: zt_mtls::Svid, http2: bool) -> Client {
        let server: SpiffeId = SERVER_ID.parse().unwrap();
        let verifier = SpiffeServerVerifier::new(self.bundles.clone(), Authorizer::exact(server));
        let mut options = TlsOptions::default();
        let alpn: &[u8] = if http2 { b"h2" } else { b"http/1.1" };
        options.alpn_protocols = vec![alpn.to_vec()];
        let config = zt_mtls::client_config_with(svid, verifier, &options).unwrap();
        Client {
            connector: SpiffeConnector::new(config),
            addr: self.addr,
            http2,
        }
    }

    /// A valid token for the client's subject with `roles`.
    pub fn token(&self, roles: &[&str]) -> String {
        let request = roles
            .iter()
            .fold(MintRequest::new("checkout", "orders"), |r, role| {
                r.role(*role)
            });
        self.minter.mint(&request).unwrap().as_str().to_owned()
    }

    /// A token that expired an hour ago, signed with the trusted key.
    pub fn expired_token(&self) -> String {
        let now = SystemTime::now();
        self.issuer_clock.set(now - Duration::from_secs(3600));
        let token = self.token(&["orders.read"]);
        self.issuer_clock.set(now);
        token
    }

    /// Grants `orders.refund` to the client's subject for `lifetime` of server time.
    pub fn grant_refunds(&self, lifetime: Duration) {
        let now = zt_core::Clock::now(&self.server_clock);
        self.grants.insert(Grant {
            id: "jit-1".into(),
            grantee: Grantee::subject(ISSUER, "checkout"),
            roles: vec!["orders.refund".to_owned()],
            expires_at: now + lifetime,
            reason: "ticket 1".into(),
            approver: "oncall".into(),
        });
    }
}

/// An mTLS HTTP client opening one connection per call.
pub struct Client {
    connector: SpiffeConnector,
    addr: SocketAddr,
    http2: bool,
}

/// What a call got back.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

impl Client {
    /// Sends `method path` with `token` and extra `headers`, within five seconds.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Result<Reply, BoxError> {
        let mut request = Request::builder().method(method).uri(path);
        if self.http2 {
            request = request.uri(format!("https://orders.example.org{path}"));
        }
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Full::<Bytes>::default())?;
        let call = self.send_request(request);
        tokio::time::timeout(Duration::from_secs(5), call).await?
    }

    /// A completed mTLS connection to the server, for writing raw bytes.
    pub async fn connect(&self) -> Result<tokio_rustls::client::TlsStream<TcpStream>, BoxError> {
        let tcp = TcpStream::connect(self.addr).await?;
        let (tls, _) = self.connector.connect(tcp).await?;
        Ok(tls)
    }

    /// Sends `request` as it is, on a new connection.
    pub async fn send_request(&self, request: Request<Full<Bytes>>) -> Result<Reply, BoxError> {
        let tcp = TcpStream::connect(self.addr).await?;
        let (tls, _) = self.connector.connect(tcp).await?;
        let io = TokioIo::new(tls);
        let response = if self.http2 {
            let (mut sender, connection) =
                hyper::client::conn::http2::handshake(TokioExecutor::new(), io).await?;
            tokio::spawn(connection);
            sender.send_request(request).await?
        } else {
            let (mut sender, connection) = hyper::client::conn::http1::handshake(io).await?;
            tokio::spawn(connection);
            sender.send_request(request).await?
        };
        let (parts, body) = response.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(Reply {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8(body.to_vec())?,
        })
    }
}
