//! What the authentication layer asks of a token validator.

use std::future::Future;
use std::sync::Arc;

use zt_core::{PeerIdentity, Subject};
use zt_token::{Rejected, TokenError};

/// Validates bearer tokens for [`AuthenticateLayer`](super::AuthenticateLayer).
///
/// Implemented for zt-token's `Validator`; implement it for another validator (or a test
/// double) to use that instead. An implementation must fail closed: any doubt is an error.
pub trait ValidateToken: Clone + Send + Sync + 'static {
    /// Validates `token`, presented over a connection whose verified peer is `peer` (used to
    /// check RFC 8705 certificate-bound tokens), and returns whom it speaks for.
    ///
    /// # Errors
    ///
    /// The [`TokenError`] naming the rule the token broke.
    fn validate(
        &self,
        token: &str,
        peer: Option<&PeerIdentity>,
    ) -> impl Future<Output = Result<Arc<Subject>, TokenError>> + Send;

    /// As [`validate`](Self::validate), but a token whose signature and claims verified and
    /// whose certificate binding alone failed comes back with its verified subject, so the
    /// mismatch can be reported to a breach responder. The default never names a subject.
    ///
    /// # Errors
    ///
    /// [`Rejected`] holding the [`TokenError`], and the verified subject for binding
    /// failures when the implementation knows it.
    fn validate_detailed(
        &self,
        token: &str,
        peer: Option<&PeerIdentity>,
    ) -> impl Future<Output = Result<Arc<Subject>, Rejected>> + Send {
        let validation = self.validate(token, peer);
        async move { validation.await.map_err(Rejected::from) }
    }

    /// The answer for `token` when it is at hand without waiting (for instance from a cache
    /// of verified tokens), the same answer [`validate_detailed`](Self::validate_detailed)
    /// would give; `None` to have `validate_detailed` called. The default is always `None`.
    fn validate_cached(
        &self,
        token: &str,
        peer: Option<&PeerIdentity>,
    ) -> Option<Result<Arc<Subject>, Rejected>> {
        let _ = (token, peer);
        None
    }
}

/// The fixed description sent to the caller for a token error: expiry and timing are
/// named (they tell an honest client to fetch a new token), everything else is "invalid".
pub(crate) fn describe(error: &TokenError) -> &'static str {
    match error {
        TokenError::Expired => "the access token expired",
        TokenError::NotYetValid | TokenError::IssuedInFuture => "the access token is not valid yet",
        TokenError::BindingWithoutPeer
        | TokenError::BindingMismatch
        | TokenError::BindingRequired => "the access token is not bound to this client certificate",
        _ => "the access token is invalid",
    }
}

impl ValidateToken for zt_token::Validator {
    fn validate(
        &self,
        token: &str,
        peer: Option<&PeerIdentity>,
    ) -> impl Future<Output = Result<Arc<Subject>, TokenError>> + Send {
        zt_token::Validator::validate(self, token, peer)
    }

    fn validate_detailed(
        &self,
        token: &str,
        peer: Option<&PeerIdentity>,
    ) -> impl Future<Output = Result<Arc<Subject>, Rejected>> + Send {
        zt_token::Validator::validate_detailed(self, token, peer)
    }

    fn validate_cached(
        &self,
        token: &str,
        peer: Option<&PeerIdentity>,
    ) -> Option<Result<Arc<Subject>, Rejected>> {
        zt_token::Validator::validate_cached(self, token, peer)
    }
}
