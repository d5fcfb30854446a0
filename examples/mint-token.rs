//! Mints a short-lived ES256 token with a PKCS#8 key file, and writes the matching JWKS, so
//! `mtls-server` and `mtls-client` (or curl) can be tried with tokens.
//!
//! ```text
//! openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out minter.pem
//! openssl pkcs8 -topk8 -nocrypt -outform DER -in minter.pem -out minter.p8
//! cargo run --example mint-token -- --key minter.p8 --issuer https://issuer.example \
//!     --audience orders --subject alice --role orders.read --jwks-out jwks.json > token.jwt
//! ```
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "an example prints its results"
)]

use std::process::ExitCode;
use std::time::Duration;

use zt_examples::BoxError;
use zt_examples::args::Args;
use zt_token::{MintAlgorithm, MintRequest, Minter};

const USAGE: &str = "usage: mint-token --key minter.p8 (PKCS#8 DER) --issuer URL --audience AUD \
--subject SUB [--role ROLE] [--lifetime-secs 300] [--jwks-out jwks.json]";

fn main() -> ExitCode {
    match run() {
        Ok(token) => {
            println!("{token}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mint-token: {e}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<String, BoxError> {
    let args = Args::parse(std::env::args().skip(1), &[])?;
    let key = std::fs::read(args.required("key")?)?;
    let minter = Minter::from_pkcs8(args.required("issuer")?, MintAlgorithm::Es256, &key)?;
    if let Some(path) = args.optional("jwks-out") {
        std::fs::write(path, minter.jwks().to_string())?;
    }
    let mut request = MintRequest::new(args.required("subject")?, args.required("audience")?);
    if let Some(role) = args.optional("role") {
        request = request.role(role);
    }
    if let Some(secs) = args.optional("lifetime-secs") {
        request = request.lifetime(Duration::from_secs(secs.parse()?));
    }
    Ok(minter.mint(&request)?.as_str().to_owned())
}
