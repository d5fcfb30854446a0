//! Metrics of revocation and the responder, read through a recording `metrics` recorder.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod breach_support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use breach_support::{ISSUER, caller, clock, workload};
use metrics::{
    Counter, CounterFn, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit,
};
use zt_core::{
    Clock, Decision, Reason, Responder, ResponderConfig, Revocation, RevocationList,
    RevocationTarget,
};

type Totals = Arc<Mutex<BTreeMap<String, u64>>>;

/// Sums every counter increment under `name{label=value,...}`.
#[derive(Default)]
struct Recording(Totals);

struct Tally {
    name: String,
    totals: Totals,
}

impl CounterFn for Tally {
    fn increment(&self, value: u64) {
        *self
            .totals
            .lock()
            .unwrap()
            .entry(self.name.clone())
            .or_default() += value;
    }

    fn absolute(&self, value: u64) {
        self.totals.lock().unwrap().insert(self.name.clone(), value);
    }
}

impl Recorder for Recording {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        let name = format!("{}{{{}}}", key.name(), labels.join(","));
        Counter::from_arc(Arc::new(Tally {
            name,
            totals: Arc::clone(&self.0),
        }))
    }

    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }

    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

fn count(recording: &Recording, name: &str) -> u64 {
    recording.0.lock().unwrap().get(name).copied().unwrap_or(0)
}

#[test]
fn revocation_hits_and_refusals_are_counted() {
    let recording = Recording::default();
    metrics::with_local_recorder(&recording, || {
        let clock = clock();
        let list = RevocationList::with_capacity(1);
        let alice = RevocationTarget::subject(ISSUER, "alice");
        list.revoke(Revocation::new(alice, "x"), clock.now())
            .unwrap();
        assert!(
            list.check(
                &caller("spiffe://example.org/a", 1, "alice", "j"),
                clock.now()
            )
            .is_some()
        );
        let bob = RevocationTarget::subject(ISSUER, "bob");
        assert!(list.revoke(Revocation::new(bob, "x"), clock.now()).is_err());
    });
    assert_eq!(
        count(&recording, "zt_revocation_hits_total{kind=subject}"),
        1
    );
    assert_eq!(count(&recording, "zt_revocation_rejected_total{}"), 1);
}

#[test]
fn quarantines_and_evictions_are_counted() {
    let recording = Recording::default();
    metrics::with_local_recorder(&recording, || {
        let clock = clock();
        let config = ResponderConfig::default()
            .deny_threshold(2, Duration::from_secs(60))
            .max_tracked(16, 16);
        let responder = Responder::new(Arc::new(RevocationList::new()), config);
        let deny = Decision::deny(Reason::NoRuleMatched);
        let bob = workload("spiffe://example.org/bob");
        responder.observe(&bob, &deny, clock.now());
        responder.observe(&bob, &deny, clock.now());
        for i in 0..100 {
            let one_off = workload(&format!("spiffe://example.org/flood/{i}"));
            responder.observe(&one_off, &deny, clock.now());
        }
    });
    assert_eq!(
        count(
            &recording,
            "zt_responder_quarantines_total{trigger=deny_threshold}"
        ),
        1
    );
    assert!(count(&recording, "zt_responder_evictions_total{map=denies}") >= 84);
}

/// A writer that never finishes its first write until the test ends, so the queue fills.
struct StalledWriter(std::sync::mpsc::Receiver<()>);

impl std::io::Write for StalledWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = self.0.recv();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn audit_records_dropped_by_a_full_json_lines_queue_are_counted() {
    let recording = Recording::default();
    let (release, stalled) = std::sync::mpsc::channel();
    let dropped = metrics::with_local_recorder(&recording, || {
        let sink = zt_core::JsonLinesAuditSink::new(StalledWriter(stalled), 1).unwrap();
        let path = zt_core::normalize_path("/orders").unwrap();
        let principal = zt_core::Principal::default();
        let method = http::Method::GET;
        let request = zt_core::AccessRequest::new(&method, &path, &principal, clock().now());
        let decision = Decision::deny(Reason::NoRuleMatched);
        let mut sent = 0;
        while sink.dropped_total() < 3 && sent < 10_000 {
            zt_core::AuditSink::record(&sink, zt_core::DecisionRecord::new(&request, &decision));
            sent += 1;
        }
        let dropped = sink.dropped_total();
        drop(release);
        dropped
    });
    assert!(dropped >= 3);
    assert_eq!(
        count(&recording, "zt_audit_records_dropped_total{}"),
        dropped
    );
}
