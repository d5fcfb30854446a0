//! Zero trust as [tower] layers: every request proves who sent it and whether it may.
//!
//! A request travels through these pieces, outermost first:
//!
//! 1. [`serve`] and [`transport`]: a [`SpiffeListener`](serve::SpiffeListener) completes the
//!    mutual-TLS handshake (zt-mtls), and the per-connection wrapper
//!    [`AddTransportIdentity`] puts the connection's
//!    [`TransportIdentity`](zt_core::TransportIdentity) into every request's extensions.
//!    With the `axum` feature, the listener works with `axum::serve` (module `axum`).
//! 2. [`authenticate`]: the bearer token is validated (zt-token) against the connection's
//!    peer; `401` with an RFC 6750 challenge on a missing or bad token.
//! 3. [`authorize`]: the path is normalized, revocations and device posture are checked,
//!    a default-deny [`Policy`](zt_core::Policy) decides, the decision is audited; `403` on a
//!    deny.
//! 4. The service reads the caller as a [`Principal`](zt_core::Principal) from the request
//!    extensions (or with the `Caller` extractor of the `axum` feature).
//!
//! [`ZeroTrustLayer`] stacks steps 2 and 3 in one layer. Rejections ([`reject`]) are small
//! `application/problem+json` documents, or gRPC statuses for gRPC callers, and never carry a
//! token or a rule name. For clients, [`outbound`] attaches a fresh short-lived token to every
//! request and renews it before it expires.
//!
//! Invariant: no path through these layers reaches the service without a positive decision
//! of the policy; every error on the way (a token, a path, posture, a revocation) is a deny.
//!
//! [tower]: https://docs.rs/tower
#![warn(missing_docs)]

pub mod authenticate;
pub mod authorize;
#[cfg(feature = "axum")]
pub mod axum;
mod body;
mod future;
mod minted;
pub mod outbound;
mod principal;
pub mod reject;
pub mod serve;
mod telemetry;
pub mod transport;
mod zero_trust;

pub use authenticate::{Authenticate, AuthenticateLayer, TokenRequirement, ValidateToken};
pub use authorize::{Authorize, AuthorizeLayer};
pub use body::ResponseBody;
pub use future::ResponseFuture;
pub use minted::MinterSource;
pub use outbound::{BearerToken, BearerTokenLayer, TokenSource};
pub use reject::Rejection;
pub use telemetry::{
    METRIC_DECISION_SECONDS, METRIC_DECISIONS, METRIC_HANDSHAKES_REFUSED,
    METRIC_TOKEN_VALIDATION_SECONDS, METRIC_TOKENS_REFUSED,
};
pub use transport::{AddTransportIdentity, TransportIdentityLayer};
pub use zero_trust::{ZeroTrustBuilder, ZeroTrustLayer};

/// The root README's example, compiled with the doc tests so that it cannot drift from the API.
#[cfg(all(doctest, feature = "axum"))]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;
