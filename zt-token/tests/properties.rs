//! Properties: no input panics or passes unless it is a genuine token, byte for byte.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text_never_validates(text in ".{0,600}") {
        let key = TestKey::es256("ec");
        let (validator, _) = validator(&[&key]);
        prop_assert!(check(&validator, &text).is_err());
    }

    #[test]
    fn arbitrary_jws_shaped_text_never_validates(
        header in "[A-Za-z0-9_-]{0,80}",
        payload in "[A-Za-z0-9_-]{0,200}",
        signature in "[A-Za-z0-9_-]{0,100}",
    ) {
        let key = TestKey::es256("ec");
        let (validator, _) = validator(&[&key]);
        let token = format!("{header}.{payload}.{signature}");
        prop_assert!(check(&validator, &token).is_err());
    }

    #[test]
    fn any_single_character_change_to_a_valid_token_is_refused(
        at in any::<prop::sample::Index>(),
        replacement in "[A-Za-z0-9_.=+/-]",
    ) {
        let key = TestKey::ed25519("ed");
        let (validator, _) = validator(&[&key]);
        let token = key.token(&claims());
        let at = at.index(token.len());
        let mut forged = token.clone();
        forged.replace_range(at..=at, &replacement);
        prop_assume!(forged != token);
        prop_assert!(check(&validator, &forged).is_err());
        prop_assert!(check(&validator, &token).is_ok());
    }
}
