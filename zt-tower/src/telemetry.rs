//! Metric names the layers count through the [`metrics`] facade. Nothing is recorded until
//! the host installs a recorder.

use zt_core::{Decision, Effect};

/// Counter of authorization decisions, labelled `effect` (`allow`, `deny`).
pub const METRIC_DECISIONS: &str = "zt_tower_decisions_total";

/// Counter of refused bearer tokens, labelled `rule` (zt-token's `TokenError::rule`).
pub const METRIC_TOKENS_REFUSED: &str = "zt_tower_tokens_refused_total";

/// Counter of failed mTLS handshakes at a `SpiffeListener`.
pub const METRIC_HANDSHAKES_REFUSED: &str = "zt_tower_handshakes_refused_total";

/// Counts one decision.
pub(crate) fn count_decision(decision: &Decision) {
    // Literal labels let the macro build its key without allocating.
    match decision.effect {
        Effect::Allow => metrics::counter!(METRIC_DECISIONS, "effect" => "allow").increment(1),
        Effect::Deny => metrics::counter!(METRIC_DECISIONS, "effect" => "deny").increment(1),
    }
}

/// Counts one refused token.
pub(crate) fn count_refused_token(rule: &'static str) {
    metrics::counter!(METRIC_TOKENS_REFUSED, "rule" => rule).increment(1);
}

/// Counts one failed handshake.
pub(crate) fn count_refused_handshake() {
    metrics::counter!(METRIC_HANDSHAKES_REFUSED).increment(1);
}
