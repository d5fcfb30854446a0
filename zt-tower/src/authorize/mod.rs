//! Authorization: a default-deny [`Policy`] decides every request before
//! it reaches the service.
//!
//! [`Authorize`] normalizes the request path once (a path that cannot be normalized is
//! denied, and the service sees the normalized path), builds an
//! [`AccessRequest`](zt_core::AccessRequest) from the method, path, host, headers and the
//! caller's [`Principal`](zt_core::Principal), asks the policy, records the decision, and
//! answers `403` on a deny (`insufficient_scope` when the deciding rule only lacked a role or
//! scope). On an allow the principal stays in the request extensions for the service.
//! A request that names its host ambiguously (`Host` repeated or not text, or a URI
//! authority, `Host`, `X-Forwarded-Host` or `Forwarded: host=` that disagree) is denied.
//!
//! # Example
//!
//! ```
//! use std::convert::Infallible;
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::Full;
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//! use zt_core::{AccessRequest, Decision, Policy, Reason};
//! use zt_tower::authorize::AuthorizeLayer;
//!
//! // A policy that lets anyone read `/health` and nothing else.
//! #[derive(Debug)]
//! struct HealthOnly;
//!
//! impl Policy for HealthOnly {
//!     fn evaluate(&self, request: &AccessRequest<'_>) -> Decision {
//!         if request.path.as_str() == "/health" {
//!             Decision::allow("health", Reason::AllowedByRule)
//!         } else {
//!             Decision::deny(Reason::NoRuleMatched)
//!         }
//!     }
//! }
//!
//! async fn handle(_: Request<Full<Bytes>>) -> Result<Response<Full<Bytes>>, Infallible> {
//!     Ok(Response::new(Full::from("ok")))
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Infallible> {
//! let service = ServiceBuilder::new()
//!     .layer(AuthorizeLayer::new(HealthOnly))
//!     .service_fn(handle);
//!
//! // `//health` is normalized to `/health` before the policy sees it.
//! let request = Request::get("//health").body(Full::default()).unwrap();
//! let response = service.clone().oneshot(request).await?;
//! assert_eq!(response.status(), StatusCode::OK);
//!
//! let request = Request::get("/admin").body(Full::default()).unwrap();
//! let response = service.clone().oneshot(request).await?;
//! assert_eq!(response.status(), StatusCode::FORBIDDEN);
//!
//! // An encoded slash is never guessed at: denied.
//! let request = Request::get("/health%2F..%2Fadmin").body(Full::default()).unwrap();
//! let response = service.oneshot(request).await?;
//! assert_eq!(response.status(), StatusCode::FORBIDDEN);
//! # Ok(())
//! # }
//! ```

mod decide;
mod host;

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;
use zt_core::{AuditSink, Clock, Policy, PostureSource, Responder, RevocationList, SystemClock};

use crate::future::ResponseFuture;
use crate::reject::DEFAULT_REALM;

/// Applies [`Authorize`] to a service. Cheap to clone: the policy and settings are shared.
#[derive(Clone)]
pub struct AuthorizeLayer {
    config: Arc<AuthorizeConfig>,
}

/// What every [`Authorize`] of one layer shares.
pub(crate) struct AuthorizeConfig {
    pub(crate) policy: Arc<dyn Policy>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) audit: Option<Arc<dyn AuditSink>>,
    pub(crate) revocations: Option<Arc<RevocationList>>,
    pub(crate) posture: Option<Arc<dyn PostureSource>>,
    pub(crate) responder: Option<Arc<Responder>>,
    pub(crate) realm: Arc<str>,
}

impl AuthorizeLayer {
    /// A layer deciding every request with `policy`, reading time from the system clock and
    /// recording no audit trail.
    pub fn new(policy: impl Policy) -> Self {
        Self {
            config: Arc::new(AuthorizeConfig {
                policy: Arc::new(policy),
                clock: Arc::new(SystemClock),
                audit: None,
                revocations: None,
                posture: None,
                responder: None,
                realm: Arc::from(DEFAULT_REALM),
            }),
        }
    }

    /// Reads the time of each decision from `clock` (for tests and demonstrations).
    pub fn with_clock(self, clock: impl Clock) -> Self {
        self.with_shared_clock(Arc::new(clock))
    }

    /// Reads the time of each decision from `clock`, shared with other users.
    pub fn with_shared_clock(self, clock: Arc<dyn Clock>) -> Self {
        self.map_config(|c| c.clock = clock)
    }

    /// Records every decision, allow and deny, in `sink` (with the `x-request-id` header
    /// as the record's request id).
    pub fn with_audit(self, sink: impl AuditSink) -> Self {
        self.map_config(|c| c.audit = Some(Arc::new(sink)))
    }

    /// Denies principals on `revocations` before the policy is asked.
    pub fn with_revocations(self, revocations: Arc<RevocationList>) -> Self {
        self.map_config(|c| c.revocations = Some(revocations))
    }

    /// Adds the device-posture attributes of `source` to each principal before the policy
    /// runs; a posture statement that is present but fails verification is a deny.
    pub fn with_posture(self, source: impl PostureSource) -> Self {
        self.map_config(|c| c.posture = Some(Arc::new(source)))
    }

    /// Feeds every decision to `responder`, which quarantines principals that cross its
    /// thresholds (put its revocation list in [`with_revocations`](Self::with_revocations)
    /// too, so quarantines take effect).
    pub fn with_responder(self, responder: Arc<Responder>) -> Self {
        self.map_config(|c| c.responder = Some(responder))
    }

    /// Names `realm` in `WWW-Authenticate` challenges (default `zt`).
    pub fn with_realm(self, realm: &str) -> Self {
        self.map_config(|c| c.realm = Arc::from(realm))
    }

    fn map_config(self, edit: impl FnOnce(&mut AuthorizeConfig)) -> Self {
        let mut config = AuthorizeConfig {
            policy: Arc::clone(&self.config.policy),
            clock: Arc::clone(&self.config.clock),
            audit: self.config.audit.clone(),
            revocations: self.config.revocations.clone(),
            posture: self.config.posture.clone(),
            responder: self.config.responder.clone(),
            realm: Arc::clone(&self.config.realm),
        };
        edit(&mut config);
        Self {
            config: Arc::new(config),
        }
    }
}

impl fmt::Debug for AuthorizeLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizeLayer")
            .field("policy", &self.config.policy)
            .field("audit", &self.config.audit)
            .field("revocations", &self.config.revocations.is_some())
            .field("posture", &self.config.posture)
            .field("responder", &self.config.responder.is_some())
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for AuthorizeLayer {
    type Service = Authorize<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Authorize {
            inner,
            config: Arc::clone(&self.config),
        }
    }
}

/// Decides each request with a policy before the inner service sees it.
///
/// See the [module docs](self) for an example.
#[derive(Clone)]
pub struct Authorize<S> {
    inner: S,
    config: Arc<AuthorizeConfig>,
}

impl<S> Authorize<S> {
    /// Wraps `inner`, deciding every request with `policy`.
    pub fn new(inner: S, policy: impl Policy) -> Self {
        AuthorizeLayer::new(policy).layer(inner)
    }

    /// A layer that wraps services in `Authorize` with `policy`.
    pub fn layer(policy: impl Policy) -> AuthorizeLayer {
        AuthorizeLayer::new(policy)
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The inner service, unwrapped.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: fmt::Debug> fmt::Debug for Authorize<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authorize")
            .field("inner", &self.inner)
            .field("policy", &self.config.policy)
            .finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Authorize<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<crate::ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        match self.config.authorize(&mut request) {
            Ok(()) => ResponseFuture::inner(self.inner.call(request)),
            Err(rejection) => ResponseFuture::rejected(
                rejection.into_response(request.headers(), &self.config.realm),
            ),
        }
    }
}

#[cfg(test)]
mod tests;
