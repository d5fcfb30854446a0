//! Audit records of decisions, and sinks that keep them.
//!
//! Every decision the authorization layer takes becomes a [`DecisionRecord`], handed to an
//! [`AuditSink`]. A record holds names, IDs and reasons, never token or key material: the
//! token subject's `iss` and `sub`, not the token.
//!
//! ```
//! use std::time::SystemTime;
//! use http::Method;
//! use zt_core::{AccessRequest, AuditSink, Decision, DecisionRecord, MemoryAuditSink};
//! use zt_core::{Principal, Reason, normalize_path};
//!
//! let path = normalize_path("/orders")?;
//! let principal = Principal::default();
//! let request = AccessRequest::new(&Method::GET, &path, &principal, SystemTime::now());
//! let decision = Decision::deny(Reason::NoRuleMatched);
//!
//! let sink = MemoryAuditSink::new();
//! sink.record(DecisionRecord::new(&request, &decision).with_request_id("req-1"));
//! assert_eq!(sink.records()[0].request_id.as_deref(), Some("req-1"));
//! # Ok::<(), zt_core::PathError>(())
//! ```

mod fanout;
mod json_lines;
mod record;
mod tracing_sink;

use std::fmt;
use std::sync::{Arc, Mutex};

pub use fanout::{METRIC_DECISIONS, METRIC_DRY_RUN_MATCHES, MetricsAuditSink};
pub use json_lines::{DEFAULT_AUDIT_QUEUE, JsonLinesAuditSink, METRIC_AUDIT_DROPPED};
pub use record::DecisionRecord;
pub use tracing_sink::TracingAuditSink;

/// Keeps decision records. Called on the request path: implementations must not block.
pub trait AuditSink: Send + Sync + fmt::Debug + 'static {
    /// Keeps `record`.
    fn record(&self, record: DecisionRecord);
}

impl<S: AuditSink + ?Sized> AuditSink for Arc<S> {
    fn record(&self, record: DecisionRecord) {
        (**self).record(record);
    }
}

impl<S: AuditSink + ?Sized> AuditSink for Box<S> {
    fn record(&self, record: DecisionRecord) {
        (**self).record(record);
    }
}

/// A sink that keeps records in memory, for tests. Clones share the same records.
#[derive(Debug, Clone, Default)]
pub struct MemoryAuditSink {
    records: Arc<Mutex<Vec<DecisionRecord>>>,
}

impl MemoryAuditSink {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// The records kept so far.
    pub fn records(&self) -> Vec<DecisionRecord> {
        self.records.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl AuditSink for MemoryAuditSink {
    fn record(&self, record: DecisionRecord) {
        if let Ok(mut records) = self.records.lock() {
            records.push(record);
        }
    }
}

/// A sink that drops every record.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopAuditSink;

impl AuditSink for NoopAuditSink {
    fn record(&self, _record: DecisionRecord) {}
}
