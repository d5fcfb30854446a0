//! Metric names the layers count through the [`metrics`] facade. Nothing is recorded until
//! the host installs a recorder.

use tokio_rustls::rustls::{self, CertificateError};
use zt_core::{Decision, Effect};
use zt_mtls::{AcceptError, VerifyError};

/// Counter of authorization decisions, labelled `effect` (`allow`, `deny`) and `reason`
/// ([`Reason::code`](zt_core::Reason::code), such as `no_rule_matched`).
pub const METRIC_DECISIONS: &str = "zt_tower_decisions_total";

/// Counter of refused bearer tokens, labelled `rule` (zt-token's `TokenError::rule`).
pub const METRIC_TOKENS_REFUSED: &str = "zt_tower_tokens_refused_total";

/// Counter of failed mTLS handshakes at a `SpiffeListener`, labelled `reason` (the SVID
/// rule that failed, `unknown_issuer`, `no_certificate`, `timeout`, ...).
pub const METRIC_HANDSHAKES_REFUSED: &str = "zt_tower_handshakes_refused_total";

/// Histogram of the time, in seconds, to decide a request: path normalization, revocation
/// and posture checks, the policy and the audit record.
pub const METRIC_DECISION_SECONDS: &str = "zt_tower_decision_seconds";

/// Histogram of the time, in seconds, to validate a bearer token not answered from the
/// validator's cache (signature check, and any key fetch it waited for).
pub const METRIC_TOKEN_VALIDATION_SECONDS: &str = "zt_tower_token_validation_seconds";

/// Records how long one decision took.
pub(crate) fn record_decision_latency(elapsed: std::time::Duration) {
    metrics::histogram!(METRIC_DECISION_SECONDS).record(elapsed.as_secs_f64());
}

/// Records how long one token validation took.
pub(crate) fn record_token_validation_latency(elapsed: std::time::Duration) {
    metrics::histogram!(METRIC_TOKEN_VALIDATION_SECONDS).record(elapsed.as_secs_f64());
}

/// Counts one decision.
pub(crate) fn count_decision(decision: &Decision) {
    // Literal labels let the macro build its key without allocating.
    let reason = decision.reason.code();
    match decision.effect {
        Effect::Allow => {
            metrics::counter!(METRIC_DECISIONS, "effect" => "allow", "reason" => reason)
                .increment(1);
        }
        Effect::Deny => {
            metrics::counter!(METRIC_DECISIONS, "effect" => "deny", "reason" => reason)
                .increment(1);
        }
    }
}

/// Counts one refused token.
pub(crate) fn count_refused_token(rule: &'static str) {
    metrics::counter!(METRIC_TOKENS_REFUSED, "rule" => rule).increment(1);
}

/// Counts one failed handshake.
pub(crate) fn count_refused_handshake(reason: &'static str) {
    metrics::counter!(METRIC_HANDSHAKES_REFUSED, "reason" => reason).increment(1);
}

/// A short, fixed name for why a handshake failed, for the `reason` label.
pub(crate) fn handshake_failure_reason(error: &AcceptError) -> &'static str {
    let Some(tls) = error.tls_error() else {
        return match error {
            AcceptError::Identity(_) => "identity",
            _ => "io",
        };
    };
    match tls {
        rustls::Error::InvalidCertificate(certificate) => certificate_reason(certificate),
        rustls::Error::NoCertificatesPresented => "no_certificate",
        rustls::Error::AlertReceived(_) => "alert_received",
        rustls::Error::PeerIncompatible(_)
        | rustls::Error::PeerMisbehaved(_)
        | rustls::Error::InappropriateMessage { .. }
        | rustls::Error::InappropriateHandshakeMessage { .. } => "protocol",
        _ => "tls",
    }
}

fn certificate_reason(error: &CertificateError) -> &'static str {
    match error {
        CertificateError::UnknownIssuer => "unknown_issuer",
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => "expired",
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "not_yet_valid"
        }
        CertificateError::BadSignature => "bad_signature",
        CertificateError::BadEncoding => "bad_encoding",
        CertificateError::ApplicationVerificationFailure => "unauthorized",
        CertificateError::Other(other) => other
            .0
            .downcast_ref::<VerifyError>()
            .map_or("invalid_certificate", VerifyError::rule),
        _ => "invalid_certificate",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused_with(error: rustls::Error) -> AcceptError {
        AcceptError::Handshake(std::io::Error::other(error))
    }

    #[test]
    fn handshake_failures_are_labelled_by_what_was_refused() {
        let cases = [
            (
                rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
                "unknown_issuer",
            ),
            (
                rustls::Error::InvalidCertificate(CertificateError::Expired),
                "expired",
            ),
            (rustls::Error::NoCertificatesPresented, "no_certificate"),
            (rustls::Error::General("x".into()), "tls"),
        ];
        for (error, reason) in cases {
            assert_eq!(handshake_failure_reason(&refused_with(error)), reason);
        }
    }

    #[test]
    fn handshake_failure_without_a_tls_error_is_an_io_failure() {
        let error = AcceptError::Handshake(std::io::Error::other("reset"));
        assert_eq!(handshake_failure_reason(&error), "io");
    }
}
