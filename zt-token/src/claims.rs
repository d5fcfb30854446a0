//! The registered claims of a token, checked against an issuer's rules.
//!
//! Every check here runs on claims whose signature is verified by the caller before the
//! resulting [`Subject`] is handed out.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use zt_core::{SpiffeId, Subject};

use crate::{Issuer, TokenError};

/// Latest `exp`, `nbf` or `iat` accepted: the end of year 9999, so every date fits.
pub(crate) const MAX_NUMERIC_DATE: u64 = 253_402_300_799;

/// What the validator keeps from a token's claims once they pass.
pub(crate) struct CheckedClaims {
    pub(crate) subject: Subject,
    /// `exp` in seconds since the epoch.
    pub(crate) expires_at: u64,
    /// The `cnf.x5t#S256` thumbprint the token is bound to, if any.
    pub(crate) binding: Option<[u8; 32]>,
}

/// The `iss` claim, which must be a single string.
pub(crate) fn issuer_of(claims: &Map<String, Value>) -> Result<&str, TokenError> {
    match claims.get("iss") {
        None => Err(TokenError::MissingIssuer),
        Some(Value::String(iss)) => Ok(iss),
        Some(_) => Err(TokenError::IssuerNotString),
    }
}

/// Checks every claim rule of `issuer` at `now` and builds the subject.
pub(crate) fn check(
    issuer: &Issuer,
    mut claims: Map<String, Value>,
    now: SystemTime,
) -> Result<CheckedClaims, TokenError> {
    let now = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let expires_at = check_times(issuer, &claims, now)?;
    let audiences = check_audience(issuer, &claims)?;
    for name in &issuer.required_claims {
        // `null` says the claim has no value: it does not satisfy a requirement.
        if claims.get(name).is_none_or(Value::is_null) {
            return Err(TokenError::MissingClaim {
                claim: name.clone(),
            });
        }
    }
    let subject = check_subject(issuer, &claims)?;
    let binding = binding_of(&claims)?;
    let roles = roles_of(issuer, &claims)?;
    let token_id = match claims.remove("jti") {
        None => None,
        Some(Value::String(jti)) => Some(jti),
        Some(_) => return Err(TokenError::InvalidClaim { claim: "jti" }),
    };
    for registered in ["iss", "sub", "aud", "exp"] {
        claims.remove(registered);
    }
    let subject = Subject {
        issuer: issuer.issuer.clone(),
        subject,
        audiences,
        roles,
        expires_at: UNIX_EPOCH + Duration::from_secs(expires_at),
        token_id,
        claims,
    };
    Ok(CheckedClaims {
        subject,
        expires_at,
        binding,
    })
}

/// Whether a token with this `exp` is expired at `now`, given the leeway.
pub(crate) fn is_expired(expires_at: u64, now: u64, leeway: Duration) -> bool {
    expires_at.saturating_add(leeway.as_secs()) <= now
}

/// `exp` (required), `nbf`, `iat` and the maximum lifetime. Returns `exp`.
fn check_times(issuer: &Issuer, claims: &Map<String, Value>, now: u64) -> Result<u64, TokenError> {
    let leeway = issuer.leeway.as_secs();
    let exp = numeric_date(claims, "exp")?.ok_or_else(|| missing("exp"))?;
    if is_expired(exp, now, issuer.leeway) {
        return Err(TokenError::Expired);
    }
    if numeric_date(claims, "nbf")?.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
        return Err(TokenError::NotYetValid);
    }
    let iat = numeric_date(claims, "iat")?;
    if iat.is_some_and(|iat| iat > now.saturating_add(leeway)) {
        return Err(TokenError::IssuedInFuture);
    }
    let start = iat.unwrap_or(now);
    let lifetime = Duration::from_secs(
        exp.checked_sub(start)
            .ok_or(TokenError::InvalidClaim { claim: "exp" })?,
    );
    if lifetime > issuer.max_lifetime {
        return Err(TokenError::LifetimeTooLong {
            lifetime,
            max: issuer.max_lifetime,
        });
    }
    Ok(exp)
}

/// A NumericDate claim in whole seconds (fractions round down), bounded to year 9999.
fn numeric_date(
    claims: &Map<String, Value>,
    name: &'static str,
) -> Result<Option<u64>, TokenError> {
    let Some(value) = claims.get(name) else {
        return Ok(None);
    };
    let invalid = TokenError::InvalidClaim { claim: name };
    let seconds = match value {
        Value::Number(n) => match (n.as_u64(), n.as_f64()) {
            (Some(secs), _) => secs,
            (None, Some(f)) if f.is_finite() && f >= 0.0 && f <= MAX_NUMERIC_DATE as f64 => {
                f.floor() as u64
            }
            _ => return Err(invalid),
        },
        _ => return Err(invalid),
    };
    if seconds > MAX_NUMERIC_DATE {
        return Err(invalid);
    }
    Ok(Some(seconds))
}

/// `aud` must be present and name at least one accepted audience.
fn check_audience(issuer: &Issuer, claims: &Map<String, Value>) -> Result<Vec<String>, TokenError> {
    let invalid = TokenError::InvalidClaim { claim: "aud" };
    let audiences = match claims.get("aud") {
        None => return Err(missing("aud")),
        Some(Value::String(aud)) => vec![aud.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or(invalid.clone()))
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(invalid),
    };
    if audiences.iter().any(|aud| issuer.audiences.contains(aud)) {
        Ok(audiences)
    } else {
        Err(TokenError::AudienceNotAccepted)
    }
}

/// `sub` must be a string; for JWT-SVIDs a SPIFFE workload ID in the issuer's trust domain.
fn check_subject(issuer: &Issuer, claims: &Map<String, Value>) -> Result<Arc<str>, TokenError> {
    let sub = match claims.get("sub") {
        None => return Err(missing("sub")),
        Some(Value::String(sub)) => sub.as_str(),
        Some(_) => return Err(TokenError::InvalidClaim { claim: "sub" }),
    };
    if let Some(trust_domain) = &issuer.svid_trust_domain {
        let id = SpiffeId::new(sub).map_err(|_| TokenError::SubjectNotSpiffeId)?;
        if !id.is_workload() {
            return Err(TokenError::SubjectNotSpiffeId);
        }
        if !id.is_member_of(trust_domain) {
            return Err(TokenError::WrongTrustDomain);
        }
        return Ok(Arc::from(id.to_string()));
    }
    Ok(Arc::from(sub))
}

/// The only confirmation method understood: RFC 8705 certificate thumbprint.
const X5T_S256: &str = "x5t#S256";

/// The RFC 8705 `cnf.x5t#S256` thumbprint, if the token carries one. Any other confirmation
/// method in `cnf` rejects the token.
fn binding_of(claims: &Map<String, Value>) -> Result<Option<[u8; 32]>, TokenError> {
    let invalid = TokenError::InvalidClaim { claim: "cnf" };
    let Some(cnf) = claims.get("cnf") else {
        return Ok(None);
    };
    let cnf = cnf.as_object().ok_or(invalid.clone())?;
    // A confirmation method that cannot be checked here (DPoP `jkt`, `jwk`, a misspelled
    // `x5t#S256`) must not fall back to a bearer token: that would unbind a stolen token.
    if cnf.keys().any(|method| method != X5T_S256) {
        return Err(invalid);
    }
    let Some(thumbprint) = cnf.get(X5T_S256) else {
        return Ok(None);
    };
    let bytes = thumbprint
        .as_str()
        .and_then(|t| URL_SAFE_NO_PAD.decode(t).ok())
        .ok_or(invalid.clone())?;
    bytes.try_into().map(Some).map_err(|_| invalid)
}

/// Roles from the configured claims: strings split on U+0020 spaces, arrays of strings.
fn roles_of(issuer: &Issuer, claims: &Map<String, Value>) -> Result<Vec<String>, TokenError> {
    let mut roles = Vec::new();
    for name in &issuer.role_claims {
        match claims.get(name) {
            None => {}
            // RFC 6749 section 3.3: scope tokens are delimited by U+0020 only; splitting on
            // other whitespace would turn one granted token into several roles.
            Some(Value::String(s)) => roles.extend(
                s.split(' ')
                    .filter(|role| !role.is_empty())
                    .map(str::to_owned),
            ),
            Some(Value::Array(items)) => {
                for item in items {
                    let role = item
                        .as_str()
                        .ok_or(TokenError::InvalidClaim { claim: "roles" })?;
                    roles.push(role.to_owned());
                }
            }
            Some(_) => return Err(TokenError::InvalidClaim { claim: "roles" }),
        }
    }
    Ok(roles)
}

fn missing(claim: &str) -> TokenError {
    TokenError::MissingClaim {
        claim: claim.to_owned(),
    }
}
