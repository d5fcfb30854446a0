//! Sinks that pass records on: to metrics, or to two sinks at once.

use super::{AuditSink, DecisionRecord};

/// Name of the counter of decisions, labelled by `effect`, `rule` (empty when no rule
/// decided) and `reason` (a [`Reason::code`](crate::Reason::code)).
pub const METRIC_DECISIONS: &str = "zt_policy_decisions_total";

/// Name of the counter of matches of dry-run rules, labelled by `rule` and `effect`.
pub const METRIC_DRY_RUN_MATCHES: &str = "zt_policy_dry_run_matches_total";

/// Counts decisions through the `metrics` facade under [`METRIC_DECISIONS`] and
/// [`METRIC_DRY_RUN_MATCHES`], labelled by rule name. Combine it with another sink as a
/// pair: `(MetricsAuditSink, TracingAuditSink::new())`.
#[derive(Debug, Clone, Copy, Default)]
pub struct MetricsAuditSink;

impl AuditSink for MetricsAuditSink {
    fn record(&self, record: DecisionRecord) {
        let rule = record.rule.as_deref().unwrap_or_default().to_owned();
        metrics::counter!(
            METRIC_DECISIONS,
            "effect" => record.effect.as_str(),
            "rule" => rule,
            "reason" => record.reason_code,
        )
        .increment(1);
        for outcome in &record.dry_run_outcomes {
            metrics::counter!(
                METRIC_DRY_RUN_MATCHES,
                "rule" => outcome.rule.to_string(),
                "effect" => outcome.effect.as_str(),
            )
            .increment(1);
        }
    }
}

/// Both sinks receive every record.
impl<A: AuditSink, B: AuditSink> AuditSink for (A, B) {
    fn record(&self, record: DecisionRecord) {
        self.0.record(record.clone());
        self.1.record(record);
    }
}
