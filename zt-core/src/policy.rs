//! The `Policy` trait: a synchronous, object-safe answer to an [`AccessRequest`].

use std::fmt;
use std::sync::Arc;

use crate::{AccessRequest, Decision};

/// Decides whether a request may proceed.
///
/// Implementations must fail closed: any error on the way is a [`Decision`] with
/// [`Effect::Deny`](crate::Effect::Deny), never a panic and never an allow.
pub trait Policy: Send + Sync + fmt::Debug + 'static {
    /// Decides `request`.
    fn evaluate(&self, request: &AccessRequest<'_>) -> Decision;
}

impl<P: Policy + ?Sized> Policy for Arc<P> {
    fn evaluate(&self, request: &AccessRequest<'_>) -> Decision {
        (**self).evaluate(request)
    }
}

impl<P: Policy + ?Sized> Policy for Box<P> {
    fn evaluate(&self, request: &AccessRequest<'_>) -> Decision {
        (**self).evaluate(request)
    }
}
