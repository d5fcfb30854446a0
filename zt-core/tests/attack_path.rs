//! Attacks on `normalize_path`: spellings that another reader would decode into something
//! else.

use zt_core::{PathError, normalize_path};

#[test]
fn iis_style_double_encoded_escapes_are_refused() {
    for raw in [
        "/a/%25u002e%25u002e/admin",
        "/a/%25U002E%25U002E/admin",
        "/a%25u002fadmin",
        "/a%25%75002fadmin",
    ] {
        assert!(
            matches!(normalize_path(raw), Err(PathError::DoubleEncoded { .. })),
            "{raw}: {:?}",
            normalize_path(raw)
        );
    }
    // `%25u` followed by something other than four hex digits is just text.
    assert_eq!(
        normalize_path("/a%25user").map(|p| p.to_string()),
        Ok("/a%25user".to_owned())
    );
}

#[test]
fn every_character_allowed_raw_has_one_spelling_after_normalization() {
    // A router's path extractor decodes `%40` to `@`; the policy must see the same `@`.
    for c in "!$&'()*+,=:@".chars() {
        let escaped = format!("/a%{:02X}b", u32::from(c));
        let lower = escaped.to_ascii_lowercase();
        let raw = format!("/a{c}b");
        assert_eq!(normalize_path(&escaped), normalize_path(&raw), "{escaped}");
        assert_eq!(normalize_path(&lower), normalize_path(&raw), "{lower}");
        assert_eq!(normalize_path(&raw).map(|p| p.to_string()), Ok(raw.clone()));
    }
    assert_eq!(
        normalize_path("/users/root%40example.org").map(|p| p.to_string()),
        Ok("/users/root@example.org".to_owned())
    );
}

mod spellings {
    use proptest::prelude::*;
    use zt_core::normalize_path;

    /// `raw` with the characters picked by `mask` written as escapes (hex case by `upper`).
    fn escape_some(raw: &str, mask: &[bool], upper: bool) -> String {
        raw.chars()
            .zip(mask.iter().cycle())
            .map(|(c, &escape)| match escape && c != '/' {
                true if upper => format!("%{:02X}", u32::from(c)),
                true => format!("%{:02x}", u32::from(c)),
                false => c.to_string(),
            })
            .collect()
    }

    proptest! {
        #[test]
        fn an_escaped_spelling_normalizes_to_the_same_path_or_is_refused(
            raw in "(/[a-zA-Z0-9_~!$&'()*+,=:@.-]{0,4}){1,5}",
            mask in proptest::collection::vec(any::<bool>(), 1..8),
            upper in any::<bool>(),
        ) {
            let plain = normalize_path(&raw);
            let escaped = escape_some(&raw, &mask, upper);
            if let Ok(other) = normalize_path(&escaped) {
                prop_assert_eq!(Ok(other), plain, "{} vs {}", escaped, raw);
            }
        }
    }
}
