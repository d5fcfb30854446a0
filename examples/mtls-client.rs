//! An mTLS client with your own PKI: it presents the SVID from files named on the command
//! line, checks the server's SPIFFE ID, optionally sends a bearer token, and prints the
//! response.
//!
//! ```text
//! cargo run --example mtls-client -- --connect 127.0.0.1:8443 --cert client.pem \
//!     --key client.key --bundle bundle.pem --trust-domain example.org \
//!     --server-id spiffe://example.org/ns/prod/sa/orders [--token-file token.jwt] \
//!     [--method GET] /orders/42
//! ```
//!
//! Exits with status 0 on a 2xx answer, 1 on any other answer, 2 when the call fails.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "an example prints its results"
)]

use std::process::ExitCode;

use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use zt_examples::args::Args;
use zt_examples::{BoxError, MtlsClient, Reply, http1_tls_options, root_cause};
use zt_mtls::{Authorizer, SpiffeServerVerifier, Svid, TrustBundle, TrustBundleSet};

const USAGE: &str = "usage: mtls-client --connect 127.0.0.1:8443 --cert client.pem \
--key client.key --bundle bundle.pem --trust-domain example.org \
--server-id spiffe://example.org/ns/prod/sa/orders [--token-file token.jwt] [--method GET] PATH";

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(reply) => {
            println!("{}", reply.status);
            println!("{}", String::from_utf8_lossy(&reply.body));
            if reply.status.is_success() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("mtls-client: {e} ({})", root_cause(e.as_ref()));
            ExitCode::from(2)
        }
    }
}

async fn run() -> Result<Reply, BoxError> {
    let args = Args::parse(std::env::args().skip(1), &[]).map_err(|e| format!("{e}\n{USAGE}"))?;
    let svid = Svid::from_pem_files(args.required("cert")?, args.required("key")?)?;
    let trust_domain = args.required("trust-domain")?.parse()?;
    let bundle = TrustBundle::from_file(trust_domain, args.required("bundle")?)?;
    let server_id = args.required("server-id")?.parse()?;
    let verifier = SpiffeServerVerifier::new(
        TrustBundleSet::new().with(bundle),
        Authorizer::exact(server_id),
    );
    let config = zt_mtls::client_config_with(svid, verifier, &http1_tls_options())?;
    let client = MtlsClient::new(config, args.required("connect")?.parse()?);

    let path = args.positional().first().map_or("/", String::as_str);
    let method = args.optional("method").unwrap_or("GET");
    let mut request = Request::builder().method(method).uri(path);
    if let Some(file) = args.optional("token-file") {
        let token = std::fs::read_to_string(file)?;
        request = request.header("authorization", format!("Bearer {}", token.trim()));
    }
    client.send(request.body(Full::<Bytes>::default())?).await
}
