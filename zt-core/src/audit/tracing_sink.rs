//! An audit sink that emits `tracing` events.

use tracing::Level;

use super::{AuditSink, DecisionRecord};
use crate::Effect;

/// Emits each record as a `tracing` event with target `zt::audit` and dotted fields
/// (`rule.id`, `peer.id`, ...), at DEBUG unless told otherwise.
///
/// [`denials_only`](Self::denials_only) drops allowed requests, except those decided by an
/// audit rule: audit-rule decisions are always emitted.
///
/// ```
/// use tracing::Level;
/// use zt_core::TracingAuditSink;
///
/// let sink = TracingAuditSink::new().denials_only().with_level(Level::WARN);
/// # let _ = sink;
/// ```
#[derive(Debug, Clone, Copy)]
pub struct TracingAuditSink {
    level: Level,
    denials_only: bool,
}

impl Default for TracingAuditSink {
    fn default() -> Self {
        Self::new()
    }
}

impl TracingAuditSink {
    /// Every record, at DEBUG.
    pub fn new() -> Self {
        Self {
            level: Level::DEBUG,
            denials_only: false,
        }
    }

    /// Emits at `level` instead of DEBUG.
    pub fn with_level(mut self, level: Level) -> Self {
        self.level = level;
        self
    }

    /// Emits denials and audit-rule decisions only.
    pub fn denials_only(mut self) -> Self {
        self.denials_only = true;
        self
    }

    /// Whether `record` is emitted.
    pub fn emits(&self, record: &DecisionRecord) -> bool {
        record.audit || !self.denials_only || record.effect == Effect::Deny
    }
}

macro_rules! emit {
    ($level:expr, $r:expr) => {
        tracing::event!(
            target: "zt::audit",
            $level,
            decision.effect = $r.effect.as_str(),
            rule.id = $r.rule.as_deref(),
            reason = %$r.reason,
            audit = $r.audit,
            policy.revision = $r.revision.as_deref(),
            grant.id = $r.grant.as_deref(),
            peer.id = $r.peer_id.as_ref().map(tracing::field::display),
            token.issuer = $r.issuer.as_deref(),
            token.subject = $r.subject.as_deref(),
            http.method = %$r.method,
            http.path = %$r.path,
            request.id = $r.request_id.as_deref(),
            dry_run = $r.dry_run,
            errors = $r.errors.len(),
            "authorization decision"
        )
    };
}

impl AuditSink for TracingAuditSink {
    fn record(&self, record: DecisionRecord) {
        if !self.emits(&record) {
            return;
        }
        match self.level {
            Level::ERROR => emit!(Level::ERROR, record),
            Level::WARN => emit!(Level::WARN, record),
            Level::INFO => emit!(Level::INFO, record),
            Level::DEBUG => emit!(Level::DEBUG, record),
            _ => emit!(Level::TRACE, record),
        }
    }
}
