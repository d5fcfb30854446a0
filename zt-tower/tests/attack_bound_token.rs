//! A stolen certificate-bound token replayed over another client certificate.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::AUTHORIZATION;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use tower::{Layer, ServiceExt, service_fn};
use zt_core::{
    CertThumbprint, PeerIdentity, Principal, Responder, ResponderConfig, RevocationList, SpiffeId,
    Subject, TransportIdentity,
};
use zt_token::{Issuer, KeySource, MintRequest, Minter, Validator};
use zt_tower::AuthenticateLayer;

const ISSUER: &str = "https://auth.example.org";

fn peer(id: &str, thumbprint: u8) -> Arc<PeerIdentity> {
    Arc::new(PeerIdentity {
        spiffe_id: SpiffeId::new(id).unwrap(),
        thumbprint: CertThumbprint([thumbprint; 32]),
        not_after: SystemTime::now() + Duration::from_secs(3600),
    })
}

struct Setup {
    minter: Minter,
    validator: Validator,
    revocations: Arc<RevocationList>,
    layer: AuthenticateLayer<Validator>,
}

fn setup() -> Setup {
    let minter = Minter::generate_es256(ISSUER).unwrap();
    let keys = KeySource::from_jwks(&minter.jwks()).unwrap();
    let validator = Validator::builder()
        .issuer(Issuer::new(ISSUER, keys).audience("orders"))
        .build()
        .unwrap();
    let revocations = Arc::new(RevocationList::new());
    let responder = Arc::new(Responder::new(
        Arc::clone(&revocations),
        ResponderConfig::default(),
    ));
    let layer = AuthenticateLayer::new(validator.clone()).with_responder(responder);
    Setup {
        minter,
        validator,
        revocations,
        layer,
    }
}

async fn send(setup: &Setup, token: &str, peer: Arc<PeerIdentity>) -> StatusCode {
    let service = setup
        .layer
        .layer(service_fn(|_: Request<Full<Bytes>>| async {
            Ok::<_, Infallible>(Response::new(Full::<Bytes>::default()))
        }));
    let mut request = Request::get("/orders/1")
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .body(Full::default())
        .unwrap();
    request
        .extensions_mut()
        .insert(TransportIdentity::Verified(peer));
    service.oneshot(request).await.unwrap().status()
}

fn subject_principal(subject: &str) -> Principal {
    Principal {
        subject: Some(Arc::new(Subject {
            issuer: Arc::from(ISSUER),
            subject: Arc::from(subject),
            audiences: vec!["orders".to_owned()],
            roles: vec![],
            expires_at: SystemTime::now() + Duration::from_secs(60),
            token_id: None,
            claims: serde_json::Map::new(),
        })),
        ..Principal::default()
    }
}

#[tokio::test]
async fn bound_token_over_another_certificate_quarantines_the_token_and_the_presenting_peer() {
    let setup = setup();
    let request = MintRequest::new("checkout", "orders").bind_to(CertThumbprint([1; 32]));
    let token = setup.minter.mint(&request).unwrap();
    let thief = peer("spiffe://example.org/ns/prod/sa/thief", 2);

    let status = send(&setup, token.as_str(), Arc::clone(&thief)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let now = SystemTime::now();
    let thief_principal = Principal {
        peer: Some(thief),
        ..Principal::default()
    };
    assert!(setup.revocations.check(&thief_principal, now).is_some());
    // The token itself is quarantined too: even its rightful holder is refused for now.
    let owner = peer("spiffe://example.org/ns/prod/sa/checkout", 1);
    let subject = setup
        .validator
        .validate(token.as_str(), Some(&owner))
        .await
        .unwrap();
    let owner_principal = Principal {
        subject: Some(subject),
        ..Principal::default()
    };
    assert!(setup.revocations.check(&owner_principal, now).is_some());
}

#[tokio::test]
async fn forged_bound_token_quarantines_nobody_on_the_strength_of_its_claims() {
    let setup = setup();
    let other = Minter::generate_es256(ISSUER).unwrap();
    let request = MintRequest::new("victim", "orders").bind_to(CertThumbprint([1; 32]));
    let forged = other.mint(&request).unwrap();
    let status = send(
        &setup,
        forged.as_str(),
        peer("spiffe://example.org/sa/x", 2),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let now = SystemTime::now();
    assert!(
        setup
            .revocations
            .check(&subject_principal("victim"), now)
            .is_none()
    );
    assert!(setup.revocations.is_empty());
}
