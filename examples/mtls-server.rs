//! An mTLS server behind the `ZeroTrustLayer`, with your own PKI: SVID, key, trust bundle,
//! policy and JWKS come from files named on the command line.
//!
//! ```text
//! cargo run --example mtls-server -- --cert svid.pem --key svid.key \
//!     --bundle bundle.pem --trust-domain example.org --policy policy.toml \
//!     --jwks jwks.json --issuer https://issuer.example --audience orders
//! ```
//!
//! Every allowed request is answered with the caller's SPIFFE ID and token subject; set
//! `RUST_LOG=zt_core=debug,zt_tower=debug` to see each decision.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "an example prints its results"
)]

use std::process::ExitCode;

use tracing_subscriber::EnvFilter;
use zt_examples::server::{SERVER_USAGE, ServerConfig, start_server};

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::from_default_env())
        .init();
    let config = match ServerConfig::from_args(std::env::args().skip(1)) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("{e}\n{SERVER_USAGE}");
            return ExitCode::from(2);
        }
    };
    match start_server(&config).await {
        Ok((addr, task)) => {
            println!("mtls-server listening on https://{addr}");
            let _ = task.await;
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mtls-server could not start: {e}");
            ExitCode::from(1)
        }
    }
}
