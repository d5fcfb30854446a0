//! Posture carried in the token: claims copied into attributes.

use serde_json::{Map, Value};

use super::{PostureContext, PostureError, PostureSource};
use crate::Attributes;

/// Copies token claims into attributes, for identity providers that put device posture in
/// the token (for example a `device` object or a `device_managed` flag).
///
/// A claim name starting with `/` is a JSON pointer into the claims (`/device/managed`),
/// as in the policy's conditions. Missing claims are skipped. Only claims of a validated
/// token are read; the token validator vouches for them.
///
/// ```
/// use zt_core::ClaimsPosture;
///
/// let posture = ClaimsPosture::new()
///     .claim("/device/managed", "device.managed")
///     .object("device", "device"); // device.os_patch, device.encrypted, ...
/// # let _ = posture;
/// ```
#[derive(Debug, Clone, Default)]
pub struct ClaimsPosture {
    mappings: Vec<Mapping>,
}

#[derive(Debug, Clone)]
enum Mapping {
    /// One claim to one attribute.
    Claim { claim: String, attribute: String },
    /// Every member of an object claim to `<prefix>.<member>`.
    Object { claim: String, prefix: String },
}

impl ClaimsPosture {
    /// No mappings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Copies `claim` into `attribute`.
    pub fn claim(mut self, claim: impl Into<String>, attribute: impl Into<String>) -> Self {
        self.mappings.push(Mapping::Claim {
            claim: claim.into(),
            attribute: attribute.into(),
        });
        self
    }

    /// Copies each member of the object claim `claim` into `<prefix>.<member>`.
    pub fn object(mut self, claim: impl Into<String>, prefix: impl Into<String>) -> Self {
        self.mappings.push(Mapping::Object {
            claim: claim.into(),
            prefix: prefix.into(),
        });
        self
    }
}

impl PostureSource for ClaimsPosture {
    fn attributes(&self, context: &PostureContext<'_>) -> Result<Attributes, PostureError> {
        let mut attributes = Attributes::new();
        let Some(subject) = context.principal.subject.as_deref() else {
            return Ok(attributes);
        };
        for mapping in &self.mappings {
            match mapping {
                Mapping::Claim { claim, attribute } => {
                    if let Some(value) = lookup(&subject.claims, claim) {
                        attributes.insert(attribute.clone(), value.clone());
                    }
                }
                Mapping::Object { claim, prefix } => {
                    let members = lookup(&subject.claims, claim).and_then(Value::as_object);
                    for (member, value) in members.into_iter().flatten() {
                        attributes.insert(format!("{prefix}.{member}"), value.clone());
                    }
                }
            }
        }
        Ok(attributes)
    }
}

/// A claim by name, or by JSON pointer when the name starts with `/`.
fn lookup<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    let Some(pointer) = name.strip_prefix('/') else {
        return claims.get(name);
    };
    let (first, rest) = match pointer.find('/') {
        Some(at) => pointer.split_at(at),
        None => (pointer, ""),
    };
    let first = first.replace("~1", "/").replace("~0", "~");
    claims.get(&first)?.pointer(rest)
}
