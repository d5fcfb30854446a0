//! Adversarial headers and encodings: algorithm confusion, escaped duplicate members,
//! non-canonical base64 and non-standard ECDSA signature forms.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use serde_json::json;
use zt_token::TokenError;

const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Flips the lowest bit of the last character of a base64url segment: same bytes when the
/// segment has trailing bits, a different (non-canonical) text.
fn flip_trailing_bit(segment: &str) -> String {
    let mut bytes = segment.as_bytes().to_vec();
    let last = bytes.last_mut().unwrap();
    let value = B64.iter().position(|c| c == last).unwrap();
    *last = B64[value ^ 1];
    String::from_utf8(bytes).unwrap()
}

#[test]
fn escaped_member_names_that_repeat_a_claim_are_refused() {
    let key = TestKey::es256("ec");
    let (validator, _) = validator(&[&key]);
    let claims = format!(
        r#"{{"iss":"{ISS}","sub":"alice","aud":"{AUD}","exp":{},"e\u0078p":{}}}"#,
        NOW + 60,
        NOW + 99_999
    );
    let token = key.sign_raw(&key.header().to_string(), &claims);
    let error = check(&validator, &token).unwrap_err();
    assert_eq!(error, TokenError::DuplicateMember { segment: "payload" });
}

#[test]
fn escaped_member_names_that_repeat_a_header_parameter_are_refused() {
    let key = TestKey::es256("ec");
    let (validator, _) = validator(&[&key]);
    let header = r#"{"alg":"ES256","kid":"ec","\u006bid":"other","typ":"at+jwt"}"#;
    let token = key.sign_raw(header, &claims().to_string());
    let error = check(&validator, &token).unwrap_err();
    assert_eq!(error, TokenError::DuplicateMember { segment: "header" });
}

#[test]
fn escaped_crit_header_is_still_a_critical_header() {
    let key = TestKey::es256("ec");
    let (validator, _) = validator(&[&key]);
    let header = r#"{"alg":"ES256","kid":"ec","\u0063rit":["exp"]}"#;
    let token = key.sign_raw(header, &claims().to_string());
    assert_eq!(
        check(&validator, &token).unwrap_err(),
        TokenError::UnknownCriticalHeader
    );
}

#[test]
fn duplicate_members_inside_nested_claim_objects_are_refused() {
    let key = TestKey::es256("ec");
    let (validator, _) = validator(&[&key]);
    let claims = format!(
        r#"{{"iss":"{ISS}","sub":"alice","aud":"{AUD}","exp":{},"cnf":{{"a":1,"\u0061":2}}}}"#,
        NOW + 60
    );
    let token = key.sign_raw(&key.header().to_string(), &claims);
    let error = check(&validator, &token).unwrap_err();
    assert_eq!(error, TokenError::DuplicateMember { segment: "payload" });
}

#[test]
fn non_canonical_trailing_bits_in_any_segment_are_refused() {
    let key = TestKey::es256("ec");
    let (validator, _) = validator(&[&key]);
    // A claims text whose length leaves trailing bits in its last base64 character.
    let mut c = claims();
    let mut padding = String::new();
    while c.to_string().len().is_multiple_of(3) {
        padding.push('x');
        c["pad"] = json!(padding);
    }
    let token = key.token(&c);
    check(&validator, &token).unwrap();
    validator.clear_cache();
    let parts: Vec<&str> = token.split('.').collect();
    let variants = [
        format!("{}.{}.{}", parts[0], flip_trailing_bit(parts[1]), parts[2]),
        format!("{}.{}.{}", parts[0], parts[1], flip_trailing_bit(parts[2])),
    ];
    for variant in variants {
        assert_ne!(variant, token);
        assert!(
            check(&validator, &variant).is_err(),
            "non-canonical base64 passed"
        );
    }
}

/// DER-encodes a fixed-width ECDSA signature (r || s).
fn der(fixed: &[u8]) -> Vec<u8> {
    fn integer(bytes: &[u8]) -> Vec<u8> {
        let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
        let mut value = trimmed;
        if value.first().is_some_and(|b| b & 0x80 != 0) {
            value.insert(0, 0);
        }
        let mut out = vec![0x02, value.len() as u8];
        out.extend(value);
        out
    }
    let (r, s) = fixed.split_at(fixed.len() / 2);
    let mut body = integer(r);
    body.extend(integer(s));
    let mut out = vec![0x30, body.len() as u8];
    out.extend(body);
    out
}

#[test]
fn es256_signature_in_der_form_is_refused() {
    let key = TestKey::es256("ec");
    let (validator, _) = validator(&[&key]);
    let token = key.token(&claims());
    let (input, signature) = token.rsplit_once('.').unwrap();
    let fixed = URL_SAFE_NO_PAD.decode(signature).unwrap();
    let der_token = format!("{input}.{}", b64(&der(&fixed)));
    assert_eq!(
        check(&validator, &der_token).unwrap_err(),
        TokenError::BadSignature
    );
}

#[test]
fn ed25519_and_eddsa_names_are_interchangeable_in_header_and_jwk_but_nothing_else() {
    let key = TestKey::ed25519("ed");
    let mut jwk_key = TestKey::ed25519("ed2");
    jwk_key.jwk["alg"] = json!("Ed25519");
    let (validator, _) = validator(&[&key, &jwk_key]);
    for k in [&key, &jwk_key] {
        for alg in ["EdDSA", "Ed25519"] {
            let header = json!({ "alg": alg, "kid": k.kid, "typ": "at+jwt" });
            check(&validator, &k.sign(&header, &claims())).unwrap();
        }
        for alg in ["Ed448", "ed25519", "EDDSA", "ES256"] {
            let header = json!({ "alg": alg, "kid": k.kid, "typ": "at+jwt" });
            assert!(
                check(&validator, &k.sign(&header, &claims())).is_err(),
                "{alg}"
            );
        }
    }
}

#[test]
fn es256_token_against_a_p384_key_and_es384_against_p256_are_refused() {
    let key = TestKey::es256("ec");
    let (validator, _) = validator(&[&key]);
    let header = json!({ "alg": "ES384", "kid": "ec", "typ": "at+jwt" });
    let token = key.sign(&header, &claims());
    assert!(matches!(
        check(&validator, &token).unwrap_err(),
        TokenError::KeyAlgorithmMismatch | TokenError::AlgorithmNotAllowed
    ));
}

#[test]
fn jwk_with_enc_use_or_a_mismatched_curve_never_verifies() {
    let key = TestKey::es256("ec");
    let mut enc = TestKey::es256("enc");
    enc.jwk["use"] = json!("enc");
    let mut wrong_curve = key.jwk.clone();
    wrong_curve["kid"] = json!("p384");
    wrong_curve["crv"] = json!("P-384");
    wrong_curve.as_object_mut().unwrap().remove("alg");
    let set = json!({ "keys": [key.jwk, enc.jwk] });
    assert!(
        zt_token::KeySet::from_jwks(&set)
            .unwrap()
            .contains_kid("ec")
    );
    assert!(
        !zt_token::KeySet::from_jwks(&set)
            .unwrap()
            .contains_kid("enc")
    );
    let set = json!({ "keys": [wrong_curve] });
    assert!(zt_token::KeySet::from_jwks(&set).is_err());
}

#[test]
fn typ_comparison_accepts_only_case_and_media_prefix_variants() {
    let key = TestKey::es256("ec");
    let clock = clock();
    let validator = validator_with(issuer(&[&key]).expected_type("at+jwt"), &clock);
    for typ in [
        "at+jwt",
        "AT+JWT",
        "application/at+jwt",
        "Application/AT+jwt",
    ] {
        let header = json!({ "alg": "ES256", "kid": "ec", "typ": typ });
        check(&validator, &key.sign(&header, &claims())).unwrap();
    }
    for typ in [
        "JWT",
        "jwt",
        "at+jwt ",
        "application/jwt",
        "dpop+jwt",
        "at+jwt;x=1",
    ] {
        let header = json!({ "alg": "ES256", "kid": "ec", "typ": typ });
        assert!(
            check(&validator, &key.sign(&header, &claims())).is_err(),
            "{typ}"
        );
    }
    let header = json!({ "alg": "ES256", "kid": "ec" });
    assert!(check(&validator, &key.sign(&header, &claims())).is_err());
}

#[test]
fn x5c_and_x5t_headers_never_choose_the_key() {
    let key = TestKey::es256("ec");
    let attacker = TestKey::es256("ec");
    let (validator, _) = validator(&[&key]);
    let header = json!({
        "alg": "ES256", "kid": "ec", "typ": "at+jwt",
        "x5c": ["MIIBszCCAVmgAwIBAgIUJ"], "x5t#S256": b64(&[0; 32]),
        "jwk": attacker.jwk, "jku": "https://evil.example/jwks",
    });
    let forged = attacker.sign(&header, &claims());
    assert_eq!(
        check(&validator, &forged).unwrap_err(),
        TokenError::BadSignature
    );
    check(&validator, &key.sign(&header, &claims())).unwrap();
}

#[test]
fn nested_token_behind_a_media_type_cty_is_still_refused() {
    let outer = TestKey::es256("ec");
    let (validator, _) = validator(&[&outer]);
    let inner = outer.token(&claims());
    for cty in ["JWT", "jwt", "application/jwt", "application/JWT"] {
        let header = json!({ "alg": "ES256", "kid": "ec", "typ": "at+jwt", "cty": cty });
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(inner.as_bytes())
        );
        let sig = jsonwebtoken::crypto::sign(input.as_bytes(), &outer.key, outer.alg).unwrap();
        assert!(
            check(&validator, &format!("{input}.{sig}")).is_err(),
            "{cty}"
        );
    }
}
