//! Feeds arbitrary bytes to `zt_token::Validator::validate` with a fixed ES256 key set.
//!
//! The seeds in `fuzz/corpus/token_validate/` are tokens minted with the same fixed key at the
//! same fixed time (a valid one, an elevated one, a certificate-bound one), so that mutations
//! reach every rule up to and past the signature check and the cache.
//!
//! A static key source never waits, so each validation is polled once with a no-op waker
//! instead of a tokio runtime (this crate has no tokio dependency); a validation that does
//! wait is a finding.
#![no_main]

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, UNIX_EPOCH};

use zt_core::ManualClock;
use zt_token::{Issuer, KeySource, MintAlgorithm, Minter, Validator};

/// Test-only P-256 key (PKCS#8 DER, hex); it signs nothing outside this fuzz target.
const KEY_HEX: &str = concat!(
    "308187020100301306072a8648ce3d020106082a8648ce3d030107046d306b02",
    "01010420fe7ddfc906937f95c2b81b8958274bde76b1ba133850c6ae3f0bd710",
    "ec042970a1440342000455ce67938ceb9252c89b641caa2d6abe83a227196b6d",
    "b4900d74018a1d0975ccd95e932cf61b0f33e8a03b72d9fcd56e22125bc3956f",
    "0478c78739e756468fbd",
);
const ISSUER: &str = "https://fuzz.example";
const AUDIENCE: &str = "fuzz";
/// The time the seeds were minted at.
const NOW: u64 = 1_700_000_000;

fn validator() -> &'static Validator {
    static VALIDATOR: OnceLock<Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let minter = Minter::from_pkcs8(ISSUER, MintAlgorithm::Es256, &key()).unwrap();
        let keys = KeySource::from_jwks(&minter.jwks()).unwrap();
        Validator::builder()
            .issuer(Issuer::new(ISSUER, keys).audience(AUDIENCE))
            .clock(Arc::new(ManualClock::new(
                UNIX_EPOCH + Duration::from_secs(NOW),
            )))
            .cache_capacity(64)
            .build()
            .unwrap()
    })
}

fn key() -> Vec<u8> {
    (0..KEY_HEX.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&KEY_HEX[i..i + 2], 16).unwrap())
        .collect()
}

fn ready<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("validation with a static key source waited"),
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let token = String::from_utf8_lossy(data);
    let result = ready(validator().validate(&token, None));
    if let Err(error) = result {
        // Rejections never echo the token. (No error text holds a `.`, so a token with one
        // cannot appear in it by chance; shorter inputs could match words of the message.)
        if token.contains('.') {
            assert!(!error.to_string().contains(token.as_ref()));
        }
    }
});
