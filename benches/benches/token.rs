//! Token validation (zt-token) beside jsonwebtoken's own `decode` of the same token.
//!
//! Budgets (DESIGN.md): a token not seen before costs under 1.1x jsonwebtoken's `decode` with
//! the same algorithm; a token already verified costs under 1 microsecond.
//!
//! Run: `cargo bench -p zt-benches --bench token`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{SystemTime, UNIX_EPOCH};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Value, json};
use zt_token::{Issuer, KeySource, MintRequest, Minter, Validator};

const ISS: &str = "https://idp.example.org";
const AUD: &str = "orders";
const RSA_2048: &str = include_str!("../../zt-token/tests/fixtures/rsa2048.pem");

/// One algorithm's token with its JWKS and jsonwebtoken key.
struct Case {
    name: &'static str,
    alg: Algorithm,
    token: String,
    jwks: Value,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn rs256_case() -> Case {
    let key = EncodingKey::from_rsa_pem(RSA_2048.as_bytes()).unwrap();
    let mut jwk = serde_json::to_value(
        jsonwebtoken::jwk::Jwk::from_encoding_key(&key, Algorithm::RS256).unwrap(),
    )
    .unwrap();
    jwk["kid"] = json!("rsa");
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("rsa".into());
    let claims = json!({
        "iss": ISS, "sub": "alice", "aud": AUD, "iat": now(), "exp": now() + 600,
        "jti": "bench", "roles": ["reader"],
    });
    Case {
        name: "RS256",
        alg: Algorithm::RS256,
        token: jsonwebtoken::encode(&header, &claims, &key).unwrap(),
        jwks: json!({ "keys": [jwk] }),
    }
}

fn minter_case(name: &'static str, alg: Algorithm, minter: Minter) -> Case {
    let minter = minter.with_lifetime(std::time::Duration::from_secs(600));
    let token = minter
        .mint(&MintRequest::new("alice", AUD).role("reader"))
        .unwrap();
    Case {
        name,
        alg,
        token: token.as_str().to_owned(),
        jwks: minter.jwks(),
    }
}

fn cases() -> Vec<Case> {
    vec![
        rs256_case(),
        minter_case(
            "ES256",
            Algorithm::ES256,
            Minter::generate_es256(ISS).unwrap(),
        ),
        minter_case(
            "EdDSA",
            Algorithm::EdDSA,
            Minter::generate_ed25519(ISS).unwrap(),
        ),
    ]
}

fn issuer(case: &Case) -> Issuer {
    Issuer::new(ISS, KeySource::from_jwks(&case.jwks).unwrap()).audience(AUD)
}

fn validator(issuer: &Issuer) -> Validator {
    Validator::builder().issuer(issuer.clone()).build().unwrap()
}

/// Polls a validation to completion; a static key source never waits.
fn ready<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("a static key source never waits"),
    }
}

fn jsonwebtoken_key(case: &Case) -> DecodingKey {
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(case.jwks["keys"][0].clone()).unwrap();
    DecodingKey::from_jwk(&jwk).unwrap()
}

fn not_yet_seen(c: &mut Criterion) {
    let mut group = c.benchmark_group("token/not_yet_seen");
    for case in cases() {
        // Both sides are timed one call at a time (`PerIteration`), so they carry the same
        // timer overhead, a few tens of nanoseconds against tens of microseconds.
        let key = jsonwebtoken_key(&case);
        let mut validation = Validation::new(case.alg);
        validation.set_audience(&[AUD]);
        validation.set_issuer(&[ISS]);
        jsonwebtoken::decode::<Value>(&case.token, &key, &validation).unwrap();
        group.bench_function(format!("jsonwebtoken_decode/{}", case.name), |b| {
            b.iter_batched(
                || (),
                |()| jsonwebtoken::decode::<Value>(black_box(&case.token), &key, &validation),
                BatchSize::PerIteration,
            )
        });

        // The cache is cleared before each call (outside the timing), so every call does
        // the whole work: decode, checks, key lookup, signature and cache insertion.
        let validator = validator(&issuer(&case));
        ready(validator.validate(&case.token, None)).unwrap();
        group.bench_function(format!("zt_validate/{}", case.name), |b| {
            b.iter_batched(
                || validator.clear_cache(),
                |()| ready(validator.validate(black_box(&case.token), None)),
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

fn already_seen(c: &mut Criterion) {
    let mut group = c.benchmark_group("token/already_seen");
    for case in cases() {
        let validator = validator(&issuer(&case));
        ready(validator.validate(&case.token, None)).unwrap();
        group.bench_function(format!("zt_validate/{}", case.name), |b| {
            b.iter(|| ready(validator.validate(black_box(&case.token), None)).unwrap())
        });
    }
    group.finish();
}

criterion_group!(benches, not_yet_seen, already_seen);
criterion_main!(benches);
