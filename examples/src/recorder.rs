//! A minimal in-process [`metrics`] recorder that keeps counters and gauges in memory, so an
//! example can print what zt recorded without running an exporter.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use metrics::{
    Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SetRecorderError, SharedString,
    Unit,
};

/// Counters and gauges by name and labels, rendered as `name{label="value"} value`.
///
/// Histograms are not kept (they are accepted and dropped). Cheap to clone: clones share the
/// same figures, so one clone can be installed globally and another read later.
///
/// ```
/// use zt_examples::MemoryRecorder;
///
/// let recorder = MemoryRecorder::new();
/// metrics::with_local_recorder(&recorder, || {
///     metrics::counter!("zt_demo_total", "effect" => "deny").increment(2);
/// });
/// assert_eq!(recorder.render("zt_"), "zt_demo_total{effect=\"deny\"} 2\n");
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryRecorder {
    inner: Arc<Figures>,
}

#[derive(Debug, Default)]
struct Figures {
    counters: Mutex<BTreeMap<String, Arc<AtomicU64>>>,
    gauges: Mutex<BTreeMap<String, Arc<AtomicU64>>>,
}

impl MemoryRecorder {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Installs a clone of this recorder as the process-wide recorder.
    ///
    /// # Errors
    ///
    /// When a global recorder is already installed.
    pub fn install(&self) -> Result<(), SetRecorderError<Self>> {
        metrics::set_global_recorder(self.clone())
    }

    /// One line per counter and gauge whose name starts with `prefix`, sorted by name.
    pub fn render(&self, prefix: &str) -> String {
        let mut out = String::new();
        for (key, value) in lock(&self.inner.counters).iter() {
            if key.starts_with(prefix) {
                let _ = writeln!(out, "{key} {}", value.load(Ordering::Relaxed));
            }
        }
        for (key, value) in lock(&self.inner.gauges).iter() {
            if key.starts_with(prefix) {
                let _ = writeln!(
                    out,
                    "{key} {}",
                    f64::from_bits(value.load(Ordering::Relaxed))
                );
            }
        }
        out
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `name{a="1",b="2"}`, or `name` without labels.
fn series(key: &Key) -> String {
    let mut series = key.name().to_owned();
    let mut labels = key.labels().peekable();
    if labels.peek().is_some() {
        let labels: Vec<String> = labels
            .map(|l| format!("{}=\"{}\"", l.key(), l.value()))
            .collect();
        let _ = write!(series, "{{{}}}", labels.join(","));
    }
    series
}

fn cell(map: &Mutex<BTreeMap<String, Arc<AtomicU64>>>, key: &Key) -> Arc<AtomicU64> {
    Arc::clone(lock(map).entry(series(key)).or_default())
}

impl Recorder for MemoryRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(cell(&self.inner.counters, key))
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(cell(&self.inner.gauges, key))
    }

    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}
