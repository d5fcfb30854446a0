//! An audit sink that writes JSON lines from a background thread.

use std::fmt;
use std::fs::OpenOptions;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;

use super::{AuditSink, DecisionRecord};

/// Counter of audit records a [`JsonLinesAuditSink`] dropped because its queue was full.
pub const METRIC_AUDIT_DROPPED: &str = "zt_audit_records_dropped_total";

/// Records queued before new ones are dropped, by default.
pub const DEFAULT_AUDIT_QUEUE: usize = 4096;

/// Writes each record as one line of JSON, without blocking the request path: records go
/// through a bounded queue to a writer thread. When the queue is full a record is dropped and
/// counted; the next record written carries the count as `dropped_before`.
///
/// Dropping the sink writes what is queued, flushes, and joins the writer thread.
///
/// ```
/// use zt_core::JsonLinesAuditSink;
///
/// let dir = tempfile::tempdir()?;
/// let sink = JsonLinesAuditSink::to_path(dir.path().join("audit.jsonl"))?;
/// assert_eq!(sink.dropped_total(), 0);
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct JsonLinesAuditSink {
    queue: Option<SyncSender<(DecisionRecord, u64)>>,
    pending_drops: AtomicU64,
    dropped_total: Arc<AtomicU64>,
    writer: Option<JoinHandle<()>>,
}

impl JsonLinesAuditSink {
    /// Appends to the file at `path`, creating it if needed.
    ///
    /// # Errors
    ///
    /// If the file cannot be opened or the writer thread cannot start.
    pub fn to_path(path: impl AsRef<Path>) -> io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Self::new(file, DEFAULT_AUDIT_QUEUE)
    }

    /// Writes to `out` with a queue of `capacity` records (at least 1).
    ///
    /// # Errors
    ///
    /// If the writer thread cannot start.
    pub fn new(out: impl Write + Send + 'static, capacity: usize) -> io::Result<Self> {
        let (queue, records) = sync_channel(capacity.max(1));
        let writer = std::thread::Builder::new()
            .name("zt-audit-writer".to_owned())
            .spawn(move || write_lines(records, BufWriter::new(out)))?;
        Ok(Self {
            queue: Some(queue),
            pending_drops: AtomicU64::new(0),
            dropped_total: Arc::new(AtomicU64::new(0)),
            writer: Some(writer),
        })
    }

    /// Records dropped because the queue was full, since the sink was made.
    pub fn dropped_total(&self) -> u64 {
        self.dropped_total.load(Ordering::Relaxed)
    }
}

impl AuditSink for JsonLinesAuditSink {
    fn record(&self, record: DecisionRecord) {
        let Some(queue) = &self.queue else { return };
        let pending = self.pending_drops.swap(0, Ordering::AcqRel);
        match queue.try_send((record, pending)) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.pending_drops.fetch_add(pending + 1, Ordering::AcqRel);
                self.dropped_total.fetch_add(1, Ordering::Relaxed);
                metrics::counter!(METRIC_AUDIT_DROPPED).increment(1);
            }
        }
    }
}

impl Drop for JsonLinesAuditSink {
    fn drop(&mut self) {
        // Closing the queue ends the writer's loop once it has written what is queued.
        self.queue.take();
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

impl fmt::Debug for JsonLinesAuditSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JsonLinesAuditSink")
            .field("dropped_total", &self.dropped_total())
            .finish_non_exhaustive()
    }
}

/// The writer thread: one line per record, flushed whenever the queue runs empty.
fn write_lines(records: Receiver<(DecisionRecord, u64)>, mut out: impl Write) {
    let mut failed = false;
    while let Ok(first) = records.recv() {
        let batch = std::iter::once(first).chain(std::iter::from_fn(|| records.try_recv().ok()));
        let mut result = Ok(());
        for (record, dropped) in batch {
            result = result.and_then(|()| write_line(&mut out, &record, dropped));
        }
        let result = result.and_then(|()| out.flush());
        // Warn once per run of failures, not once per record.
        match (result, failed) {
            (Err(error), false) => {
                tracing::warn!(%error, "cannot write audit records");
                failed = true;
            }
            (Ok(()), true) => failed = false,
            _ => {}
        }
    }
}

fn write_line(out: &mut impl Write, record: &DecisionRecord, dropped: u64) -> io::Result<()> {
    serde_json::to_writer(&mut *out, &record.to_json(dropped))?;
    out.write_all(b"\n")
}
