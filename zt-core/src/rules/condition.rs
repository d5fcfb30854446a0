//! Conditions on token claims and attributes (`when`), evaluated with fail-closed semantics:
//! a value that is missing or of the wrong type makes the condition unknown, not false.

use std::sync::Arc;

use serde_json::Value;

use super::config::ConditionConfig;
use super::error::PolicyErrorKind;
use super::matcher::Tri;
use crate::{AccessRequest, ConditionError};

/// Where a condition reads its value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    /// A claim of the token subject; a name starting with `/` is a JSON pointer.
    Claim(Arc<str>),
    /// An attribute of the caller (`Principal::attributes`).
    Attribute(Arc<str>),
    /// An attribute of the request (`AccessRequest::attributes`).
    RequestAttribute(Arc<str>),
}

/// What a condition checks.
#[derive(Debug, Clone, PartialEq)]
enum Operator {
    Equals(Value),
    OneOf(Vec<Value>),
    Contains(Value),
    Exists(bool),
    Range { low: Bound, high: Bound },
}

/// One end of a numeric range.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Bound {
    Open,
    Exclusive(f64),
    Inclusive(f64),
}

/// One compiled condition.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Condition {
    source: Source,
    operator: Operator,
}

/// A value found for a condition, borrowed from the request.
#[derive(Debug, Clone, Copy)]
enum Found<'a> {
    Json(&'a Value),
    Text(&'a str),
    List(&'a [String]),
}

impl Condition {
    pub(crate) fn parse(config: ConditionConfig) -> Result<Self, PolicyErrorKind> {
        let bad = PolicyErrorKind::BadCondition;
        let source = match (config.claim, config.attribute, config.request_attribute) {
            (Some(c), None, None) => Source::Claim(c.into()),
            (None, Some(a), None) => Source::Attribute(a.into()),
            (None, None, Some(a)) => Source::RequestAttribute(a.into()),
            _ => {
                return Err(bad(
                    "name exactly one of `claim`, `attribute`, `request_attribute`",
                ));
            }
        };
        let low = bound(config.gt, config.ge)?;
        let high = bound(config.lt, config.le)?;
        let range =
            (low != Bound::Open || high != Bound::Open).then_some(Operator::Range { low, high });
        let operators = [
            config
                .equals
                .map(to_json)
                .transpose()?
                .map(Operator::Equals),
            config.one_of.map(one_of).transpose()?,
            config
                .contains
                .map(to_json)
                .transpose()?
                .map(Operator::Contains),
            config.exists.map(Operator::Exists),
            range,
        ];
        let mut given = operators.into_iter().flatten();
        let operator = given.next().ok_or(bad(
            "give one operator: equals, one_of, contains, exists, gt, ge, lt, le",
        ))?;
        if given.next().is_some() {
            return Err(bad(
                "give one operator per condition (gt/ge with lt/le form one range)",
            ));
        }
        if let Operator::Range { low, high } = operator {
            check_range(low, high)?;
        }
        Ok(Self { source, operator })
    }

    pub(crate) fn evaluate(&self, request: &AccessRequest<'_>) -> Tri {
        let found = match self.lookup(request) {
            Ok(found) => found,
            Err(missing) => {
                return match self.operator {
                    Operator::Exists(wanted) => Tri::from_bool(!wanted),
                    _ => Tri::Unknown(missing),
                };
            }
        };
        match &self.operator {
            Operator::Exists(wanted) => Tri::from_bool(*wanted),
            Operator::Equals(v) => self.equals(found, v),
            Operator::OneOf(vs) => self.one_of(found, vs),
            Operator::Contains(v) => self.contains(found, v),
            Operator::Range { low, high } => self.in_range(found, *low, *high),
        }
    }

    fn lookup<'r>(&self, request: &AccessRequest<'r>) -> Result<Found<'r>, ConditionError> {
        match &self.source {
            Source::Claim(claim) => lookup_claim(request, claim),
            Source::Attribute(name) => request
                .principal
                .attributes
                .get(name)
                .map(Found::Json)
                .ok_or_else(|| ConditionError::MissingAttribute {
                    attribute: name.clone(),
                }),
            Source::RequestAttribute(name) => request
                .attributes
                .and_then(|a| a.get(name))
                .map(Found::Json)
                .ok_or_else(|| ConditionError::MissingAttribute {
                    attribute: name.clone(),
                }),
        }
    }

    fn name(&self) -> &Arc<str> {
        match &self.source {
            Source::Claim(n) | Source::Attribute(n) | Source::RequestAttribute(n) => n,
        }
    }

    fn mismatch(&self, operator: &'static str, found: Found<'_>) -> Tri {
        Tri::Unknown(ConditionError::TypeMismatch {
            name: self.name().clone(),
            operator,
            found: type_name(found),
        })
    }

    fn equals(&self, found: Found<'_>, expected: &Value) -> Tri {
        match same_type(found, expected) {
            true => Tri::from_bool(value_eq(found, expected)),
            false => self.mismatch("equals", found),
        }
    }

    fn one_of(&self, found: Found<'_>, expected: &[Value]) -> Tri {
        if !expected.iter().any(|v| same_type(found, v)) {
            return self.mismatch("one_of", found);
        }
        Tri::from_bool(expected.iter().any(|v| value_eq(found, v)))
    }

    fn contains(&self, found: Found<'_>, expected: &Value) -> Tri {
        match found {
            Found::Json(Value::Array(items)) => {
                Tri::from_bool(items.iter().any(|i| value_eq(Found::Json(i), expected)))
            }
            Found::List(items) => match expected.as_str() {
                Some(e) => Tri::from_bool(items.iter().any(|i| i == e)),
                None => self.mismatch("contains", found),
            },
            Found::Json(Value::String(text)) => self.contains_word(found, text, expected),
            Found::Text(text) => self.contains_word(found, text, expected),
            Found::Json(_) => self.mismatch("contains", found),
        }
    }

    fn contains_word(&self, found: Found<'_>, text: &str, expected: &Value) -> Tri {
        match expected.as_str() {
            Some(word) => Tri::from_bool(text.split_ascii_whitespace().any(|w| w == word)),
            None => self.mismatch("contains", found),
        }
    }

    fn in_range(&self, found: Found<'_>, low: Bound, high: Bound) -> Tri {
        // TODO: bounds are f64, so integers above 2^53 compare with f64 precision.
        let Found::Json(Value::Number(n)) = found else {
            return self.mismatch("a numeric comparison", found);
        };
        let Some(x) = n.as_f64() else {
            return self.mismatch("a numeric comparison", found);
        };
        let above = match low {
            Bound::Open => true,
            Bound::Exclusive(b) => x > b,
            Bound::Inclusive(b) => x >= b,
        };
        let below = match high {
            Bound::Open => true,
            Bound::Exclusive(b) => x < b,
            Bound::Inclusive(b) => x <= b,
        };
        Tri::from_bool(above && below)
    }
}

/// Reads a claim: from the remaining claims first, then from the fields a validator lifts
/// out of them (`iss`, `sub`, `aud`, `jti`).
fn lookup_claim<'r>(
    request: &AccessRequest<'r>,
    claim: &Arc<str>,
) -> Result<Found<'r>, ConditionError> {
    let subject =
        request
            .principal
            .subject
            .as_deref()
            .ok_or_else(|| ConditionError::NoSubject {
                claim: claim.clone(),
            })?;
    let from_map = match claim.strip_prefix('/') {
        Some(_) => pointer(&subject.claims, claim),
        None => subject.claims.get(&**claim),
    };
    if let Some(value) = from_map {
        return Ok(Found::Json(value));
    }
    match &**claim {
        "iss" => Ok(Found::Text(&subject.issuer)),
        "sub" => Ok(Found::Text(&subject.subject)),
        "aud" => Ok(Found::List(&subject.audiences)),
        "jti" => subject
            .token_id
            .as_deref()
            .map(Found::Text)
            .ok_or_else(|| missing(claim)),
        _ => Err(missing(claim)),
    }
}

fn missing(claim: &Arc<str>) -> ConditionError {
    ConditionError::MissingClaim {
        claim: claim.clone(),
    }
}

/// Follows a JSON pointer (`/realm_access/roles`) into the claims.
pub(super) fn pointer<'a>(
    claims: &'a serde_json::Map<String, Value>,
    pointer: &str,
) -> Option<&'a Value> {
    let mut parts = pointer.split('/').skip(1);
    let first = claims.get(&unescape(parts.next()?))?;
    let rest: String = parts.map(|p| format!("/{p}")).collect();
    first.pointer(&rest)
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

fn same_type(found: Found<'_>, expected: &Value) -> bool {
    match found {
        Found::Json(v) => std::mem::discriminant(v) == std::mem::discriminant(expected),
        Found::Text(_) => expected.is_string(),
        Found::List(_) => expected.is_array(),
    }
}

fn value_eq(found: Found<'_>, expected: &Value) -> bool {
    match (found, expected) {
        (Found::Json(Value::Number(a)), Value::Number(b)) => numbers_eq(a, b),
        (Found::Json(v), e) => v == e,
        (Found::Text(t), e) => e.as_str() == Some(t),
        (Found::List(items), Value::Array(e)) => {
            items.len() == e.len() && items.iter().zip(e).all(|(i, e)| e.as_str() == Some(i))
        }
        (Found::List(_), _) => false,
    }
}

/// Integers compare exactly; anything else (a float on either side) as `f64`.
fn numbers_eq(a: &serde_json::Number, b: &serde_json::Number) -> bool {
    match (a.as_i64(), b.as_i64(), a.as_u64(), b.as_u64()) {
        (Some(x), Some(y), _, _) => x == y,
        (_, _, Some(x), Some(y)) => x == y,
        _ if a.is_f64() || b.is_f64() => a.as_f64() == b.as_f64(),
        // One fits only i64 (negative), the other only u64 (above i64::MAX).
        _ => false,
    }
}

fn type_name(found: Found<'_>) -> &'static str {
    match found {
        Found::Text(_) | Found::Json(Value::String(_)) => "a string",
        Found::List(_) | Found::Json(Value::Array(_)) => "an array",
        Found::Json(Value::Null) => "null",
        Found::Json(Value::Bool(_)) => "a boolean",
        Found::Json(Value::Number(_)) => "a number",
        Found::Json(Value::Object(_)) => "an object",
    }
}

fn to_json(value: toml::Value) -> Result<Value, PolicyErrorKind> {
    match value {
        toml::Value::String(s) => Ok(Value::String(s)),
        toml::Value::Integer(i) => Ok(Value::from(i)),
        toml::Value::Float(f) => serde_json::Number::from_f64(f)
            .map(Value::Number)
            .ok_or(PolicyErrorKind::BadCondition("a number must be finite")),
        toml::Value::Boolean(b) => Ok(Value::Bool(b)),
        toml::Value::Array(items) => items
            .into_iter()
            .map(to_json)
            .collect::<Result<_, _>>()
            .map(Value::Array),
        toml::Value::Datetime(_) | toml::Value::Table(_) => Err(PolicyErrorKind::BadCondition(
            "compare with a string, number, boolean or array",
        )),
    }
}

fn one_of(values: Vec<toml::Value>) -> Result<Operator, PolicyErrorKind> {
    if values.is_empty() {
        return Err(PolicyErrorKind::NeverMatches("`one_of` with an empty list"));
    }
    values
        .into_iter()
        .map(to_json)
        .collect::<Result<_, _>>()
        .map(Operator::OneOf)
}

fn bound(exclusive: Option<f64>, inclusive: Option<f64>) -> Result<Bound, PolicyErrorKind> {
    match (exclusive, inclusive) {
        (Some(_), Some(_)) => Err(PolicyErrorKind::BadCondition(
            "give `gt` or `ge`, `lt` or `le`, not both",
        )),
        (Some(x), None) | (None, Some(x)) if !x.is_finite() => {
            Err(PolicyErrorKind::BadCondition("a number must be finite"))
        }
        (Some(x), None) => Ok(Bound::Exclusive(x)),
        (None, Some(x)) => Ok(Bound::Inclusive(x)),
        (None, None) => Ok(Bound::Open),
    }
}

fn check_range(low: Bound, high: Bound) -> Result<(), PolicyErrorKind> {
    let empty = match (low, high) {
        (Bound::Inclusive(l), Bound::Inclusive(h)) => l > h,
        (Bound::Exclusive(l) | Bound::Inclusive(l), Bound::Exclusive(h) | Bound::Inclusive(h)) => {
            l >= h
        }
        _ => false,
    };
    match empty {
        true => Err(PolicyErrorKind::NeverMatches("the numeric range is empty")),
        false => Ok(()),
    }
}
