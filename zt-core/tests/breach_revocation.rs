//! Revocation list: each kind applies on the next check and lapses at its expiry; the file
//! is loaded, reloaded, watched, and a bad line keeps the previous list.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod breach_support;

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use breach_support::{ISSUER, caller, clock, subject, workload};
use zt_core::{
    CertThumbprint, Clock, Effect, Principal, Reason, Revocation, RevocationError, RevocationKind,
    RevocationList, RevocationOrigin, RevocationTarget,
};

const ORDERS: &str = "spiffe://example.org/ns/prod/sa/orders";
const BILLING: &str = "spiffe://example.org/ns/prod/sa/billing";

fn alice() -> Principal {
    caller(ORDERS, 0x11, "alice", "jti-1")
}

/// Revokes `target` for one minute and checks it applies, spares others, then lapses.
fn assert_applies_then_lapses(target: RevocationTarget) {
    let clock = clock();
    let list = RevocationList::new();
    let principal = alice();
    assert!(list.check(&principal, clock.now()).is_none());

    let expiry = clock.now() + Duration::from_secs(60);
    list.revoke(
        Revocation::new(target.clone(), "incident 42").until(expiry),
        clock.now(),
    )
    .unwrap();

    let hit = list
        .check(&principal, clock.now())
        .expect("revoked on the next check");
    assert_eq!(hit.target, target);
    assert_eq!(&*hit.reason, "incident 42");
    assert!(
        list.check(&caller(BILLING, 0x22, "bob", "jti-2"), clock.now())
            .is_none()
    );

    clock.advance(Duration::from_secs(59));
    assert!(list.check(&principal, clock.now()).is_some());
    clock.advance(Duration::from_secs(1));
    assert!(
        list.check(&principal, clock.now()).is_none(),
        "lapses at its expiry"
    );
}

#[test]
fn spiffe_id_revocation_applies_on_next_check_and_lapses_at_expiry() {
    assert_applies_then_lapses(RevocationTarget::SpiffeId(ORDERS.parse().unwrap()));
}

#[test]
fn thumbprint_revocation_applies_on_next_check_and_lapses_at_expiry() {
    assert_applies_then_lapses(RevocationTarget::Thumbprint(CertThumbprint([0x11; 32])));
}

#[test]
fn token_id_revocation_applies_on_next_check_and_lapses_at_expiry() {
    assert_applies_then_lapses(RevocationTarget::token_id(ISSUER, "jti-1"));
}

#[test]
fn subject_revocation_applies_on_next_check_and_lapses_at_expiry() {
    assert_applies_then_lapses(RevocationTarget::subject(ISSUER, "alice"));
}

#[test]
fn token_id_of_another_issuer_is_not_revoked() {
    let clock = clock();
    let list = RevocationList::new();
    let target = RevocationTarget::token_id("https://other.example", "jti-1");
    list.revoke(Revocation::new(target, "x"), clock.now())
        .unwrap();
    assert!(list.check(&alice(), clock.now()).is_none());
}

#[test]
fn revoked_spiffe_id_also_refuses_its_jwt_svids() {
    let clock = clock();
    let list = RevocationList::new();
    let target = RevocationTarget::SpiffeId(BILLING.parse().unwrap());
    list.revoke(Revocation::new(target, "compromised"), clock.now())
        .unwrap();

    let svid_holder = Principal {
        subject: Some(subject(BILLING, None, breach_support::far_future())),
        ..Principal::default()
    };
    let hit = list.check(&svid_holder, clock.now()).unwrap();
    assert_eq!(hit.target.kind(), RevocationKind::SpiffeId);
}

#[test]
fn permanent_revocation_stays_until_released() {
    let clock = clock();
    let list = RevocationList::new();
    let target = RevocationTarget::SpiffeId(ORDERS.parse().unwrap());
    list.revoke(Revocation::new(target.clone(), "x"), clock.now())
        .unwrap();
    clock.advance(Duration::from_secs(10 * 365 * 86_400));
    assert!(list.check(&workload(ORDERS), clock.now()).is_some());

    let released = list.release(&target).unwrap();
    assert_eq!(released.origin, RevocationOrigin::Api);
    assert!(list.check(&workload(ORDERS), clock.now()).is_none());
    assert_eq!(list.runtime_len(), 0);
}

#[test]
fn revocation_decision_is_a_deny_naming_the_target_and_reason() {
    let target = RevocationTarget::token_id(ISSUER, "jti-9");
    let decision = Revocation::new(target, "stolen").to_decision();
    assert_eq!(decision.effect, Effect::Deny);
    let Reason::Revoked(text) = &decision.reason else {
        panic!("unexpected reason {:?}", decision.reason);
    };
    assert!(text.contains("jti-9") && text.contains("stolen"), "{text}");
}

#[test]
fn full_runtime_tier_refuses_new_entries_until_expired_ones_are_purged() {
    let clock = clock();
    let list = RevocationList::with_capacity(16);
    let soon = clock.now() + Duration::from_secs(1);
    let mut refused = 0;
    for i in 0..1_000 {
        let target = RevocationTarget::subject(ISSUER, format!("user-{i}"));
        match list.revoke(Revocation::new(target, "x").until(soon), clock.now()) {
            Ok(()) => {}
            Err(RevocationError::Full { .. }) => refused += 1,
            Err(other) => panic!("unexpected {other}"),
        }
    }
    assert!(refused > 0);
    assert!(list.runtime_len() <= 16);

    // Expired entries make room again.
    clock.advance(Duration::from_secs(1));
    let added = (0..200)
        .filter(|i| {
            let target = RevocationTarget::subject(ISSUER, format!("late-{i}"));
            list.revoke(Revocation::new(target, "x"), clock.now())
                .is_ok()
        })
        .count();
    assert!(added > 0);
    assert!(list.runtime_len() <= 16);
}

/// Replaces the revocation file atomically, as a platform distributing it would.
fn write_file(dir: &tempfile::TempDir, text: &str) -> std::path::PathBuf {
    let path = dir.path().join("revoked.txt");
    let staging = dir.path().join("revoked.txt.new");
    let mut file = std::fs::File::create(&staging).unwrap();
    file.write_all(text.as_bytes()).unwrap();
    file.sync_all().unwrap();
    std::fs::rename(&staging, &path).unwrap();
    path
}

const FILE: &str = "\
# revoked identities
spiffe     spiffe://example.org/ns/prod/sa/orders  expires=2027-01-01T00:01:00Z reason=key leaked
thumbprint 2222222222222222222222222222222222222222222222222222222222222222
token      https://idp.example.org jti-7
subject    https://idp.example.org mallory reason=offboarded
";

#[test]
fn file_entries_of_each_kind_apply_and_expire() {
    let dir = tempfile::tempdir().unwrap();
    let list = RevocationList::from_path(write_file(&dir, FILE)).unwrap();
    let clock = clock();
    assert_eq!(list.len(), 4);

    let hit = list.check(&workload(ORDERS), clock.now()).unwrap();
    assert_eq!(
        (&*hit.reason, hit.origin),
        ("key leaked", RevocationOrigin::File)
    );
    assert!(
        list.check(&caller(BILLING, 0x22, "bob", "x"), clock.now())
            .is_some()
    );
    assert!(
        list.check(&caller(BILLING, 0x33, "bob", "jti-7"), clock.now())
            .is_some()
    );
    assert!(
        list.check(&caller(BILLING, 0x33, "mallory", "x"), clock.now())
            .is_some()
    );
    assert!(
        list.check(&caller(BILLING, 0x33, "bob", "x"), clock.now())
            .is_none()
    );

    clock.advance(Duration::from_secs(60));
    assert!(
        list.check(&workload(ORDERS), clock.now()).is_none(),
        "file entry expired"
    );
}

#[test]
fn bad_file_at_start_up_is_an_error_not_an_empty_list() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(&dir, "spiffe spiffe://example.org/a\nspiffe not-an-id\n");
    match RevocationList::from_path(path) {
        Err(RevocationError::Line { line: 2, .. }) => {}
        other => panic!("expected a line 2 error, got {other:?}"),
    }
}

#[test]
fn reload_with_a_bad_line_keeps_the_previous_list_and_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(&dir, FILE);
    let list = RevocationList::from_path(&path).unwrap();
    let clock = clock();

    write_file(&dir, "subject https://idp.example.org eve\nsubjekt x y\n");
    match list.reload() {
        Err(RevocationError::Line { line: 2, .. }) => {}
        other => panic!("expected a line 2 error, got {other:?}"),
    }
    assert_eq!(list.len(), 4);
    assert!(
        list.check(&workload(ORDERS), clock.now()).is_some(),
        "previous list kept"
    );
    assert!(
        list.check(&caller(BILLING, 0x33, "eve", "x"), clock.now())
            .is_none()
    );
}

#[test]
fn reload_replaces_file_entries_and_keeps_runtime_entries() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(&dir, FILE);
    let list = RevocationList::from_path(&path).unwrap();
    let clock = clock();
    let api = RevocationTarget::subject(ISSUER, "trudy");
    list.revoke(Revocation::new(api, "x"), clock.now()).unwrap();

    write_file(&dir, "subject https://idp.example.org eve\n");
    assert_eq!(list.reload().unwrap(), 1);
    assert!(list.check(&workload(ORDERS), clock.now()).is_none());
    assert!(
        list.check(&caller(BILLING, 0x33, "eve", "x"), clock.now())
            .is_some()
    );
    assert!(
        list.check(&caller(BILLING, 0x33, "trudy", "x"), clock.now())
            .is_some()
    );
}

#[test]
fn watcher_rereads_the_file_when_it_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(&dir, "# nothing yet\n");
    let list = Arc::new(RevocationList::from_path(&path).unwrap());
    let _watcher = list.watch(Duration::from_millis(10)).unwrap();
    let clock = clock();
    let eve = caller(BILLING, 0x33, "eve", "x");

    write_file(&dir, "subject https://idp.example.org eve reason=phished\n");
    let deadline = Instant::now() + Duration::from_secs(10);
    while list.check(&eve, clock.now()).is_none() {
        assert!(
            Instant::now() < deadline,
            "watcher did not pick up the change"
        );
        std::thread::sleep(Duration::from_millis(10));
    }

    // A bad edit is read, refused and counted; eve stays revoked.
    write_file(&dir, "bogus line here\n");
    while list.failed_reloads() == 0 {
        assert!(
            Instant::now() < deadline,
            "watcher did not read the bad file"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(list.check(&eve, clock.now()).is_some());
}

#[test]
fn watcher_stops_when_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(&dir, "# empty\n");
    let list = Arc::new(RevocationList::from_path(&path).unwrap());
    let watcher = list.watch(Duration::from_millis(10)).unwrap();
    drop(watcher);

    write_file(&dir, "subject https://idp.example.org eve\n");
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        list.check(&caller(BILLING, 0x33, "eve", "x"), clock().now())
            .is_none()
    );
}

#[test]
fn list_without_a_file_cannot_reload_or_watch() {
    let list = Arc::new(RevocationList::new());
    assert!(matches!(list.reload(), Err(RevocationError::NoFile)));
    assert!(matches!(
        list.watch(Duration::from_secs(1)),
        Err(RevocationError::NoFile)
    ));
}

#[test]
fn file_and_runtime_entries_of_different_kinds_both_apply() {
    let dir = tempfile::tempdir().unwrap();
    let thumbprint = "11".repeat(32);
    let path = write_file(&dir, &format!("thumbprint {thumbprint}\n"));
    let list = RevocationList::from_path(path).unwrap();
    let clock = clock();
    let target = RevocationTarget::token_id(ISSUER, "jti-2");
    list.revoke(Revocation::new(target, "x"), clock.now())
        .unwrap();

    let by_file = list.check(&alice(), clock.now()).unwrap();
    assert_eq!(by_file.target.kind(), RevocationKind::Thumbprint);
    let by_runtime = list
        .check(&caller(BILLING, 0x22, "bob", "jti-2"), clock.now())
        .unwrap();
    assert_eq!(by_runtime.target.kind(), RevocationKind::TokenId);
    assert!(
        list.check(&caller(BILLING, 0x22, "bob", "jti-3"), clock.now())
            .is_none()
    );
}

/// Collects what a `fmt` subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn rejected_reload_logs_the_line_number_at_warn() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_file(&dir, FILE);
    let list = RevocationList::from_path(&path).unwrap();
    write_file(
        &dir,
        "# ok\n\nsubject https://idp.example.org eve expires=someday\n",
    );

    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let result = tracing::subscriber::with_default(subscriber, || list.reload());

    assert!(matches!(result, Err(RevocationError::Line { line: 3, .. })));
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("WARN"), "{logs}");
    assert!(logs.contains("line 3"), "{logs}");
    assert_eq!(list.len(), 4, "previous list kept");
}
