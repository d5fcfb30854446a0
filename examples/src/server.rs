//! The server of the `mtls-server` example, as a library function so tests (and curl) can
//! run it in process: an axum app behind the `ZeroTrustLayer`, with its SVID, trust bundle,
//! policy and JWKS read from files. The SVID, bundle and JWKS files are re-read when they
//! change; the policy is read once.

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::Router;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use zt_core::{RulePolicy, TracingAuditSink, TrustDomain};
use zt_mtls::{
    Authorizer, BundleFileSource, PemFileSvidSource, SpiffeAcceptor, SpiffeClientVerifier,
};
use zt_token::{Issuer, KeySource, Validator};
use zt_tower::axum::{Caller, into_make_service};
use zt_tower::serve::SpiffeListener;
use zt_tower::{TokenRequirement, ZeroTrustLayer};

use crate::BoxError;
use crate::args::Args;

/// What `mtls-server` reads from its command line.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The server's X509-SVID chain, PEM.
    pub cert: PathBuf,
    /// The SVID's private key, PEM (PKCS#8, SEC1 or PKCS#1).
    pub key: PathBuf,
    /// The trust domain whose workloads may connect.
    pub trust_domain: TrustDomain,
    /// That trust domain's CA certificates, PEM.
    pub bundle: PathBuf,
    /// The TOML policy.
    pub policy: PathBuf,
    /// The token issuer's JWKS, JSON.
    pub jwks: PathBuf,
    /// The `iss` the tokens carry.
    pub issuer: String,
    /// The audience the tokens must name.
    pub audience: String,
    /// Whether workloads authenticated by mTLS alone may call without a token.
    pub token_optional: bool,
}

/// The usage text of `mtls-server`.
pub const SERVER_USAGE: &str = "usage: mtls-server --cert svid.pem --key svid.key \
--bundle bundle.pem --trust-domain example.org --policy policy.toml --jwks jwks.json \
--issuer https://issuer.example --audience orders [--listen 127.0.0.1:8443] [--token-optional]";

impl ServerConfig {
    /// Reads the command line (without the program name).
    ///
    /// # Errors
    ///
    /// A message naming the missing or malformed flag.
    pub fn from_args(args: impl IntoIterator<Item = String>) -> Result<Self, String> {
        let args = Args::parse(args, &["token-optional"])?;
        let listen = args.optional("listen").unwrap_or("127.0.0.1:8443");
        Ok(Self {
            listen: listen.parse().map_err(|e| format!("--listen: {e}"))?,
            cert: args.required("cert")?.into(),
            key: args.required("key")?.into(),
            trust_domain: args
                .required("trust-domain")?
                .parse()
                .map_err(|e| format!("--trust-domain: {e}"))?,
            bundle: args.required("bundle")?.into(),
            policy: args.required("policy")?.into(),
            jwks: args.required("jwks")?.into(),
            issuer: args.required("issuer")?.to_owned(),
            audience: args.required("audience")?.to_owned(),
            token_optional: args.switch("token-optional"),
        })
    }
}

/// Starts the server; returns the address it listens on and the task serving it.
///
/// # Errors
///
/// When a file cannot be read or parsed, or the address cannot be bound.
pub async fn start_server(config: &ServerConfig) -> Result<(SocketAddr, JoinHandle<()>), BoxError> {
    // Identity and trust: files watched and re-read when they change.
    let svid = PemFileSvidSource::watch(config.cert.clone(), config.key.clone())?;
    let bundles = BundleFileSource::watch([(config.trust_domain.clone(), config.bundle.clone())])?;
    let verifier =
        SpiffeClientVerifier::new(bundles, Authorizer::member_of(config.trust_domain.clone()));
    let tls = zt_mtls::server_config(svid, verifier)?;

    // Tokens and policy.
    let keys = KeySource::jwks_file(&config.jwks)?;
    let issuer = Issuer::new(config.issuer.clone(), keys).audience(config.audience.clone());
    let validator = Validator::builder().issuer(issuer).build()?;
    let policy = RulePolicy::from_path(&config.policy)?;
    let requirement = if config.token_optional {
        TokenRequirement::OptionalForVerifiedPeers
    } else {
        TokenRequirement::Required
    };
    let layer = ZeroTrustLayer::builder(validator, policy)
        .token_requirement(requirement)
        .audit(TracingAuditSink::new())
        .build();

    let app = Router::new().fallback(whoami).layer(layer);
    let tcp = TcpListener::bind(config.listen).await?;
    let addr = tcp.local_addr()?;
    let listener = SpiffeListener::new(tcp, SpiffeAcceptor::new(tls));
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, into_make_service(app)).await {
            tracing::warn!(error = %e, "mtls-server stopped");
        }
    });
    Ok((addr, task))
}

/// Every allowed request is answered with who called and what.
async fn whoami(Caller(caller): Caller, uri: http::Uri) -> String {
    let peer = caller.peer_id().map(ToString::to_string);
    let subject = caller.subject.as_ref().map(|s| s.subject.to_string());
    format!(
        "allowed {} for peer {} subject {}\n",
        uri.path(),
        peer.as_deref().unwrap_or("-"),
        subject.as_deref().unwrap_or("-")
    )
}
