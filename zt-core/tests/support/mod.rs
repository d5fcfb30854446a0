//! Builders shared by the integration tests.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{HeaderMap, Method};
use zt_core::{
    AccessRequest, Attributes, CertThumbprint, Decision, PeerIdentity, Policy, Principal,
    RulePolicy, Subject, normalize_path,
};

pub const ISSUER: &str = "https://idp.example.org";

/// 2026-06-01T00:00:00Z.
pub fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_780_272_000)
}

pub fn policy(toml: &str) -> RulePolicy {
    match RulePolicy::from_toml(toml) {
        Ok(p) => p,
        Err(e) => panic!("policy failed to load: {e}"),
    }
}

pub fn peer(id: &str) -> Arc<PeerIdentity> {
    Arc::new(PeerIdentity {
        spiffe_id: id.parse().unwrap(),
        thumbprint: CertThumbprint([7; 32]),
        not_after: now() + Duration::from_secs(3600),
    })
}

pub fn subject(sub: &str, roles: &[&str], claims: serde_json::Value) -> Arc<Subject> {
    let claims = match claims {
        serde_json::Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    Arc::new(Subject {
        issuer: ISSUER.into(),
        subject: sub.into(),
        audiences: vec!["orders".to_owned()],
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        expires_at: now() + Duration::from_secs(300),
        token_id: Some("jti-1".to_owned()),
        claims,
    })
}

pub fn from_peer(id: &str) -> Principal {
    Principal {
        peer: Some(peer(id)),
        ..Principal::default()
    }
}

pub fn from_subject(sub: &str, roles: &[&str], claims: serde_json::Value) -> Principal {
    Principal {
        subject: Some(subject(sub, roles, claims)),
        ..Principal::default()
    }
}

/// A request to decide; the pieces are owned so tests can tweak them.
pub struct Ask {
    pub method: Method,
    pub path: String,
    pub principal: Principal,
    pub host: Option<String>,
    pub headers: Option<HeaderMap>,
    pub attributes: Option<Attributes>,
    pub now: SystemTime,
}

pub fn ask(method: &str, path: &str, principal: Principal) -> Ask {
    Ask {
        method: Method::from_bytes(method.as_bytes()).unwrap(),
        path: path.to_owned(),
        principal,
        host: None,
        headers: None,
        attributes: None,
        now: now(),
    }
}

impl Ask {
    pub fn host(mut self, host: &str) -> Self {
        self.host = Some(host.to_owned());
        self
    }

    pub fn header(mut self, name: &'static str, value: &str) -> Self {
        let headers = self.headers.get_or_insert_with(HeaderMap::new);
        headers.append(name, value.parse().unwrap());
        self
    }

    pub fn no_headers_but_available(mut self) -> Self {
        self.headers.get_or_insert_with(HeaderMap::new);
        self
    }

    pub fn at(mut self, now: SystemTime) -> Self {
        self.now = now;
        self
    }

    pub fn decide(&self, policy: &dyn Policy) -> Decision {
        let path = normalize_path(&self.path).unwrap();
        let mut request = AccessRequest::new(&self.method, &path, &self.principal, self.now);
        if let Some(host) = &self.host {
            request = request.with_host(host);
        }
        if let Some(headers) = &self.headers {
            request = request.with_headers(headers);
        }
        if let Some(attributes) = &self.attributes {
            request = request.with_attributes(attributes);
        }
        policy.evaluate(&request)
    }
}
