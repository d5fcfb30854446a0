//! Splitting a compact JWS and decoding its parts strictly, before anything is trusted.
//!
//! Rules enforced here: exactly three segments (five means JWE), unpadded base64url with
//! canonical trailing bits, JSON objects without repeated member names at any depth
//! (serde_json bounds the nesting depth).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::TokenError;

/// A compact JWS split into its three encoded segments.
#[derive(Clone, Copy)]
pub(crate) struct CompactJws<'a> {
    /// `header.payload`, the bytes the signature covers.
    pub(crate) signing_input: &'a str,
    pub(crate) header: &'a str,
    pub(crate) payload: &'a str,
    pub(crate) signature: &'a str,
}

impl<'a> CompactJws<'a> {
    /// Splits `token` into header, payload and signature.
    pub(crate) fn split(token: &'a str) -> Result<Self, TokenError> {
        let segments = token.bytes().filter(|b| *b == b'.').count() + 1;
        match segments {
            3 => {}
            5 => return Err(TokenError::Encrypted),
            _ => return Err(TokenError::WrongSegmentCount { segments }),
        }
        let (signing_input, signature) = token
            .rsplit_once('.')
            .ok_or(TokenError::WrongSegmentCount { segments })?;
        let (header, payload) = signing_input
            .split_once('.')
            .ok_or(TokenError::WrongSegmentCount { segments })?;
        Ok(Self {
            signing_input,
            header,
            payload,
            signature,
        })
    }
}

/// Decodes one unpadded base64url segment.
pub(crate) fn decode_segment(input: &str, segment: &'static str) -> Result<Vec<u8>, TokenError> {
    URL_SAFE_NO_PAD
        .decode(input)
        .map_err(|_| TokenError::BadBase64 { segment })
}

/// Decodes a base64url segment holding a JSON object, refusing repeated member names.
pub(crate) fn decode_object(
    input: &str,
    segment: &'static str,
) -> Result<Map<String, Value>, TokenError> {
    let bytes = decode_segment(input, segment)?;
    parse_object(&bytes, segment)
}

/// Parses a JSON object, refusing repeated member names at any depth.
pub(crate) fn parse_object(
    bytes: &[u8],
    segment: &'static str,
) -> Result<Map<String, Value>, TokenError> {
    match serde_json::from_slice::<StrictValue>(bytes) {
        Ok(StrictValue(Value::Object(map))) => Ok(map),
        Ok(_) => Err(TokenError::BadJson { segment }),
        Err(e) if e.to_string().starts_with(DUPLICATE) => {
            Err(TokenError::DuplicateMember { segment })
        }
        Err(_) => Err(TokenError::BadJson { segment }),
    }
}

const DUPLICATE: &str = "duplicate JSON member";

/// A JSON value whose objects, at every depth, never repeat a member name.
struct StrictValue(Value);

impl<'de> de::Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        // Non-finite numbers cannot come from JSON text; map them to null to be total.
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let StrictValue(value) = map.next_value()?;
            if object.insert(key, value).is_some() {
                return Err(de::Error::custom(DUPLICATE));
            }
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_member_names_are_refused_at_any_depth() {
        let top = parse_object(br#"{"a":1,"a":2}"#, "payload");
        assert_eq!(top, Err(TokenError::DuplicateMember { segment: "payload" }));
        let deep = parse_object(br#"{"cnf":{"x":1,"x":1}}"#, "payload");
        assert_eq!(
            deep,
            Err(TokenError::DuplicateMember { segment: "payload" })
        );
    }

    #[test]
    fn deep_nesting_is_refused_without_overflow() {
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(10_000), "]".repeat(10_000));
        let parsed = parse_object(deep.as_bytes(), "payload");
        assert_eq!(parsed, Err(TokenError::BadJson { segment: "payload" }));
    }

    #[test]
    fn five_segments_are_an_encrypted_token() {
        assert!(matches!(
            CompactJws::split("a.b.c.d.e"),
            Err(TokenError::Encrypted)
        ));
    }

    #[test]
    fn two_or_four_segments_are_refused() {
        for token in ["a.b", "a.b.c.d", "abc"] {
            assert!(matches!(
                CompactJws::split(token),
                Err(TokenError::WrongSegmentCount { .. })
            ));
        }
    }

    #[test]
    fn padded_base64_is_refused() {
        assert!(decode_segment("YQ==", "header").is_err());
        assert_eq!(decode_segment("YQ", "header"), Ok(b"a".to_vec()));
    }
}
