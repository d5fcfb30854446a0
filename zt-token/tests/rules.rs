//! Every validation rule and bad input of the issue, each a typed rejection.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use zt_token::{Issuer, KeySet, KeySetError, KeySource, TokenError, Validator};

fn rejects(validator: &Validator, token: &str, expected: TokenError) {
    let error = check(validator, token).expect_err("token must be rejected");
    assert_eq!(error, expected);
    let shown = error.to_string();
    assert!(
        !shown.contains(token),
        "error text must not contain the token"
    );
    for segment in token.split('.').filter(|s| s.len() > 8) {
        assert!(
            !shown.contains(segment),
            "error text must not contain a token segment"
        );
    }
}

#[test]
fn es256_eddsa_and_rs256_tokens_validate() {
    let keys = [
        TestKey::es256("ec"),
        TestKey::ed25519("ed"),
        TestKey::rsa("rsa", RSA_2048),
    ];
    let (validator, _) = validator(&keys.iter().collect::<Vec<_>>());
    for key in &keys {
        let subject = check(&validator, &key.token(&claims())).unwrap();
        assert_eq!(&*subject.subject, "alice");
        assert_eq!(&*subject.issuer, ISS);
        assert_eq!(subject.audiences, vec![AUD.to_owned()]);
        assert_eq!(subject.roles, vec!["read".to_owned(), "write".to_owned()]);
        assert_eq!(subject.token_id.as_deref(), Some("t1"));
    }
}

#[test]
fn fully_specified_ed25519_algorithm_name_is_accepted() {
    let key = TestKey::ed25519("ed");
    let (validator, _) = validator(&[&key]);
    let header = json!({ "alg": "Ed25519", "kid": "ed" });
    assert!(check(&validator, &key.sign(&header, &claims())).is_ok());
}

#[test]
fn alg_none_never_verifies() {
    let key = TestKey::es256("ec");
    let (validator, _) = validator(&[&key]);
    let unsigned = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","kid":"ec"}"#),
        b64(claims().to_string().as_bytes())
    );
    rejects(&validator, &unsigned, TokenError::AlgorithmNone);
    let upper = unsigned.replacen(
        &b64(br#"{"alg":"none","kid":"ec"}"#),
        &b64(br#"{"alg":"NONE"}"#),
        1,
    );
    rejects(&validator, &upper, TokenError::AlgorithmNone);
}

#[test]
fn hs256_token_signed_with_the_rsa_public_key_as_secret_is_refused() {
    let rsa = TestKey::rsa("rsa", RSA_2048);
    let (validator, _) = validator(&[&rsa]);
    let secret = rsa.jwk["n"].as_str().unwrap().as_bytes().to_vec();
    let hmac = TestKey {
        kid: "rsa".into(),
        alg: jsonwebtoken::Algorithm::HS256,
        key: jsonwebtoken::EncodingKey::from_secret(&secret),
        jwk: json!({}),
    };
    rejects(
        &validator,
        &hmac.token(&claims()),
        TokenError::AlgorithmNotAllowed,
    );
}

#[test]
fn symmetric_algorithms_cannot_be_allowed() {
    let key = TestKey::es256("ec");
    let issuer = issuer(&[&key]).algorithms([jsonwebtoken::Algorithm::HS256]);
    assert!(Validator::builder().issuer(issuer).build().is_err());
}

#[test]
fn header_algorithm_disagreeing_with_the_key_is_refused() {
    let ec = TestKey::es256("ec");
    let rsa = TestKey::rsa("rsa", RSA_2048);
    let (validator, _) = validator(&[&ec]);
    // Signed by an RSA key but naming the EC key's kid: the key decides, not the header.
    let header = json!({ "alg": "RS256", "kid": "ec" });
    rejects(
        &validator,
        &rsa.sign(&header, &claims()),
        TokenError::KeyAlgorithmMismatch,
    );
}

#[test]
fn algorithm_outside_the_allowlist_is_refused() {
    let key = TestKey::ed25519("ed");
    let issuer = issuer(&[&key]).algorithms([jsonwebtoken::Algorithm::ES256]);
    let validator = validator_with(issuer, &clock());
    rejects(
        &validator,
        &key.token(&claims()),
        TokenError::AlgorithmNotAllowed,
    );
}

#[test]
fn missing_exp_is_refused() {
    let key = TestKey::es256("ec");
    let (validator, _) = validator(&[&key]);
    let mut c = claims();
    c.as_object_mut().unwrap().remove("exp");
    let expected = TokenError::MissingClaim {
        claim: "exp".into(),
    };
    rejects(&validator, &key.token(&c), expected);
}

#[test]
fn exp_equal_to_now_is_expired() {
    let key = TestKey::es256("ec");
    let (validator, _) = validator(&[&key]);
    let mut c = claims();
    c["exp"] = json!(NOW);
    rejects(&validator, &key.token(&c), TokenError::Expired);
    c["exp"] = json!(NOW + 1);
    assert!(check(&validator, &key.token(&c)).is_ok());
}

#[test]
fn lifetime_above_the_maximum_is_refused() {
    let key = TestKey::es256("ec");
    let (validator, _) = validator(&[&key]);
    let mut c = claims();
    c["exp"] = json!(NOW + 16 * 60);
    let error = check(&validator, &key.token(&c)).unwrap_err();
    assert!(
        matches!(error, TokenError::LifetimeTooLong { .. }),
        "{error:?}"
    );

    // Without `iat` the lifetime runs from now.
    c.as_object_mut().unwrap().remove("iat");
    let error = check(&validator, &key.token(&c)).unwrap_err();
    assert!(
        matches!(error, TokenError::LifetimeTooLong { .. }),
        "{error:?}"
    );
}

#[test]
fn nbf_in_the_future_beyond_leeway_is_refused() {
    let key = TestKey::es256("ec");
    let clock = clock();
    let validator = validator_with(issuer(&[&key]).leeway(Duration::from_secs(10)), &clock);
    let mut c = claims();
    c["nbf"] = json!(NOW + 11);
    rejects(&validator, &key.token(&c), TokenError::NotYetValid);
    c["nbf"] = json!(NOW + 10);
    assert!(check(&validator, &key.token(&c)).is_ok());
}

#[test]
fn iat_in_the_future_beyond_leeway_is_refused() {
    let key = TestKey::es256("ec");
    let (validator, _) = validator(&[&key]);
    let mut c = claims();
    c["iat"] = json!(NOW + 5);
    rejects(&validator, &key.token(&c), TokenError::IssuedInFuture);
}

#[test]
fn jku_x5u_and_embedded_jwk_headers_are_ignored() {
    let trusted = TestKey::es256("ec");
    let attacker = TestKey::es256("evil");
    let (validator, _) = validator(&[&trusted]);

    // An attacker-signed token pointing at its own keys stays unverifiable.
    let header = json!({
        "alg": "ES256", "kid": "evil", "jwk": attacker.jwk,
        "jku": "https://evil.example/jwks", "x5u": "https://evil.example/cert",
    });
    rejects(
        &validator,
        &attacker.sign(&header, &claims()),
        TokenError::UnknownKey,
    );

    // The same headers on a genuine token change nothing.
    let mut header = header;
    header["kid"] = json!("ec");
    assert!(check(&validator, &trusted.sign(&header, &claims())).is_ok());
}

#[test]
fn unknown_crit_header_is_refused() {
    let key = TestKey::es256("ec");
    let (validator, _) = validator(&[&key]);
    let header = json!({ "alg": "ES256", "kid": "ec", "crit": ["exp"], "exp": 1 });
    rejects(
        &validator,
        &key.sign(&header, &claims()),
        TokenError::UnknownCriticalHeader,
    );
}

#[test]
fn encrypted_and_nested_tokens_are_refused() {
    let key = TestKey::es256("ec");
    let (validator, _) = validator(&[&key]);
    rejects(
        &validator,
        "eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d",
        TokenError::Encrypted,
    );
    let jwe_header = json!({ "alg": "ES256", "kid": "ec", "enc": "A256GCM" });
    rejects(
        &validator,
        &key.sign(&jwe_header, &claims()),
        TokenError::Encrypted,
    );
    let nested = json!({ "alg": "ES256", "kid": "ec", "cty": "JWT" });
    rejects(
        &validator,
        &key.sign(&nested, &claims()),
        TokenError::Nested,
    );
}

#[test]
fn oversized_token_is_refused_before_decoding() {
    let key = TestKey::es256("ec");
    let (validator, _) = validator(&[&key]);
    let huge = "a".repeat(8 * 1024 + 1);
    rejects(
        &validator,
        &huge,
        TokenError::TooLarge {
            len: huge.len(),
            max: 8 * 1024,
        },
    );
}

#[test]
fn iss_must_be_a_single_trusted_string() {
    let key = TestKey::es256("ec");
    let (validator, _) = validator(&[&key]);
    let mut c = claims();
    c["iss"] = json!([ISS]);
    rejects(&validator, &key.token(&c), TokenError::IssuerNotString);
    c["iss"] = json!("https://other.example");
    rejects(&validator, &key.token(&c), TokenError::UnknownIssuer);
    c.as_object_mut().unwrap().remove("iss");
    rejects(&validator, &key.token(&c), TokenError::MissingIssuer);
}

#[test]
fn aud_and_sub_must_be_present_and_aud_accepted() {
    let key = TestKey::es256("ec");
    let (validator, _) = validator(&[&key]);
    let mut c = claims();
    c["aud"] = json!(["billing", "shipping"]);
    rejects(&validator, &key.token(&c), TokenError::AudienceNotAccepted);
    c["aud"] = json!(["billing", AUD]);
    assert!(check(&validator, &key.token(&c)).is_ok());
    c.as_object_mut().unwrap().remove("aud");
    rejects(
        &validator,
        &key.token(&c),
        TokenError::MissingClaim {
            claim: "aud".into(),
        },
    );
    let mut c = claims();
    c.as_object_mut().unwrap().remove("sub");
    rejects(
        &validator,
        &key.token(&c),
        TokenError::MissingClaim {
            claim: "sub".into(),
        },
    );
}

#[test]
fn configured_required_claim_must_be_present() {
    let key = TestKey::es256("ec");
    let validator = validator_with(issuer(&[&key]).require_claim("tenant"), &clock());
    let expected = TokenError::MissingClaim {
        claim: "tenant".into(),
    };
    rejects(&validator, &key.token(&claims()), expected);
    let mut c = claims();
    c["tenant"] = json!("acme");
    assert!(check(&validator, &key.token(&c)).is_ok());
}

#[test]
fn expected_type_is_enforced() {
    let key = TestKey::es256("ec");
    let validator = validator_with(issuer(&[&key]).expected_type("at+jwt"), &clock());
    assert!(check(&validator, &key.token(&claims())).is_ok());
    let header = json!({ "alg": "ES256", "kid": "ec", "typ": "JWT" });
    let error = check(&validator, &key.sign(&header, &claims())).unwrap_err();
    assert!(matches!(error, TokenError::WrongType { .. }));
    let header = json!({ "alg": "ES256", "kid": "ec", "typ": "application/AT+JWT" });
    assert!(check(&validator, &key.sign(&header, &claims())).is_ok());
}

#[test]
fn rsa_key_under_2048_bits_is_refused_with_a_message_saying_so() {
    // A 1024-bit modulus (aws-lc refuses to even load such a private key, so only the
    // public half is made here).
    let small =
        json!({"keys": [{"kty": "RSA", "kid": "small", "n": b64(&[0xc5; 128]), "e": "AQAB"}]});
    let error = KeySet::from_jwks(&small).unwrap_err();
    assert!(matches!(
        error,
        KeySetError::RsaKeyTooSmall { bits: 1024, .. }
    ));
    assert!(error.to_string().contains("1024-bit"), "{error}");
    assert!(error.to_string().contains("2048"), "{error}");
}

#[test]
fn kid_naming_another_issuers_key_is_refused() {
    let a = TestKey::es256("key-a");
    let b = TestKey::es256("key-b");
    let other = "https://other.example";
    let clock = clock();
    let validator = Validator::builder()
        .issuer(issuer(&[&a]))
        .issuer(Issuer::new(other, KeySource::from_jwks(&jwks(&[&b])).unwrap()).audience(AUD))
        .clock(std::sync::Arc::new(clock))
        .build()
        .unwrap();
    // Signed by issuer B's key, claiming issuer A.
    rejects(&validator, &b.token(&claims()), TokenError::UnknownKey);
    let mut c = claims();
    c["iss"] = json!(other);
    assert!(check(&validator, &b.token(&c)).is_ok());
}

#[test]
fn malformed_base64_and_wrong_segment_counts_are_refused() {
    let key = TestKey::es256("ec");
    let (validator, _) = validator(&[&key]);
    let good = key.token(&claims());
    let parts: Vec<&str> = good.split('.').collect();
    let bad_header = format!("{}!.{}.{}", parts[0], parts[1], parts[2]);
    rejects(
        &validator,
        &bad_header,
        TokenError::BadBase64 { segment: "header" },
    );
    let padded = format!("{}.{}=.{}", parts[0], parts[1], parts[2]);
    rejects(
        &validator,
        &padded,
        TokenError::BadBase64 { segment: "payload" },
    );
    let bad_sig = format!("{}.{}.{}*", parts[0], parts[1], parts[2]);
    rejects(&validator, &bad_sig, TokenError::BadSignature);
    for token in ["", "abc", "a.b", "a.b.c.d", "a.b.c.d.e.f", "..", "...."] {
        let error = check(&validator, token).unwrap_err();
        assert!(
            matches!(
                error,
                TokenError::WrongSegmentCount { .. }
                    | TokenError::BadJson { .. }
                    | TokenError::Encrypted
            ),
            "{token:?}: {error:?}"
        );
    }
}

#[test]
fn duplicate_json_members_are_refused() {
    let key = TestKey::es256("ec");
    let (validator, _) = validator(&[&key]);
    let header = r#"{"alg":"ES256","kid":"ec"}"#;
    let claims = format!(
        r#"{{"iss":"{ISS}","sub":"alice","sub":"admin","aud":"{AUD}","exp":{}}}"#,
        NOW + 60
    );
    let expected = TokenError::DuplicateMember { segment: "payload" };
    rejects(&validator, &key.sign_raw(header, &claims), expected);
    let twice = r#"{"alg":"ES256","kid":"ec","kid":"other"}"#;
    let good = claims.replace(r#""sub":"admin","#, "");
    let expected = TokenError::DuplicateMember { segment: "header" };
    rejects(&validator, &key.sign_raw(twice, &good), expected);
}

#[test]
fn non_numeric_or_overflowing_exp_is_refused() {
    let key = TestKey::es256("ec");
    let (validator, _) = validator(&[&key]);
    let invalid = TokenError::InvalidClaim { claim: "exp" };
    for exp in [
        json!("soon"),
        json!(-1),
        json!(u64::MAX),
        json!(1e300),
        json!(null),
    ] {
        let mut c = claims();
        c["exp"] = exp;
        rejects(&validator, &key.token(&c), invalid.clone());
    }
    let header = r#"{"alg":"ES256","kid":"ec"}"#;
    let raw = format!(r#"{{"iss":"{ISS}","sub":"a","aud":"{AUD}","exp":1e400}}"#);
    rejects(
        &validator,
        &key.sign_raw(header, &raw),
        TokenError::BadJson { segment: "payload" },
    );
    let raw = format!(r#"{{"iss":"{ISS}","sub":"a","aud":"{AUD}","exp":99999999999999999999999}}"#);
    let error = check(&validator, &key.sign_raw(header, &raw)).unwrap_err();
    assert!(matches!(
        error,
        TokenError::InvalidClaim { .. } | TokenError::BadJson { .. }
    ));
}

#[test]
fn deep_json_is_refused() {
    let key = TestKey::es256("ec");
    let (validator, _) = validator(&[&key]);
    let header = r#"{"alg":"ES256","kid":"ec"}"#;
    let raw = format!(
        r#"{{"iss":"{ISS}","sub":"a","aud":"{AUD}","exp":{},"x":{}{}}}"#,
        NOW + 60,
        "[".repeat(1000),
        "]".repeat(1000)
    );
    rejects(
        &validator,
        &key.sign_raw(header, &raw),
        TokenError::BadJson { segment: "payload" },
    );
}

#[test]
fn es256_signature_with_r_or_s_zero_is_refused() {
    let key = TestKey::es256("ec");
    let (validator, _) = validator(&[&key]);
    let good = key.token(&claims());
    let (input, sig) = good.rsplit_once('.').unwrap();
    let sig =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, sig).unwrap();
    let mut r_zero = sig.clone();
    r_zero[..32].fill(0);
    let mut s_zero = sig;
    s_zero[32..].fill(0);
    for forged in [r_zero, s_zero, vec![0; 64]] {
        rejects(
            &validator,
            &format!("{input}.{}", b64(&forged)),
            TokenError::BadSignature,
        );
    }
}

#[test]
fn tampered_payload_fails_the_signature() {
    let key = TestKey::ed25519("ed");
    let (validator, _) = validator(&[&key]);
    let good = key.token(&claims());
    let parts: Vec<&str> = good.split('.').collect();
    let mut c = claims();
    c["sub"] = json!("admin");
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64(c.to_string().as_bytes()),
        parts[2]
    );
    rejects(&validator, &forged, TokenError::BadSignature);
}

#[test]
fn token_without_kid_needs_a_single_key_set() {
    let one = TestKey::es256("ec");
    let two = TestKey::es256("ec2");
    let header = json!({ "alg": "ES256" });
    let (single, _) = validator(&[&one]);
    assert!(check(&single, &one.sign(&header, &claims())).is_ok());
    let (double, _) = validator(&[&one, &two]);
    rejects(
        &double,
        &one.sign(&header, &claims()),
        TokenError::MissingKeyId,
    );
}

#[test]
fn validator_and_key_sources_are_send_sync_and_cheap_to_clone() {
    fn assert_send_sync_clone<T: Send + Sync + Clone>() {}
    assert_send_sync_clone::<Validator>();
    assert_send_sync_clone::<KeySource>();
    fn assert_send<T: Send>(_: &T) {}
    let key = TestKey::es256("ec");
    let (validator, _) = validator(&[&key]);
    assert_send(&validator.validate("a.b.c", None));
}

#[test]
fn symmetric_and_encryption_keys_in_a_jwks_are_skipped() {
    let key = TestKey::es256("ec");
    let mut set = jwks(&[&key]);
    let keys = set["keys"].as_array_mut().unwrap();
    keys.push(json!({ "kty": "oct", "kid": "hmac", "k": "c2VjcmV0" }));
    keys.push(json!({ "kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB" }));
    let loaded = KeySet::from_jwks(&set).unwrap();
    assert_eq!(loaded.len(), 1);
    assert!(!loaded.contains_kid("hmac") && !loaded.contains_kid("enc"));
    let only_hmac = json!({ "keys": [{ "kty": "oct", "kid": "hmac", "k": "c2VjcmV0" }] });
    assert!(matches!(
        KeySet::from_jwks(&only_hmac),
        Err(KeySetError::Empty)
    ));
}

#[test]
fn algorithm_pinned_by_the_jwk_must_match_the_header() {
    // The JWK says RS256; a PS256 token from the very same RSA key is still refused.
    let rsa = TestKey::rsa("rsa", RSA_2048);
    let (validator, _) = validator(&[&rsa]);
    let pss = TestKey {
        alg: jsonwebtoken::Algorithm::PS256,
        ..TestKey::rsa("rsa", RSA_2048)
    };
    rejects(
        &validator,
        &pss.token(&claims()),
        TokenError::KeyAlgorithmMismatch,
    );
    assert!(check(&validator, &rsa.token(&claims())).is_ok());
}

#[test]
fn jwk_whose_alg_does_not_fit_its_key_type_is_refused() {
    let key = TestKey::es256("ec");
    let mut set = jwks(&[&key]);
    set["keys"][0]["alg"] = json!("EdDSA");
    assert!(matches!(
        KeySet::from_jwks(&set),
        Err(KeySetError::BadKey { .. })
    ));
}
