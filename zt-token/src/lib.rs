//! Short-lived token validation for zt: OAuth 2.0 / OIDC JWT access tokens and JWT-SVIDs,
//! checked against rotating keys, plus a [`Minter`] for short-lived service tokens.
//!
//! A [`Validator`] trusts one or several [`Issuer`]s, each with a [`KeySource`] (a fixed
//! JWKS, a JWKS or SPIFFE bundle file re-read on change, or a remote JWKS by URL or OIDC
//! discovery). [`Validator::validate`] returns a zt-core [`Subject`](zt_core::Subject) or a
//! [`TokenError`] naming the broken rule.
//!
//! Rules that always hold: the algorithm comes from the key, never from the token header,
//! and `none` or HMAC never verify; `jku`, `x5u` and embedded `jwk` headers are ignored;
//! unknown `crit` headers, JWE and nested tokens reject; tokens over 8 KiB are refused before
//! decoding; `iss`, `sub`, `aud` and `exp` must be present; lifetimes above the maximum (15
//! minutes by default) reject; RSA keys under 2048 bits are refused when loaded; a `cnf` claim
//! naming a confirmation method other than RFC 8705 `x5t#S256` (DPoP `jkt`, `jwk`) rejects,
//! so that a sender-constrained token never passes as a bearer token.
//!
//! Security invariant: a [`Subject`](zt_core::Subject) is only ever returned after the
//! signature of its token verified with a key of the issuer named by the token's `iss`, or
//! from the cache of such tokens while the issuer's key set is unchanged.
//!
//! Observability: rejections are logged at `debug` with the rule's name
//! ([`TokenError::rule`]); failed key refreshes at `warn`. The `metrics` counters
//! `zt_token_key_refreshes_total` and `zt_token_key_refresh_failures_total` (label `source`:
//! `remote` or `file`) count refreshes. Nothing is logged at `info`, and no log line, error or
//! `Debug` output holds a token or a private key.
#![warn(missing_docs)]

mod cache;
mod claims;
mod error;
mod header;
mod issuer;
mod jose;
mod keyset;
mod minter;
mod source;
mod validator;

pub use error::{BuildError, FetchError, KeySetError, MintError, TokenError};
pub use issuer::{DEFAULT_LEEWAY, DEFAULT_MAX_LIFETIME, Issuer};
pub use jsonwebtoken::Algorithm;
pub use keyset::{KeySet, MIN_RSA_BITS};
pub use minter::{Elevation, MintAlgorithm, MintRequest, MintedToken, Minter};
pub use source::{KeySource, RemoteJwksBuilder};
pub use validator::{
    DEFAULT_CACHE_CAPACITY, DEFAULT_MAX_TOKEN_BYTES, Rejected, Validator, ValidatorBuilder,
};
