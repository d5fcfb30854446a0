//! Loads arbitrary text as a rule policy: any input gives a policy or an error with a line
//! and column, never a panic.
#![no_main]

use zt_core::{PolicyError, RulePolicy};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match RulePolicy::from_toml(text) {
        Ok(policy) => assert_eq!(policy.rule_names().count(), policy.len()),
        Err(PolicyError::Invalid { line, column, .. }) => assert!(line >= 1 && column >= 1),
        Err(other) => panic!("unexpected error kind: {other}"),
    }
});
