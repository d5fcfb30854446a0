//! Loading policies: errors with line and column, reloads that keep a working policy.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::Write;

use support::{ask, from_peer};
use zt_core::{PolicyError, PolicyErrorKind, PolicyHandle, RulePolicy};

fn load_error(toml: &str) -> (usize, usize, Option<String>, PolicyErrorKind) {
    match RulePolicy::from_toml(toml) {
        Ok(_) => panic!("policy loaded:\n{toml}"),
        Err(PolicyError::Invalid {
            line,
            column,
            rule,
            kind,
        }) => (line, column, rule, kind),
        Err(other) => panic!("unexpected error {other}"),
    }
}

const HEAD: &str = "[[rule]]\nname = \"r\"\neffect = \"allow\"\n";

#[test]
fn unknown_keys_are_refused_with_their_position() {
    let (line, column, _, kind) = load_error(&format!("{HEAD}anyone = true\npaht = [\"/\"]\n"));
    assert_eq!((line, column), (5, 1));
    assert!(matches!(kind, PolicyErrorKind::Syntax(m) if m.contains("paht")));
    let (line, _, _, _) = load_error("[polcy]\n");
    assert_eq!(line, 1);
}

#[test]
fn unknown_condition_keys_are_refused() {
    let toml = format!("{HEAD}anyone = true\nwhen = [{{ claim = \"a\", equal = 1 }}]\n");
    let (line, _, _, kind) = load_error(&toml);
    assert_eq!(line, 5);
    assert!(matches!(kind, PolicyErrorKind::Syntax(m) if m.contains("equal")));
}

#[test]
fn a_bad_effect_is_refused() {
    let (line, column, _, _) = load_error("[[rule]]\nname = \"r\"\neffect = \"permit\"\n");
    assert_eq!((line, column), (3, 10));
}

#[test]
fn malformed_spiffe_ids_are_refused_at_the_entry() {
    let toml =
        format!("{HEAD}peers = [\n  \"spiffe://a.org/x\",\n  \"spiffe://a.org/x/../y\",\n]\n");
    let (line, column, rule, kind) = load_error(&toml);
    assert_eq!((line, column), (6, 3));
    assert_eq!(rule.as_deref(), Some("r"));
    assert!(matches!(kind, PolicyErrorKind::BadSpiffeId(_)));
    let (_, _, _, kind) = load_error(&format!("{HEAD}trust_domains = [\"a.org:443\"]\n"));
    assert!(matches!(kind, PolicyErrorKind::BadTrustDomain(_)));
}

#[test]
fn malformed_path_patterns_are_refused() {
    for path in ["orders", "/a/*/b", "/a/%2e%2e", "/a;b"] {
        let (line, column, _, kind) =
            load_error(&format!("{HEAD}anyone = true\npaths = [\"{path}\"]\n"));
        assert_eq!((line, column), (5, 10), "{path}");
        assert!(matches!(kind, PolicyErrorKind::BadPathPattern(_)), "{path}");
    }
}

#[test]
fn lowercase_standard_methods_can_never_match() {
    let (_, _, _, kind) = load_error(&format!("{HEAD}anyone = true\nmethods = [\"get\"]\n"));
    assert!(matches!(kind, PolicyErrorKind::NeverMatches(_)));
    let (_, _, _, kind) = load_error(&format!("{HEAD}anyone = true\nmethods = [\"GE T\"]\n"));
    assert!(matches!(kind, PolicyErrorKind::BadMethod(_)));
}

#[test]
fn rules_that_can_never_match_are_refused() {
    let never = [
        "anyone = true\nmethods = []\n",
        "roles = []\n",
        "anyone = false\n",
        "anyone = true\nwhen = [{ claim = \"acr\", gt = 3, lt = 2 }]\n",
        "anyone = true\nwhen = [{ claim = \"acr\", one_of = [] }]\n",
        "anyone = true\nnot_before = 2026-01-02T00:00:00Z\nnot_after = 2026-01-01T00:00:00Z\n",
        "peers = [\"spiffe://example.org\"]\n",
        "anyone = true\nheaders = { \"x-a\" = [] }\n",
    ];
    for body in never {
        let (_, _, _, kind) = load_error(&format!("{HEAD}{body}"));
        assert!(
            matches!(kind, PolicyErrorKind::NeverMatches(_)),
            "{body}: {kind:?}"
        );
    }
}

#[test]
fn a_rule_that_says_nothing_about_the_caller_is_refused() {
    let (line, _, _, kind) = load_error(&format!("{HEAD}paths = [\"/\"]\n"));
    assert_eq!(line, 1);
    assert_eq!(kind, PolicyErrorKind::NoCaller);
}

#[test]
fn malformed_conditions_are_refused() {
    for cond in [
        "{ equals = 1 }",
        "{ claim = \"a\" }",
        "{ claim = \"a\", attribute = \"b\", equals = 1 }",
        "{ claim = \"a\", equals = 1, exists = true }",
        "{ claim = \"a\", gt = 1, ge = 2 }",
        "{ claim = \"a\", equals = 2026-01-01T00:00:00Z }",
    ] {
        let (line, _, _, kind) = load_error(&format!("{HEAD}anyone = true\nwhen = [{cond}]\n"));
        assert_eq!(line, 5, "{cond}");
        assert!(
            matches!(kind, PolicyErrorKind::BadCondition(_)),
            "{cond}: {kind:?}"
        );
    }
}

#[test]
fn datetimes_without_an_offset_are_refused() {
    let (_, _, _, kind) = load_error(&format!("{HEAD}anyone = true\nnot_after = 2026-01-01\n"));
    assert_eq!(kind, PolicyErrorKind::BadDatetime);
}

#[test]
fn duplicate_and_malformed_names_are_refused() {
    let twice = format!("{HEAD}anyone = true\n{HEAD}anyone = true\n");
    let (line, _, _, kind) = load_error(&twice);
    assert_eq!(line, 6);
    assert_eq!(kind, PolicyErrorKind::DuplicateName("r".to_owned()));
    let (_, _, _, kind) =
        load_error("[[rule]]\nname = \"a b\"\neffect = \"deny\"\nanyone = true\n");
    assert_eq!(kind, PolicyErrorKind::BadName);
}

#[test]
fn error_messages_name_the_line_column_and_rule() {
    let err = RulePolicy::from_toml(&format!("{HEAD}anyone = true\nmethods = [\"get\"]\n"))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("policy line 5, column 12 (rule `r`): rule can never match"),
        "{err}"
    );
}

#[test]
fn a_policy_loads_from_a_file_and_a_missing_file_is_an_io_error() {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(file, "{HEAD}anyone = true").unwrap();
    assert_eq!(RulePolicy::from_path(file.path()).unwrap().len(), 1);
    let missing = RulePolicy::from_path("/nonexistent/zt/policy.toml").unwrap_err();
    assert!(matches!(missing, PolicyError::Io { .. }));
}

#[test]
fn a_failed_reload_keeps_the_working_policy() {
    let handle =
        PolicyHandle::new(RulePolicy::from_toml(&format!("{HEAD}anyone = true\n")).unwrap());
    let before = handle.current().revision().to_owned();
    assert!(
        handle
            .reload(&format!("{HEAD}anyone = true\nmethods = [\"get\"]\n"))
            .is_err()
    );
    assert!(
        handle
            .reload_from_path("/nonexistent/zt/policy.toml")
            .is_err()
    );
    assert_eq!(handle.current().revision(), before);
    assert!(
        ask("GET", "/", from_peer("spiffe://a.org/x"))
            .decide(&handle)
            .is_allowed()
    );
}

#[test]
fn a_successful_reload_takes_effect_for_the_next_request() {
    let handle =
        PolicyHandle::new(RulePolicy::from_toml(&format!("{HEAD}anyone = true\n")).unwrap());
    let clone = handle.clone();
    let revision = handle.reload("[policy]\nrevision = \"empty\"\n").unwrap();
    assert_eq!(&*revision, "empty");
    let decision = ask("GET", "/", from_peer("spiffe://a.org/x")).decide(&clone);
    assert!(!decision.is_allowed());
    assert_eq!(decision.revision.as_deref(), Some("empty"));
}

#[test]
fn a_watched_policy_file_is_reloaded_after_it_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.toml");
    std::fs::write(&path, "[policy]\nrevision = \"one\"\n").unwrap();
    let handle = PolicyHandle::new(RulePolicy::from_path(&path).unwrap());
    let interval = std::time::Duration::from_millis(10);
    let _watcher = handle.watch(&path, interval).unwrap();

    // A bad file keeps the working policy.
    std::fs::write(&path, "[policy]\nrevision = 1\n# broken\n").unwrap();
    std::thread::sleep(interval * 10);
    assert_eq!(handle.current().revision(), "one");

    std::fs::write(&path, "[policy]\nrevision = \"two\"\n").unwrap();
    let mut tries = 0;
    while handle.current().revision() != "two" && tries < 500 {
        std::thread::sleep(interval);
        tries += 1;
    }
    assert_eq!(handle.current().revision(), "two");
}
