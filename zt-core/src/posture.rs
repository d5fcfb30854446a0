//! Device posture: attributes about the caller's device that policy conditions can require.
//!
//! The full documentation is on the main type, re-exported at the crate root.

mod claims;
#[cfg(feature = "signed-posture")]
mod signed;
mod static_map;

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use http::HeaderMap;

use crate::{Attributes, Principal};

pub use claims::ClaimsPosture;
#[cfg(feature = "signed-posture")]
pub use signed::{PostureKey, SignedHeaderPosture, sign_posture_hmac};
pub use static_map::StaticPosture;

/// What a posture source sees of a request.
#[derive(Debug, Clone, Copy)]
pub struct PostureContext<'a> {
    /// Who is asking, as verified so far.
    pub principal: &'a Principal,
    /// The request headers, for sources that read a header.
    pub headers: Option<&'a HeaderMap>,
    /// When the request is decided.
    pub now: SystemTime,
}

/// Why device posture could not be established. The request should be denied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PostureError {
    /// The posture header is present but not `<base64url payload>.<base64url signature>`,
    /// is repeated, or is too long.
    #[error("posture header is malformed: {0}")]
    Malformed(&'static str),
    /// The signature does not verify with the configured key.
    #[error("posture signature does not verify")]
    BadSignature,
    /// The signed payload is not the expected JSON object.
    #[error("posture payload is invalid: {0}")]
    InvalidPayload(&'static str),
    /// The posture statement's `exp` is not after the current time.
    #[error("posture statement expired")]
    Expired,
    /// The posture statement's `iat` is in the future beyond the leeway.
    #[error("posture statement issued in the future")]
    NotYetValid,
    /// `exp - iat` exceeds the configured maximum lifetime.
    #[error("posture statement lives longer than the {max_secs} seconds allowed")]
    LifetimeTooLong {
        /// The maximum lifetime, in seconds.
        max_secs: u64,
    },
    /// The statement names another caller than the verified peer or token subject.
    #[error("posture statement is bound to another caller")]
    WrongCaller,
    /// An HMAC secret is shorter than the minimum (a configuration error).
    #[error("posture HMAC secret must be at least {min} bytes")]
    KeyTooShort {
        /// The minimum length in bytes.
        min: usize,
    },
    /// The statement sets an attribute outside the prefix the source allows.
    #[error("posture attribute {0:?} is outside the allowed prefix")]
    AttributeNotAllowed(String),
}

/// Supplies device-posture attributes for a request.
///
/// Implementations must fail closed: a statement that cannot be verified is an error, never
/// a set of attributes.
///
/// A `PostureSource` supplies [`Attributes`] for a request. The authorization layer merges
/// them into [`Principal::attributes`] before the policy runs ([`apply_posture`]), where rule
/// conditions read them by name, for example `device.managed = true` or a minimum OS patch
/// level on `device.os_patch`.
///
/// Sources:
///
/// - [`ClaimsPosture`]: copies token claims (`device_managed`, or a `device` object) into
///   attributes;
/// - [`StaticPosture`]: a fixed map from SPIFFE IDs or token subjects to attributes;
/// - `SignedHeaderPosture` (feature `signed-posture`, on by default): a header written by a
///   posture agent and verified with an HMAC-SHA256 or Ed25519 key;
/// - [`PostureSources`]: several of the above, applied in order.
///
/// Absent posture is not an error: the source returns no attributes and conditions that need
/// them fail closed in the policy. A posture that is present but fails verification is an
/// error, and the caller should deny the request.
///
/// ```
/// use std::time::SystemTime;
/// use zt_core::{Attributes, ClaimsPosture, PostureContext, PostureSource, Principal};
///
/// let posture = ClaimsPosture::new().claim("device_managed", "device.managed");
/// let mut principal = Principal::default(); // with a subject whose claims hold device_managed
/// zt_core::apply_posture(&posture, &mut principal, None, SystemTime::now())?;
/// // Without a subject there is nothing to copy; a rule requiring device.managed denies.
/// assert!(principal.attributes.get("device.managed").is_none());
/// # Ok::<(), zt_core::PostureError>(())
/// ```
pub trait PostureSource: Send + Sync + fmt::Debug + 'static {
    /// The attributes this source vouches for.
    ///
    /// # Errors
    ///
    /// [`PostureError`] when posture is present but cannot be trusted.
    fn attributes(&self, context: &PostureContext<'_>) -> Result<Attributes, PostureError>;
}

impl<S: PostureSource + ?Sized> PostureSource for Arc<S> {
    fn attributes(&self, context: &PostureContext<'_>) -> Result<Attributes, PostureError> {
        (**self).attributes(context)
    }
}

impl<S: PostureSource + ?Sized> PostureSource for Box<S> {
    fn attributes(&self, context: &PostureContext<'_>) -> Result<Attributes, PostureError> {
        (**self).attributes(context)
    }
}

/// Several sources applied in order; a later source overrides an earlier one's attribute of
/// the same name. The first error fails the whole set.
#[derive(Debug, Default)]
pub struct PostureSources(Vec<Box<dyn PostureSource>>);

impl PostureSources {
    /// No sources.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `source` after the others.
    pub fn with(mut self, source: impl PostureSource) -> Self {
        self.0.push(Box::new(source));
        self
    }
}

impl PostureSource for PostureSources {
    fn attributes(&self, context: &PostureContext<'_>) -> Result<Attributes, PostureError> {
        let mut merged = Attributes::new();
        for source in &self.0 {
            merge(&mut merged, source.attributes(context)?);
        }
        Ok(merged)
    }
}

/// Runs `source` for `principal` and merges what it returns into `principal.attributes`
/// (posture overrides an attribute of the same name).
///
/// # Errors
///
/// The source's [`PostureError`]; `principal` is left unchanged and the request should be
/// denied.
pub fn apply_posture(
    source: &dyn PostureSource,
    principal: &mut Principal,
    headers: Option<&HeaderMap>,
    now: SystemTime,
) -> Result<(), PostureError> {
    let context = PostureContext {
        principal,
        headers,
        now,
    };
    let attributes = source.attributes(&context)?;
    merge(&mut principal.attributes, attributes);
    Ok(())
}

fn merge(into: &mut Attributes, from: Attributes) {
    for (key, value) in from.iter() {
        into.insert(key.clone(), value.clone());
    }
}
