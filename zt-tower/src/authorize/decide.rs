//! One decision: from an HTTP request to an allow or a rejection.

use std::time::SystemTime;

use http::header::HOST;
use http::uri::PathAndQuery;
use http::{HeaderName, Request, Uri};
use tracing::debug;
use zt_core::{
    AccessRequest, Decision, DecisionRecord, NormalizedPath, Principal, Reason, apply_posture,
    normalize_path,
};

use super::AuthorizeConfig;
use crate::principal::take_principal;
use crate::reject::Rejection;

/// The header whose value becomes the request id of audit records.
static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

impl AuthorizeConfig {
    /// Decides `request`; on an allow, leaves the normalized path and the principal in it.
    pub(crate) fn authorize<B>(&self, request: &mut Request<B>) -> Result<(), Rejection> {
        let mut principal = take_principal(request.extensions_mut());
        let now = self.clock.now();

        // Normalize once; a path that cannot be normalized is a deny, never a guess.
        let (path, decision) = match normalize_path(request.uri().path()) {
            Ok(path) => {
                let decision = self.decide(request, &path, &mut principal, now);
                self.record(request, &path, &principal, now, &decision);
                (path, decision)
            }
            Err(e) => {
                let decision = Decision::deny(Reason::PathRejected(e.to_string()));
                self.record(request, &NormalizedPath::root(), &principal, now, &decision);
                (NormalizedPath::root(), decision)
            }
        };
        crate::telemetry::count_decision(&decision);
        if let Some(responder) = &self.responder {
            responder.observe(&principal, &decision, now);
        }
        if !decision.is_allowed() {
            return Err(forbidden(&decision));
        }

        // The service must route on the path the policy saw.
        if path.as_str() != request.uri().path() {
            *request.uri_mut() = with_path(request.uri(), &path).ok_or(Rejection::Forbidden {
                insufficient_scope: false,
            })?;
        }
        request.extensions_mut().insert(principal);
        Ok(())
    }

    /// Checks revocations, adds device posture, then asks the policy.
    fn decide<B>(
        &self,
        request: &Request<B>,
        path: &NormalizedPath,
        principal: &mut Principal,
        now: SystemTime,
    ) -> Decision {
        // A revoked principal is denied whatever the policy says.
        let revoked = self
            .revocations
            .as_ref()
            .and_then(|r| r.check(principal, now));
        if let Some(revocation) = revoked {
            return Decision::deny(Reason::Revoked(revocation.to_string()));
        }

        // A request naming two hosts could be read one way here and another in the service.
        if has_conflicting_hosts(request) {
            let reason = "the request names more than one host".to_owned();
            return Decision::deny(Reason::Error(reason));
        }

        // Posture that is present but cannot be trusted is a deny, not an absence.
        if let Some(posture) = &self.posture {
            let headers = Some(request.headers());
            if let Err(e) = apply_posture(posture.as_ref(), principal, headers, now) {
                return Decision::deny(Reason::Error(format!("device posture: {e}")));
            }
        }
        self.policy
            .evaluate(&question(request, path, principal, now))
    }

    /// Logs the decision at debug level and hands its record to the audit sink.
    fn record<B>(
        &self,
        request: &Request<B>,
        path: &NormalizedPath,
        principal: &Principal,
        now: SystemTime,
        decision: &Decision,
    ) {
        debug!(
            peer.id = principal.peer_id().map(tracing::field::display),
            subject = principal.subject.as_deref().map(|s| &*s.subject),
            http.method = %request.method(),
            http.path = request.uri().path(),
            rule.id = decision.rule.as_deref(),
            decision = %decision,
            "zt: authorization decision"
        );
        let Some(sink) = &self.audit else {
            return;
        };
        let mut record = DecisionRecord::new(&question(request, path, principal, now), decision);
        if matches!(decision.reason, Reason::PathRejected(_)) {
            // The record keeps the path as received: there is no normalized one.
            record.path = request.uri().path().to_owned();
        }
        if let Some(id) = request
            .headers()
            .get(&REQUEST_ID)
            .and_then(|v| v.to_str().ok())
        {
            record = record.with_request_id(id);
        }
        sink.record(record);
    }
}

/// The question for the policy.
fn question<'a, B>(
    request: &'a Request<B>,
    path: &'a NormalizedPath,
    principal: &'a Principal,
    now: SystemTime,
) -> AccessRequest<'a> {
    let question = AccessRequest::new(request.method(), path, principal, now)
        .with_headers(request.headers())
        .with_attributes(&principal.attributes);
    match host_of(request) {
        Some(host) => question.with_host(host),
        None => question,
    }
}

/// The 403 for a denied decision.
fn forbidden(decision: &Decision) -> Rejection {
    Rejection::Forbidden {
        insufficient_scope: matches!(
            decision.reason,
            Reason::InsufficientRoles | Reason::GrantExpired
        ),
    }
}

/// The host the request was sent to: the URI's authority (HTTP/2) or the `Host` header.
fn host_of<B>(request: &Request<B>) -> Option<&str> {
    request
        .uri()
        .host()
        .or_else(|| request.headers().get(HOST)?.to_str().ok())
}

/// Whether the request repeats `Host`, or its URI authority and `Host` header differ.
fn has_conflicting_hosts<B>(request: &Request<B>) -> bool {
    let mut hosts = request.headers().get_all(HOST).iter();
    let (Some(header), None) = (hosts.next(), hosts.next()) else {
        // No Host header (HTTP/2 carries :authority), or a repeated one.
        return request.headers().get_all(HOST).iter().count() > 1;
    };
    match request.uri().authority() {
        Some(authority) => header
            .to_str()
            .map_or(true, |h| !h.eq_ignore_ascii_case(authority.as_str())),
        None => false,
    }
}

/// `uri` with its path replaced by `path`, keeping the query.
fn with_path(uri: &Uri, path: &NormalizedPath) -> Option<Uri> {
    let path_and_query = match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.as_str().to_owned(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(PathAndQuery::from_maybe_shared(path_and_query).ok()?);
    Uri::from_parts(parts).ok()
}
