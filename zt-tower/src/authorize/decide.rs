//! One decision: from an HTTP request to an allow or a rejection.

use std::time::{Instant, SystemTime};

use http::uri::PathAndQuery;
use http::{HeaderName, Request, Uri};
use tracing::debug;
use zt_core::{
    AccessRequest, Decision, DecisionRecord, NormalizedPath, Principal, Reason, apply_posture,
    normalize_path,
};

use super::AuthorizeConfig;
use super::host::{has_conflicting_hosts, host_of};
use crate::principal::take_principal;
use crate::reject::Rejection;

/// The header whose value becomes the request id of audit records.
static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest request id copied into audit records, in bytes; longer ones are left out.
const MAX_REQUEST_ID_LEN: usize = 128;

impl AuthorizeConfig {
    /// Decides `request`; on an allow, leaves the normalized path and the principal in it.
    pub(crate) fn authorize<B>(&self, request: &mut Request<B>) -> Result<(), Rejection> {
        let started = Instant::now();
        let mut principal = take_principal(request.extensions_mut());
        let now = self.clock.now();

        // Normalize once; a path that cannot be normalized is a deny, never a guess.
        let (path, decision) = match normalize_path(request.uri().path()) {
            Ok(path) => {
                let decision = self.decide(request, &path, &mut principal, now);
                self.log(request, &principal, &decision);
                self.record(request, || {
                    DecisionRecord::new(&question(request, &path, &principal, now), &decision)
                });
                (Some(path), decision)
            }
            Err(e) => {
                let decision = Decision::deny(Reason::PathRejected(e.to_string()));
                self.log(request, &principal, &decision);
                self.record(request, || {
                    unnormalized_record(request, &principal, now, &decision)
                });
                (None, decision)
            }
        };
        crate::telemetry::count_decision(&decision);
        crate::telemetry::record_decision_latency(started.elapsed());
        if let Some(responder) = &self.responder {
            responder.observe(&principal, &decision, now);
        }
        let Some(path) = path.filter(|_| decision.is_allowed()) else {
            return Err(forbidden(&decision));
        };

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
            let reason = "the request names more than one host, or an unreadable one".to_owned();
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

    /// Logs the decision at debug level.
    fn log<B>(&self, request: &Request<B>, principal: &Principal, decision: &Decision) {
        debug!(
            peer.id = principal.peer_id().map(tracing::field::display),
            subject = principal.subject.as_deref().map(|s| &*s.subject),
            http.method = %request.method(),
            http.path = request.uri().path(),
            rule.id = decision.rule.as_deref(),
            decision = %decision,
            "zt: authorization decision"
        );
    }

    /// Hands the record of a decision, built only when there is an audit sink, to the sink.
    fn record<B>(&self, request: &Request<B>, build: impl FnOnce() -> DecisionRecord) {
        let Some(sink) = &self.audit else {
            return;
        };
        let mut record = build();
        if let Some(id) = request_id(request) {
            record = record.with_request_id(id);
        }
        sink.record(record);
    }
}

/// The record of a request whose path could not be normalized: the path as received.
fn unnormalized_record<B>(
    request: &Request<B>,
    principal: &Principal,
    now: SystemTime,
    decision: &Decision,
) -> DecisionRecord {
    DecisionRecord::unnormalized_path(
        request.method(),
        request.uri().path(),
        host_of(request),
        principal,
        now,
        decision,
    )
}

/// The caller's request id, if it is text of a sensible length: the caller chooses it, so
/// it must not be able to flood the audit trail.
fn request_id<B>(request: &Request<B>) -> Option<&str> {
    let id = request.headers().get(&REQUEST_ID)?.to_str().ok()?;
    (!id.is_empty() && id.len() <= MAX_REQUEST_ID_LEN).then_some(id)
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
