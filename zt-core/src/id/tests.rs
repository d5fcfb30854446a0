use proptest::prelude::*;

use super::*;

fn id_error(input: &str) -> IdError {
    match SpiffeId::new(input) {
        Ok(id) => panic!("{input:?} parsed as {id}"),
        Err(e) => e,
    }
}

#[test]
fn well_formed_ids_parse_and_print_back() {
    for input in [
        "spiffe://example.org/ns/prod/sa/orders",
        "spiffe://example.org",
        "spiffe://a-b_c.0/x.y-z_1/A",
        "spiffe://example.org/...",
    ] {
        assert_eq!(SpiffeId::new(input).unwrap().to_string(), input);
    }
}

#[test]
fn scheme_and_trust_domain_are_case_insensitive_and_stored_lowercase() {
    let upper: SpiffeId = "SPIFFE://EXAMPLE.org/Ns/A".parse().unwrap();
    let lower: SpiffeId = "spiffe://example.org/Ns/A".parse().unwrap();
    assert_eq!(upper, lower);
    assert_eq!(upper.to_string(), "spiffe://example.org/Ns/A");
    assert_eq!(upper.trust_domain().as_str(), "example.org");
}

#[test]
fn paths_keep_their_case() {
    let a: SpiffeId = "spiffe://example.org/A".parse().unwrap();
    let b: SpiffeId = "spiffe://example.org/a".parse().unwrap();
    assert_ne!(a, b);
    assert_eq!(a.path(), "/A");
}

#[test]
fn other_schemes_are_refused() {
    for input in [
        "https://example.org/a",
        "spiffe:/example.org/a",
        "example.org/a",
        "spiffe:",
    ] {
        assert_eq!(id_error(input), IdError::WrongScheme, "{input}");
    }
}

#[test]
fn empty_input_is_refused() {
    assert_eq!(id_error(""), IdError::Empty);
    assert_eq!(id_error("spiffe://"), IdError::EmptyTrustDomain);
    assert_eq!(id_error("spiffe:///a"), IdError::EmptyTrustDomain);
}

#[test]
fn ports_user_info_queries_and_fragments_are_refused() {
    assert_eq!(
        id_error("spiffe://example.org:443/a"),
        IdError::PortNotAllowed
    );
    assert_eq!(
        id_error("spiffe://user@example.org/a"),
        IdError::UserInfoNotAllowed
    );
    assert_eq!(
        id_error("spiffe://example.org/a?x=1"),
        IdError::QueryOrFragment
    );
    assert_eq!(
        id_error("spiffe://example.org/a#f"),
        IdError::QueryOrFragment
    );
}

#[test]
fn percent_encoding_is_refused() {
    assert_eq!(
        id_error("spiffe://example.org/a%2Fb"),
        IdError::PercentEncoded
    );
    assert_eq!(
        id_error("spiffe://exa%6dple.org/a"),
        IdError::PercentEncoded
    );
}

#[test]
fn empty_dot_and_trailing_segments_are_refused() {
    assert_eq!(id_error("spiffe://example.org/a//b"), IdError::EmptySegment);
    assert_eq!(id_error("spiffe://example.org/a/./b"), IdError::DotSegment);
    assert_eq!(id_error("spiffe://example.org/a/.."), IdError::DotSegment);
    assert_eq!(id_error("spiffe://example.org/a/"), IdError::TrailingSlash);
    assert_eq!(id_error("spiffe://example.org/"), IdError::TrailingSlash);
}

#[test]
fn characters_outside_the_allowed_sets_are_refused() {
    assert_eq!(
        id_error("spiffe://exa*mple.org/a"),
        IdError::BadTrustDomainChar { found: '*' }
    );
    assert_eq!(
        id_error("spiffe://example.org/a+b"),
        IdError::BadPathChar { found: '+' }
    );
    assert_eq!(
        id_error("spiffe://example.org/a:b"),
        IdError::BadPathChar { found: ':' }
    );
}

#[test]
fn non_ascii_is_refused_before_any_case_folding() {
    // U+212A KELVIN SIGN lowercases to `k` under Unicode rules; it must not fold.
    assert!(matches!(
        id_error("spiffe://\u{212a}.org/a"),
        IdError::NotAscii { offset: 9 }
    ));
    assert!(matches!(
        id_error("spiffe://example.org/caf\u{e9}"),
        IdError::NotAscii { .. }
    ));
    assert!(matches!(
        id_error("spiffe://example.org/a b"),
        IdError::NotAscii { .. }
    ));
}

#[test]
fn overlong_ids_and_trust_domains_are_refused() {
    let long_td = format!("spiffe://{}/a", "a".repeat(MAX_TRUST_DOMAIN_LEN + 1));
    assert_eq!(id_error(&long_td), IdError::TrustDomainTooLong { len: 256 });
    let max_td = format!("spiffe://{}/a", "a".repeat(MAX_TRUST_DOMAIN_LEN));
    assert!(SpiffeId::new(&max_td).is_ok());
    let long = format!("spiffe://example.org/{}", "a".repeat(MAX_ID_LEN));
    assert!(matches!(id_error(&long), IdError::TooLong { .. }));
    let exact = format!("spiffe://example.org/{}", "a".repeat(MAX_ID_LEN - 21));
    assert_eq!(exact.len(), MAX_ID_LEN);
    assert!(SpiffeId::new(&exact).is_ok());
}

#[test]
fn membership_compares_trust_domains_as_values() {
    let id: SpiffeId = "spiffe://example.org/a".parse().unwrap();
    assert!(id.is_member_of(&"EXAMPLE.ORG".parse().unwrap()));
    assert!(!id.is_member_of(&"example.org.evil".parse().unwrap()));
    assert!(!id.is_member_of(&"org".parse().unwrap()));
}

#[test]
fn trust_domains_parse_bare_or_as_ids() {
    assert_eq!(
        TrustDomain::new("spiffe://Example.org").unwrap().as_str(),
        "example.org"
    );
    assert_eq!(
        TrustDomain::new("https://example.org"),
        Err(IdError::WrongScheme)
    );
    assert_eq!(
        TrustDomain::new("example.org:80"),
        Err(IdError::PortNotAllowed)
    );
}

#[test]
fn ids_built_from_parts_follow_the_same_rules() {
    let td: TrustDomain = "example.org".parse().unwrap();
    assert_eq!(
        SpiffeId::from_parts(td.clone(), "/a/b").unwrap(),
        "spiffe://example.org/a/b".parse().unwrap()
    );
    assert_eq!(
        SpiffeId::from_parts(td.clone(), "a"),
        Err(IdError::PathNotAbsolute)
    );
    assert_eq!(
        SpiffeId::from_parts(td, "/a/../b"),
        Err(IdError::DotSegment)
    );
}

#[test]
fn ids_round_trip_through_serde() {
    let id: SpiffeId = "spiffe://example.org/a".parse().unwrap();
    let json = serde_json::to_string(&id).unwrap();
    assert_eq!(json, "\"spiffe://example.org/a\"");
    assert_eq!(serde_json::from_str::<SpiffeId>(&json).unwrap(), id);
    assert!(serde_json::from_str::<SpiffeId>("\"spiffe://example.org/a/\"").is_err());
}

fn trust_domain_name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9._-]{1,40}"
}

fn id_path() -> impl Strategy<Value = String> {
    let segment =
        "[a-zA-Z0-9._-]{1,12}".prop_filter("not a dot segment", |s| s != "." && s != "..");
    proptest::collection::vec(segment, 0..6)
        .prop_map(|segments| segments.iter().map(|s| format!("/{s}")).collect())
}

proptest! {
    #[test]
    fn every_printed_id_parses_back_to_the_same_value(
        td in trust_domain_name(),
        path in id_path(),
    ) {
        let id = SpiffeId::new(&format!("spiffe://{td}{path}")).unwrap();
        let printed = id.to_string();
        prop_assert_eq!(SpiffeId::new(&printed).unwrap(), id.clone());
        // Only the trust domain is folded; the path keeps its case.
        let expected = format!("spiffe://{}{path}", td.to_ascii_lowercase());
        prop_assert_eq!(printed, expected);
        prop_assert_eq!(id.path(), path.as_str());
    }

    #[test]
    fn arbitrary_input_never_panics_and_accepted_ids_round_trip(input in "\\PC{0,60}") {
        if let Ok(id) = SpiffeId::new(&input) {
            prop_assert_eq!(SpiffeId::new(&id.to_string()), Ok(id));
        }
    }

    #[test]
    fn id_like_input_round_trips_when_accepted(input in "spiffe://[a-zA-Z0-9.%:@/_-]{0,30}") {
        if let Ok(id) = SpiffeId::new(&input) {
            prop_assert_eq!(SpiffeId::new(&id.to_string()), Ok(id.clone()));
            prop_assert!(input.eq_ignore_ascii_case(&id.to_string()));
        }
    }
}
