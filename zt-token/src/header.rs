//! The JOSE header of a signed token, read for what it may say and nothing more.
//!
//! `alg` is read only to be matched against the key; `jku`, `x5u`, `x5c` and `jwk` are
//! ignored; `crit` rejects (no extension is understood); `enc` means JWE and `cty: JWT`
//! means a nested token, both rejected.

use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};

use crate::TokenError;
use crate::keyset::parse_algorithm;

/// The parts of a header the validator uses.
pub(crate) struct Header {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<String>,
    pub(crate) typ: Option<String>,
}

impl Header {
    /// Reads and checks a decoded header object.
    pub(crate) fn from_object(mut header: Map<String, Value>) -> Result<Self, TokenError> {
        if header.contains_key("enc") {
            return Err(TokenError::Encrypted);
        }
        if header.contains_key("crit") {
            return Err(TokenError::UnknownCriticalHeader);
        }
        let alg = match header.get("alg") {
            Some(Value::String(alg)) if alg.eq_ignore_ascii_case("none") => {
                return Err(TokenError::AlgorithmNone);
            }
            Some(Value::String(alg)) => {
                parse_algorithm(alg).ok_or(TokenError::AlgorithmNotAllowed)?
            }
            _ => return Err(TokenError::MissingAlgorithm),
        };
        let typ = optional_string(&mut header, "typ")?;
        let cty = optional_string(&mut header, "cty")?;
        if cty.is_some_and(|cty| cty.eq_ignore_ascii_case("JWT")) {
            return Err(TokenError::Nested);
        }
        let kid = optional_string(&mut header, "kid")?;
        Ok(Self { alg, kid, typ })
    }
}

fn optional_string(
    header: &mut Map<String, Value>,
    name: &str,
) -> Result<Option<String>, TokenError> {
    match header.remove(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(TokenError::BadJson { segment: "header" }),
    }
}
