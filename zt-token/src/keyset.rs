//! Verification keys loaded from a JWKS or a SPIFFE bundle, and the rules tying a key to a
//! token: the algorithm comes from the key, never from the token header.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};

use crate::{KeySetError, TokenError};

/// Smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: usize = 2048;

/// The kind of key, with the curve where there is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Rsa,
    P256,
    P384,
    Ed25519,
}

impl KeyKind {
    /// Whether a token signed with `alg` may be verified by a key of this kind.
    fn fits(self, alg: Algorithm) -> bool {
        use Algorithm::{ES256, ES384, EdDSA, PS256, PS384, PS512, RS256, RS384, RS512};
        match self {
            Self::Rsa => matches!(alg, RS256 | RS384 | RS512 | PS256 | PS384 | PS512),
            Self::P256 => alg == ES256,
            Self::P384 => alg == ES384,
            Self::Ed25519 => alg == EdDSA,
        }
    }
}

/// One public key able to verify signatures.
pub(crate) struct VerifyingKey {
    kid: Option<Arc<str>>,
    kind: KeyKind,
    /// The JWK's `alg`, when it names one; the token must then use exactly this one.
    alg: Option<Algorithm>,
    key: DecodingKey,
}

impl VerifyingKey {
    /// The algorithm to verify `header_alg` tokens with: the key decides, the header only
    /// has to agree with it.
    pub(crate) fn algorithm_for(&self, header_alg: Algorithm) -> Result<Algorithm, TokenError> {
        let fits = self.kind.fits(header_alg) && self.alg.is_none_or(|alg| alg == header_alg);
        if fits {
            Ok(header_alg)
        } else {
            Err(TokenError::KeyAlgorithmMismatch)
        }
    }

    /// The jsonwebtoken key.
    pub(crate) fn decoding_key(&self) -> &DecodingKey {
        &self.key
    }
}

/// Which `use` values make a key a token-signing key.
#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyUse {
    /// An OAuth / OIDC JWKS: `use` absent or `sig`.
    Jwks,
    /// A SPIFFE bundle: `use` is `jwt-svid`.
    SpiffeBundle,
}

/// The verification keys of one issuer, looked up by `kid`.
///
/// Loading refuses RSA keys under 2048 bits and malformed keys, skips keys that are not
/// signing keys (`use` other than `sig`, encryption algorithms, symmetric `oct` keys) and
/// keys of unsupported types.
///
/// ```
/// use zt_token::KeySet;
///
/// let jwks = serde_json::json!({"keys": [{
///     "kty": "OKP", "crv": "Ed25519", "kid": "k1", "alg": "EdDSA",
///     "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
/// }]});
/// let keys = KeySet::from_jwks(&jwks)?;
/// assert_eq!(keys.len(), 1);
/// # Ok::<(), zt_token::KeySetError>(())
/// ```
#[derive(Default)]
pub struct KeySet {
    by_kid: HashMap<Arc<str>, Arc<VerifyingKey>>,
    unnamed: Vec<Arc<VerifyingKey>>,
}

impl KeySet {
    /// Loads a JWKS (`{"keys": [...]}`) given as JSON.
    ///
    /// # Errors
    ///
    /// [`KeySetError`] when the document is not a JWKS, holds no usable key, holds a
    /// malformed key, an RSA key under 2048 bits, or two keys with one `kid`.
    pub fn from_jwks(jwks: &Value) -> Result<Self, KeySetError> {
        Self::load(jwks, KeyUse::Jwks)
    }

    /// Loads a JWKS from JSON bytes. Errors as [`KeySet::from_jwks`].
    ///
    /// # Errors
    ///
    /// See [`KeySet::from_jwks`].
    pub fn from_jwks_bytes(bytes: &[u8]) -> Result<Self, KeySetError> {
        let value: Value = serde_json::from_slice(bytes).map_err(KeySetError::Json)?;
        Self::from_jwks(&value)
    }

    /// Loads the JWT-SVID keys (`use: "jwt-svid"`) of a SPIFFE bundle.
    ///
    /// # Errors
    ///
    /// See [`KeySet::from_jwks`].
    pub fn from_spiffe_bundle(bytes: &[u8]) -> Result<Self, KeySetError> {
        let value: Value = serde_json::from_slice(bytes).map_err(KeySetError::Json)?;
        Self::load(&value, KeyUse::SpiffeBundle)
    }

    fn load(jwks: &Value, key_use: KeyUse) -> Result<Self, KeySetError> {
        let keys = jwks
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| KeySetError::Json(serde::de::Error::custom("missing `keys` array")))?;
        let mut set = Self::default();
        for jwk in keys {
            let Some(jwk) = jwk.as_object() else { continue };
            if let Some(key) = parse_jwk(jwk, key_use)? {
                set.add(key)?;
            }
        }
        if set.is_empty() {
            return Err(KeySetError::Empty);
        }
        Ok(set)
    }

    fn add(&mut self, key: VerifyingKey) -> Result<(), KeySetError> {
        let Some(kid) = key.kid.clone() else {
            self.unnamed.push(Arc::new(key));
            return Ok(());
        };
        if self.by_kid.insert(kid.clone(), Arc::new(key)).is_some() {
            return Err(KeySetError::DuplicateKid {
                kid: kid.to_string(),
            });
        }
        Ok(())
    }

    /// How many keys the set holds.
    pub fn len(&self) -> usize {
        self.by_kid.len() + self.unnamed.len()
    }

    /// Whether the set holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether a key with this `kid` is in the set.
    pub fn contains_kid(&self, kid: &str) -> bool {
        self.by_kid.contains_key(kid)
    }

    /// The key for a token's `kid`. A token without `kid` is accepted only when the set has
    /// exactly one key.
    pub(crate) fn find(&self, kid: Option<&str>) -> Result<&Arc<VerifyingKey>, TokenError> {
        match kid {
            Some(kid) => self.by_kid.get(kid).ok_or(TokenError::UnknownKey),
            None if self.len() == 1 => self
                .unnamed
                .first()
                .or_else(|| self.by_kid.values().next())
                .ok_or(TokenError::UnknownKey),
            None => Err(TokenError::MissingKeyId),
        }
    }
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySet")
            .field("kids", &self.by_kid.keys().collect::<Vec<_>>())
            .field("unnamed", &self.unnamed.len())
            .finish()
    }
}

/// Parses one JWK; `Ok(None)` for keys that are not signing keys of a supported type.
fn parse_jwk(
    jwk: &Map<String, Value>,
    key_use: KeyUse,
) -> Result<Option<VerifyingKey>, KeySetError> {
    let text = |name: &str| jwk.get(name).and_then(Value::as_str);
    let kid = text("kid").map(Arc::<str>::from);
    let bad = |reason| KeySetError::BadKey {
        kid: kid.as_deref().map(str::to_owned),
        reason,
    };

    // Only signing keys for the profile at hand.
    let use_ok = matches!(
        (key_use, text("use")),
        (KeyUse::Jwks, None | Some("sig")) | (KeyUse::SpiffeBundle, Some("jwt-svid"))
    );
    if !use_ok {
        return Ok(None);
    }

    // The JWK's own `alg`, when present, pins the algorithm; encryption algorithms are skipped.
    let alg = match text("alg") {
        None => None,
        Some(name) => match parse_algorithm(name) {
            Some(alg) if !is_symmetric(alg) => Some(alg),
            _ => return Ok(None),
        },
    };

    let parsed = match (text("kty"), text("crv")) {
        (Some("RSA"), _) => rsa_key(jwk, kid.as_deref())?,
        (Some("EC"), Some("P-256")) => ec_key(jwk, KeyKind::P256, 32).map_err(bad)?,
        (Some("EC"), Some("P-384")) => ec_key(jwk, KeyKind::P384, 48).map_err(bad)?,
        (Some("OKP"), Some("Ed25519")) => ed_key(jwk).map_err(bad)?,
        _ => return Ok(None),
    };
    let (kind, key) = parsed;
    if alg.is_some_and(|alg| !kind.fits(alg)) {
        return Err(bad("`alg` does not fit `kty`/`crv`"));
    }
    Ok(Some(VerifyingKey {
        kid,
        kind,
        alg,
        key,
    }))
}

fn member_bytes(jwk: &Map<String, Value>, name: &str) -> Result<Vec<u8>, &'static str> {
    let text = jwk
        .get(name)
        .and_then(Value::as_str)
        .ok_or("a coordinate is missing")?;
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| "a coordinate is not base64url")
}

fn rsa_key(
    jwk: &Map<String, Value>,
    kid: Option<&str>,
) -> Result<(KeyKind, DecodingKey), KeySetError> {
    let bad = |reason| KeySetError::BadKey {
        kid: kid.map(str::to_owned),
        reason,
    };
    let n = member_bytes(jwk, "n").map_err(bad)?;
    let e = member_bytes(jwk, "e").map_err(bad)?;
    let bits = modulus_bits(&n);
    if bits < MIN_RSA_BITS {
        return Err(KeySetError::RsaKeyTooSmall {
            kid: kid.map(str::to_owned),
            bits,
        });
    }
    if e.iter().all(|b| *b == 0) {
        return Err(bad("RSA exponent is zero"));
    }
    Ok((KeyKind::Rsa, DecodingKey::from_rsa_raw_components(&n, &e)))
}

/// Bit length of a big-endian unsigned integer.
fn modulus_bits(n: &[u8]) -> usize {
    let Some(first) = n.iter().position(|b| *b != 0) else {
        return 0;
    };
    let leading = n[first].leading_zeros() as usize;
    (n.len() - first) * 8 - leading
}

fn ec_key(
    jwk: &Map<String, Value>,
    kind: KeyKind,
    coordinate_len: usize,
) -> Result<(KeyKind, DecodingKey), &'static str> {
    let x = member_bytes(jwk, "x")?;
    let y = member_bytes(jwk, "y")?;
    if x.len() != coordinate_len || y.len() != coordinate_len {
        return Err("EC coordinates have the wrong length for the curve");
    }
    let mut point = Vec::with_capacity(1 + 2 * coordinate_len);
    point.push(0x04);
    point.extend_from_slice(&x);
    point.extend_from_slice(&y);
    Ok((kind, DecodingKey::from_ec_der(&point)))
}

fn ed_key(jwk: &Map<String, Value>) -> Result<(KeyKind, DecodingKey), &'static str> {
    let x = member_bytes(jwk, "x")?;
    if x.len() != 32 {
        return Err("Ed25519 public key must be 32 bytes");
    }
    Ok((KeyKind::Ed25519, DecodingKey::from_ed_der(&x)))
}

/// Maps a JOSE algorithm name to jsonwebtoken's; `Ed25519` (RFC 9864) is `EdDSA` on Ed25519.
pub(crate) fn parse_algorithm(name: &str) -> Option<Algorithm> {
    match name {
        "Ed25519" => Some(Algorithm::EdDSA),
        other => other.parse().ok(),
    }
}

/// Whether `alg` is an HMAC algorithm, which never verifies public-key tokens.
pub(crate) fn is_symmetric(alg: Algorithm) -> bool {
    matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modulus_bits_ignore_leading_zero_bytes() {
        assert_eq!(modulus_bits(&[0, 0x80, 0]), 16);
        assert_eq!(modulus_bits(&[0x01]), 1);
        assert_eq!(modulus_bits(&[0, 0]), 0);
    }

    #[test]
    fn fully_specified_ed25519_name_maps_to_eddsa() {
        assert_eq!(parse_algorithm("Ed25519"), Some(Algorithm::EdDSA));
        assert_eq!(parse_algorithm("none"), None);
    }
}
