use proptest::prelude::*;

use super::*;

fn norm(raw: &str) -> String {
    match normalize_path(raw) {
        Ok(path) => path.as_str().to_owned(),
        Err(e) => panic!("{raw:?} was refused: {e}"),
    }
}

fn refused(raw: &str) -> PathError {
    match normalize_path(raw) {
        Ok(path) => panic!("{raw:?} was accepted as {path:?}"),
        Err(e) => e,
    }
}

#[test]
fn already_normal_paths_are_recognized_and_others_are_not() {
    for normal in ["/", "/orders/42", "/a/b/", "/a.b/~c:d@e"] {
        assert!(is_already_normal(normal), "{normal}");
    }
    for other in [
        "/a//b", "//", "/a/./b", "/a/..", "/a/.", "/%41", "/a;b", "/a\\b", "/a b",
    ] {
        assert!(!is_already_normal(other), "{other}");
        if let Ok(path) = normalize_segments(other) {
            assert_eq!(normalize_path(other), Ok(path));
        }
    }
}

#[test]
fn plain_paths_stay_as_they_are() {
    for path in [
        "/",
        "/orders",
        "/orders/42",
        "/a/b/c/",
        "/~user",
        "/a:b@c!$&'()*+,=",
    ] {
        assert_eq!(norm(path), path);
    }
}

#[test]
fn duplicate_slashes_are_merged() {
    assert_eq!(norm("//admin"), "/admin");
    assert_eq!(norm("/a//b///c"), "/a/b/c");
    assert_eq!(norm("/a/b//"), "/a/b/");
    assert_eq!(norm("////"), "/");
}

#[test]
fn dot_segments_are_resolved() {
    assert_eq!(norm("/a/./b"), "/a/b");
    assert_eq!(norm("/a/x/../b"), "/a/b");
    assert_eq!(norm("/a/b/.."), "/a/");
    assert_eq!(norm("/a/b/."), "/a/b/");
    assert_eq!(norm("/public/../admin"), "/admin");
}

#[test]
fn dot_segments_never_climb_above_the_root() {
    assert_eq!(norm("/.."), "/");
    assert_eq!(norm("/../../etc/passwd"), "/etc/passwd");
    assert_eq!(norm("/a/../../../b"), "/b");
}

#[test]
fn encoded_dot_segments_are_refused_in_any_spelling() {
    for (raw, offset) in [
        ("/public/%2e%2e/admin", 8),
        ("/public/%2E%2E/admin", 8),
        ("/public/.%2e/admin", 8),
        ("/public/%2e./admin", 8),
        ("/public/%2e/admin", 8),
        ("/%2e%2e", 1),
    ] {
        assert_eq!(
            refused(raw),
            PathError::EncodedDotSegment { offset },
            "{raw}"
        );
    }
}

#[test]
fn encoded_dots_inside_a_name_are_decoded() {
    assert_eq!(norm("/a/%2e%2e%2e"), "/a/...");
    assert_eq!(norm("/a/%2ewell-known"), "/a/.well-known");
}

#[test]
fn dots_inside_a_segment_are_not_dot_segments() {
    assert_eq!(norm("/a/.../b"), "/a/.../b");
    assert_eq!(norm("/a/..b/c"), "/a/..b/c");
    assert_eq!(norm("/a/.well-known"), "/a/.well-known");
}

#[test]
fn unreserved_escapes_are_decoded_in_either_case() {
    assert_eq!(norm("/%61dmin"), "/admin");
    assert_eq!(norm("/%41%42"), "/AB");
    assert_eq!(norm("/%7euser"), "/~user");
    assert_eq!(norm("/%7Euser"), "/~user");
}

#[test]
fn other_escapes_are_kept_in_uppercase() {
    assert_eq!(norm("/a%20b"), "/a%20b");
    assert_eq!(norm("/caf%c3%a9"), "/caf%C3%A9");
    assert_eq!(norm("/q%3fx"), "/q%3Fx");
    assert_eq!(norm("/%25"), "/%25");
}

#[test]
fn raw_characters_outside_the_path_set_are_encoded() {
    assert_eq!(norm("/a\"b"), "/a%22b");
    assert_eq!(norm("/{x}"), "/%7Bx%7D");
    assert_eq!(norm("/a|b"), "/a%7Cb");
}

#[test]
fn query_and_fragment_are_excluded() {
    assert_eq!(norm("/a/b?x=1/../c"), "/a/b");
    assert_eq!(norm("/a#frag"), "/a");
    assert_eq!(norm("/?"), "/");
}

#[test]
fn encoded_slashes_are_refused_in_any_case() {
    assert_eq!(
        refused("/admin%2Fusers"),
        PathError::EncodedSeparator { offset: 6 }
    );
    assert_eq!(
        refused("/admin%2fusers"),
        PathError::EncodedSeparator { offset: 6 }
    );
    assert_eq!(refused("/a/%2F"), PathError::EncodedSeparator { offset: 3 });
}

#[test]
fn encoded_and_raw_backslashes_are_refused() {
    assert_eq!(refused("/a%5Cb"), PathError::EncodedSeparator { offset: 2 });
    assert_eq!(refused("/a%5cb"), PathError::EncodedSeparator { offset: 2 });
    assert_eq!(refused("/a\\..\\admin"), PathError::Backslash { offset: 2 });
}

#[test]
fn encoded_nul_and_control_characters_are_refused() {
    assert_eq!(
        refused("/a%00.html"),
        PathError::ControlCharacter { offset: 2 }
    );
    assert_eq!(
        refused("/a%0d%0a"),
        PathError::ControlCharacter { offset: 2 }
    );
    assert_eq!(refused("/a%7F"), PathError::ControlCharacter { offset: 2 });
}

#[test]
fn path_parameters_are_refused_raw_or_encoded() {
    assert_eq!(
        refused("/admin;x=1"),
        PathError::PathParameter { offset: 6 }
    );
    assert_eq!(
        refused("/public/..;/admin"),
        PathError::PathParameter { offset: 10 }
    );
    assert_eq!(refused("/a%3bb"), PathError::PathParameter { offset: 2 });
}

#[test]
fn double_encoded_escapes_are_refused() {
    assert!(matches!(
        refused("/a%252F"),
        PathError::DoubleEncoded { .. }
    ));
    assert!(matches!(
        refused("/%252e%252e/admin"),
        PathError::DoubleEncoded { .. }
    ));
    assert!(matches!(
        refused("/a%25%32%46"),
        PathError::DoubleEncoded { .. }
    ));
}

#[test]
fn malformed_escapes_are_refused() {
    assert_eq!(refused("/a%"), PathError::MalformedEscape { offset: 2 });
    assert_eq!(refused("/a%2"), PathError::MalformedEscape { offset: 2 });
    assert_eq!(refused("/a%g1"), PathError::MalformedEscape { offset: 2 });
    assert_eq!(refused("/a%%41"), PathError::MalformedEscape { offset: 2 });
}

#[test]
fn overlong_utf8_escapes_are_refused() {
    // `%C0%AE` is an overlong `.`; `%C0%AF` an overlong `/`; `%E0%80%AF` likewise.
    assert!(matches!(
        refused("/%C0%AE%C0%AE/admin"),
        PathError::InvalidUtf8 { .. }
    ));
    assert!(matches!(
        refused("/a%c0%afb"),
        PathError::InvalidUtf8 { .. }
    ));
    assert!(matches!(
        refused("/a%E0%80%AFb"),
        PathError::InvalidUtf8 { .. }
    ));
}

#[test]
fn invalid_utf8_escapes_are_refused() {
    assert!(matches!(
        refused("/%FF"),
        PathError::InvalidUtf8 { offset: 1 }
    ));
    assert!(matches!(refused("/%C3"), PathError::InvalidUtf8 { .. }));
    assert!(matches!(refused("/%C3/%A9"), PathError::InvalidUtf8 { .. }));
    assert!(matches!(
        refused("/%ED%A0%80"),
        PathError::InvalidUtf8 { .. }
    ));
}

#[test]
fn raw_bytes_outside_visible_ascii_are_refused() {
    assert_eq!(refused("/a b"), PathError::InvalidCharacter { offset: 2 });
    assert_eq!(refused("/a\tb"), PathError::InvalidCharacter { offset: 2 });
    assert_eq!(
        refused("/caf\u{e9}"),
        PathError::InvalidCharacter { offset: 4 }
    );
}

#[test]
fn relative_empty_and_asterisk_paths_are_refused() {
    for raw in ["", "a/b", "*", "?x", "http://example.org/a"] {
        assert_eq!(refused(raw), PathError::NotAbsolute, "{raw:?}");
    }
}

#[test]
fn overly_long_paths_are_refused() {
    let raw = format!("/{}", "a".repeat(MAX_PATH_LEN));
    assert_eq!(
        refused(&raw),
        PathError::TooLong {
            len: MAX_PATH_LEN + 1
        }
    );
}

#[test]
fn segments_are_split_at_slashes() {
    let path = normalize_path("/a/b/").unwrap();
    assert_eq!(path.segments().collect::<Vec<_>>(), ["a", "b", ""]);
    assert_eq!(NormalizedPath::root().segments().collect::<Vec<_>>(), [""]);
}

fn path_like() -> impl Strategy<Value = String> {
    let atom = prop_oneof![
        Just("/".to_owned()),
        Just(".".to_owned()),
        Just("..".to_owned()),
        Just("%2e".to_owned()),
        Just("%2E".to_owned()),
        Just("%41".to_owned()),
        Just("%7e".to_owned()),
        Just("%20".to_owned()),
        Just("%c3%a9".to_owned()),
        Just("%25".to_owned()),
        Just("%40".to_owned()),
        Just("%3a".to_owned()),
        Just("%2B".to_owned()),
        Just("%75".to_owned()),
        Just("?".to_owned()),
        "[a-zA-Z0-9_~!$&'()*+,=:@\"{}|^-]{1,3}",
    ];
    proptest::collection::vec(atom, 0..12).prop_map(|atoms| format!("/{}", atoms.concat()))
}

proptest! {
    #[test]
    fn normalization_is_idempotent(raw in path_like()) {
        if let Ok(once) = normalize_path(&raw) {
            let twice = normalize_path(once.as_str());
            prop_assert_eq!(twice.as_ref(), Ok(&once));
        }
    }

    #[test]
    fn normalized_paths_hold_no_empty_or_dot_segments(raw in path_like()) {
        if let Ok(path) = normalize_path(&raw) {
            let s = path.as_str();
            prop_assert!(s.starts_with('/'));
            for bad in ["//", "/./", "/../"] {
                prop_assert!(!s.contains(bad), "{} holds {}", s, bad);
            }
            prop_assert!(!s.ends_with("/.") && !s.ends_with("/.."), "{}", s);
        }
    }

    #[test]
    fn shortcut_for_normal_paths_agrees_with_full_normalization(raw in path_like()) {
        let path = raw.split(['?', '#']).next().unwrap_or_default();
        if path.starts_with('/') && is_already_normal(path) {
            prop_assert_eq!(normalize_segments(path).map(|p| p.0), Ok(path.to_owned()));
        }
    }

    #[test]
    fn arbitrary_input_never_panics_and_output_is_stable(raw in "\\PC{0,40}") {
        if let Ok(once) = normalize_path(&raw) {
            prop_assert_eq!(normalize_path(once.as_str()), Ok(once.clone()));
            prop_assert!(once.as_str().bytes().all(|b| (0x21..=0x7e).contains(&b)));
        }
    }
}
