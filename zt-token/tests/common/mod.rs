//! Test keys, hand-made tokens and validators shared by the zt-token tests.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};
use zt_core::ManualClock;
use zt_token::{Issuer, KeySource, Validator};

pub const ISS: &str = "https://idp.example.org";
pub const AUD: &str = "orders";
/// The time the manual clock stands at.
pub const NOW: u64 = 1_700_000_000;

pub const RSA_2048: &str = include_str!("../fixtures/rsa2048.pem");

/// A private key with its public JWK.
pub struct TestKey {
    pub kid: String,
    pub alg: Algorithm,
    pub key: EncodingKey,
    pub jwk: Value,
}

impl TestKey {
    pub fn es256(kid: &str) -> Self {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        let point = pair.public_key().as_ref();
        let jwk = json!({
            "kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig",
            "x": b64(&point[1..33]), "y": b64(&point[33..65]),
        });
        Self {
            kid: kid.into(),
            alg: Algorithm::ES256,
            key: EncodingKey::from_ec_der(pkcs8.as_ref()),
            jwk,
        }
    }

    pub fn ed25519(kid: &str) -> Self {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let jwk = json!({
            "kty": "OKP", "crv": "Ed25519", "kid": kid, "alg": "EdDSA",
            "x": b64(pair.public_key().as_ref()),
        });
        Self {
            kid: kid.into(),
            alg: Algorithm::EdDSA,
            key: EncodingKey::from_ed_der(pkcs8.as_ref()),
            jwk,
        }
    }

    pub fn rsa(kid: &str, pem: &str) -> Self {
        let key = EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
        let mut jwk = serde_json::to_value(
            jsonwebtoken::jwk::Jwk::from_encoding_key(&key, Algorithm::RS256).unwrap(),
        )
        .unwrap();
        jwk["kid"] = json!(kid);
        Self {
            kid: kid.into(),
            alg: Algorithm::RS256,
            key,
            jwk,
        }
    }

    /// The standard header: this key's `alg` and `kid`, `typ: at+jwt`.
    pub fn header(&self) -> Value {
        json!({ "alg": format!("{:?}", self.alg), "kid": self.kid, "typ": "at+jwt" })
    }

    /// Signs exactly the given header and claims JSON.
    pub fn sign_raw(&self, header: &str, claims: &str) -> String {
        let input = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
        let sig = jsonwebtoken::crypto::sign(input.as_bytes(), &self.key, self.alg).unwrap();
        format!("{input}.{sig}")
    }

    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        self.sign_raw(&header.to_string(), &claims.to_string())
    }

    /// A token with the standard header.
    pub fn token(&self, claims: &Value) -> String {
        self.sign(&self.header(), claims)
    }
}

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn jwks(keys: &[&TestKey]) -> Value {
    json!({ "keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() })
}

/// Valid claims at [`NOW`], living 5 minutes.
pub fn claims() -> Value {
    json!({
        "iss": ISS, "sub": "alice", "aud": AUD,
        "iat": NOW, "exp": NOW + 300, "jti": "t1", "scope": "read write",
    })
}

pub fn clock() -> ManualClock {
    ManualClock::new(UNIX_EPOCH + Duration::from_secs(NOW))
}

pub fn issuer(keys: &[&TestKey]) -> Issuer {
    Issuer::new(ISS, KeySource::from_jwks(&jwks(keys)).unwrap())
        .audience(AUD)
        .leeway(Duration::ZERO)
}

pub fn validator_with(issuer: Issuer, clock: &ManualClock) -> Validator {
    Validator::builder()
        .issuer(issuer)
        .clock(Arc::new(clock.clone()))
        .build()
        .unwrap()
}

pub fn validator(keys: &[&TestKey]) -> (Validator, ManualClock) {
    let clock = clock();
    (validator_with(issuer(keys), &clock), clock)
}

/// Polls a future that never waits (static keys) to completion.
pub fn now_or_never<F: std::future::Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(out) => out,
        std::task::Poll::Pending => panic!("validation waited on a static key source"),
    }
}

/// Validates without a peer, synchronously.
pub fn check(
    validator: &Validator,
    token: &str,
) -> Result<Arc<zt_core::Subject>, zt_token::TokenError> {
    now_or_never(validator.validate(token, None))
}
