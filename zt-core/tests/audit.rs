//! Audit records and sinks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{self, Write};
use std::sync::{Arc, Barrier, Mutex};

use serde_json::{Value, json};
use support::{from_subject, now};
use zt_core::{
    AuditSink, Decision, DecisionRecord, Effect, JsonLinesAuditSink, MemoryAuditSink, Reason,
    TracingAuditSink, normalize_path,
};

fn record(effect: Effect, audit: bool) -> DecisionRecord {
    let principal = from_subject("alice", &["r"], json!({ "email": "a@example.org" }));
    let path = normalize_path("/orders/1").unwrap();
    let request = zt_core::AccessRequest::new(&http::Method::GET, &path, &principal, now());
    let reason = match effect {
        Effect::Allow => Reason::AllowedByRule,
        Effect::Deny => Reason::DeniedByRule,
    };
    let mut decision = Decision::new(effect, Some("rule-1".into()), reason);
    decision.audit = audit;
    DecisionRecord::new(&request, &decision).with_request_id("req-9")
}

/// A writer shared with the test, optionally held shut until a barrier opens.
#[derive(Clone, Default)]
struct Shared {
    bytes: Arc<Mutex<Vec<u8>>>,
    gate: Option<Arc<Barrier>>,
}

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(gate) = self.gate.take() {
            gate.wait();
        }
        self.bytes.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn lines(shared: &Shared) -> Vec<Value> {
    let bytes = shared.bytes.lock().unwrap().clone();
    String::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn a_record_holds_who_what_and_why() {
    let r = record(Effect::Allow, false);
    assert_eq!(r.rule.as_deref(), Some("rule-1"));
    assert_eq!(r.reason, "allowed by rule");
    assert_eq!(r.subject.as_deref(), Some("alice"));
    assert_eq!((r.method.as_str(), r.path.as_str()), ("GET", "/orders/1"));
    assert_eq!(r.request_id.as_deref(), Some("req-9"));
    assert!(!r.dry_run);
}

#[test]
fn a_record_holds_no_token_claims() {
    let json = record(Effect::Allow, false).to_json(0).to_string();
    assert!(!json.contains("a@example.org"), "{json}");
    assert!(!json.contains("dropped_before"));
}

#[test]
fn the_json_lines_sink_writes_one_object_per_line() {
    let shared = Shared::default();
    let sink = JsonLinesAuditSink::new(shared.clone(), 16).unwrap();
    sink.record(record(Effect::Allow, false));
    sink.record(record(Effect::Deny, false));
    drop(sink);
    let lines = lines(&shared);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["effect"], "allow");
    assert_eq!(lines[1]["effect"], "deny");
    assert_eq!(lines[0]["request_id"], "req-9");
    assert_eq!(lines[0]["time"], "2026-06-01T00:00:00.000Z");
}

#[test]
fn a_full_queue_drops_records_and_the_next_record_reports_the_count() {
    let gate = Arc::new(Barrier::new(2));
    let shared = Shared {
        gate: Some(gate.clone()),
        ..Shared::default()
    };
    let sink = JsonLinesAuditSink::new(shared.clone(), 1).unwrap();
    // The writer blocks on the gate with the first record; the queue fills behind it.
    sink.record(record(Effect::Allow, false));
    let mut sent = 1;
    while sink.dropped_total() == 0 && sent < 1000 {
        sink.record(record(Effect::Allow, false));
        sent += 1;
    }
    let dropped = sink.dropped_total();
    assert!(dropped > 0);
    gate.wait();
    // Wait (bounded) until every accepted record is written, so the next one is not dropped.
    let accepted = usize::try_from(sent - dropped).unwrap();
    let mut tries = 0;
    while lines(&shared).len() < accepted && tries < 500 {
        std::thread::sleep(std::time::Duration::from_millis(2));
        tries += 1;
    }
    sink.record(record(Effect::Deny, false));
    drop(sink);
    let lines = lines(&shared);
    let last = lines.last().unwrap();
    assert_eq!(last["effect"], "deny");
    assert_eq!(last["dropped_before"], json!(dropped));
    assert_eq!(lines.len() as u64 + dropped, sent + 1);
}

#[test]
fn the_json_lines_sink_appends_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    for _ in 0..2 {
        let sink = JsonLinesAuditSink::to_path(&path).unwrap();
        sink.record(record(Effect::Allow, false));
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 2);
}

#[test]
fn the_tracing_sink_keeps_audit_decisions_even_when_only_denials_are_wanted() {
    let sink = TracingAuditSink::new().denials_only();
    assert!(sink.emits(&record(Effect::Deny, false)));
    assert!(sink.emits(&record(Effect::Allow, true)));
    assert!(!sink.emits(&record(Effect::Allow, false)));
    assert!(TracingAuditSink::new().emits(&record(Effect::Allow, false)));
    sink.record(record(Effect::Allow, true));
}

#[test]
fn the_memory_sink_keeps_records_in_order() {
    let sink = MemoryAuditSink::new();
    let shared: Arc<dyn AuditSink> = Arc::new(sink.clone());
    shared.record(record(Effect::Allow, false));
    shared.record(record(Effect::Deny, false));
    let effects: Vec<_> = sink.records().iter().map(|r| r.effect).collect();
    assert_eq!(effects, [Effect::Allow, Effect::Deny]);
}

#[test]
fn dry_run_outcomes_reach_the_record() {
    let p = support::policy(
        r#"
        [[rule]]
        name = "d"
        effect = "deny"
        dry_run = true
        anyone = true
        "#,
    );
    let principal = zt_core::Principal::default();
    let path = normalize_path("/").unwrap();
    let request = zt_core::AccessRequest::new(&http::Method::GET, &path, &principal, now());
    let decision = zt_core::Policy::evaluate(&p, &request);
    let r = DecisionRecord::new(&request, &decision);
    assert!(r.dry_run);
    let outcomes = &r.to_json(0)["dry_run_outcomes"];
    assert_eq!(outcomes, &json!([{ "rule": "d", "effect": "deny" }]));
}

#[test]
fn a_pair_of_sinks_both_receive_every_record() {
    let (a, b) = (MemoryAuditSink::new(), MemoryAuditSink::new());
    let pair = (a.clone(), (b.clone(), zt_core::MetricsAuditSink));
    pair.record(record(Effect::Deny, false));
    assert_eq!(a.records().len(), 1);
    assert_eq!(b.records().len(), 1);
    assert_eq!(a.records()[0].reason_code, "denied_by_rule");
}

/// Metric names and labels, one entry per increment.
type Counts = Arc<Mutex<Vec<(String, Vec<(String, String)>)>>>;

/// Counts increments by metric name and labels.
#[derive(Debug, Default)]
struct CountingRecorder {
    counts: Counts,
}

#[derive(Debug)]
struct Increment {
    name: String,
    labels: Vec<(String, String)>,
    counts: Counts,
}

impl metrics::CounterFn for Increment {
    fn increment(&self, _value: u64) {
        let entry = (self.name.clone(), self.labels.clone());
        self.counts.lock().unwrap().push(entry);
    }

    fn absolute(&self, _value: u64) {}
}

impl metrics::Recorder for CountingRecorder {
    fn describe_counter(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_gauge(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }
    fn describe_histogram(
        &self,
        _: metrics::KeyName,
        _: Option<metrics::Unit>,
        _: metrics::SharedString,
    ) {
    }

    fn register_counter(&self, key: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Counter {
        let labels = key
            .labels()
            .map(|l| (l.key().to_owned(), l.value().to_owned()))
            .collect();
        metrics::Counter::from_arc(Arc::new(Increment {
            name: key.name().to_owned(),
            labels,
            counts: self.counts.clone(),
        }))
    }

    fn register_gauge(&self, _: &metrics::Key, _: &metrics::Metadata<'_>) -> metrics::Gauge {
        metrics::Gauge::noop()
    }

    fn register_histogram(
        &self,
        _: &metrics::Key,
        _: &metrics::Metadata<'_>,
    ) -> metrics::Histogram {
        metrics::Histogram::noop()
    }
}

#[test]
fn the_metrics_sink_counts_decisions_by_rule_effect_and_reason() {
    let recorder = CountingRecorder::default();
    metrics::with_local_recorder(&recorder, || {
        zt_core::MetricsAuditSink.record(record(Effect::Deny, false));
    });
    let counts = recorder.counts.lock().unwrap().clone();
    let labels = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    };
    let expected = labels(&[
        ("effect", "deny"),
        ("rule", "rule-1"),
        ("reason", "denied_by_rule"),
    ]);
    assert_eq!(counts, [(zt_core::METRIC_DECISIONS.to_owned(), expected)]);
}
