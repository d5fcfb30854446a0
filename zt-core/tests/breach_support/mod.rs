//! Principals and times shared by the breach tests (revocation, responder, posture).
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use zt_core::{CertThumbprint, ManualClock, PeerIdentity, Principal, Subject};

pub const ISSUER: &str = "https://idp.example.org";

/// A clock standing at 2027-01-01T00:00:00Z.
pub fn clock() -> ManualClock {
    ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_798_761_600))
}

pub fn peer(id: &str, thumbprint_byte: u8) -> Arc<PeerIdentity> {
    Arc::new(PeerIdentity {
        spiffe_id: id.parse().unwrap(),
        thumbprint: CertThumbprint([thumbprint_byte; 32]),
        not_after: UNIX_EPOCH + Duration::from_secs(4_000_000_000),
    })
}

pub fn subject(sub: &str, jti: Option<&str>, expires_at: SystemTime) -> Arc<Subject> {
    Arc::new(Subject {
        issuer: Arc::from(ISSUER),
        subject: Arc::from(sub),
        audiences: vec!["orders".into()],
        roles: vec![],
        expires_at,
        token_id: jti.map(str::to_owned),
        claims: serde_json::Map::new(),
    })
}

/// A caller with an mTLS peer and a token.
pub fn caller(peer_id: &str, thumbprint_byte: u8, sub: &str, jti: &str) -> Principal {
    Principal {
        peer: Some(peer(peer_id, thumbprint_byte)),
        subject: Some(subject(sub, Some(jti), far_future())),
        ..Principal::default()
    }
}

/// A caller with only an mTLS peer.
pub fn workload(peer_id: &str) -> Principal {
    Principal {
        peer: Some(peer(peer_id, 0xaa)),
        ..Principal::default()
    }
}

pub fn far_future() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(4_000_000_000)
}
