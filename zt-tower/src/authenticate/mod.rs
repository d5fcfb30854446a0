//! Authentication: the bearer token of each request is validated and its subject recorded.
//!
//! [`Authenticate`] reads `Authorization: Bearer <token>` (RFC 6750), validates the token
//! with a [`ValidateToken`] implementation (zt-token's `Validator`), passing the connection's
//! verified mTLS peer so certificate-bound tokens are checked, and puts a
//! [`Principal`] holding the peer and the token's subject into the
//! request extensions. A missing token (when one is required) or an invalid one is answered
//! with `401` and an RFC 6750 `WWW-Authenticate` challenge; a malformed or repeated
//! `Authorization` header with `400 invalid_request`. A token that is present but invalid is
//! always refused, whatever the [`TokenRequirement`].
//!
//! # Example
//!
//! ```
//! use std::convert::Infallible;
//! use std::sync::Arc;
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::Full;
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//! use zt_core::{PeerIdentity, Principal, Subject};
//! use zt_token::TokenError;
//! use zt_tower::authenticate::{AuthenticateLayer, ValidateToken};
//!
//! // A stand-in for zt-token's `Validator` that knows a single token.
//! #[derive(Clone)]
//! struct OneToken(Arc<Subject>);
//!
//! impl ValidateToken for OneToken {
//!     async fn validate(
//!         &self,
//!         token: &str,
//!         _peer: Option<&PeerIdentity>,
//!     ) -> Result<Arc<Subject>, TokenError> {
//!         match token {
//!             "let-me-in" => Ok(Arc::clone(&self.0)),
//!             _ => Err(TokenError::BadSignature),
//!         }
//!     }
//! }
//!
//! async fn handle(request: Request<Full<Bytes>>) -> Result<Response<Full<Bytes>>, Infallible> {
//!     let principal = request.extensions().get::<Principal>().cloned().unwrap_or_default();
//!     let subject = principal.subject.map(|s| s.subject.to_string()).unwrap_or_default();
//!     Ok(Response::new(Full::from(subject)))
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Infallible> {
//! # let subject = Arc::new(Subject {
//! #     issuer: Arc::from("https://issuer.example"),
//! #     subject: Arc::from("alice"),
//! #     audiences: vec![],
//! #     roles: vec![],
//! #     expires_at: std::time::SystemTime::now(),
//! #     token_id: None,
//! #     claims: Default::default(),
//! # });
//! let service = ServiceBuilder::new()
//!     .layer(AuthenticateLayer::new(OneToken(subject)))
//!     .service_fn(handle);
//!
//! let request = Request::get("/").header("authorization", "Bearer let-me-in");
//! let response = service.clone().oneshot(request.body(Full::default()).unwrap()).await?;
//! assert_eq!(response.status(), StatusCode::OK);
//!
//! let request = Request::get("/").header("authorization", "Bearer forged");
//! let response = service.oneshot(request.body(Full::default()).unwrap()).await?;
//! assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
//! # Ok(())
//! # }
//! ```

mod bearer;
mod validate;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;
use tracing::debug;
use zt_core::{
    Clock, Decision, PeerIdentity, Principal, Reason, Responder, SecurityEvent, Subject,
    SystemClock,
};
use zt_token::{Rejected, TokenError};

use crate::body::ResponseBody;
use crate::principal::peer_of;
use crate::reject::{DEFAULT_REALM, Rejection};

pub use validate::ValidateToken;

/// When a request must carry a bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TokenRequirement {
    /// Every request must carry a valid token.
    #[default]
    Required,
    /// Requests over a connection with a verified mTLS peer may come without a token: the
    /// workload is authenticated by its certificate alone and goes on to the policy.
    /// Requests without a verified peer must carry a token.
    OptionalForVerifiedPeers,
    /// Any request may come without a token and goes on to the policy, anonymous if the
    /// connection has no verified peer either (the policy denies anonymous callers unless a
    /// rule allows them).
    Optional,
}

/// Applies [`Authenticate`] to a service. Cheap to clone: the validator and settings are
/// shared.
#[derive(Clone)]
pub struct AuthenticateLayer<V> {
    config: Arc<AuthenticateConfig<V>>,
}

struct AuthenticateConfig<V> {
    validator: V,
    requirement: TokenRequirement,
    realm: Arc<str>,
    responder: Option<Arc<Responder>>,
    clock: Arc<dyn Clock>,
}

impl<V: ValidateToken> AuthenticateLayer<V> {
    /// A layer that requires a valid token on every request, validated by `validator`.
    pub fn new(validator: V) -> Self {
        Self {
            config: Arc::new(AuthenticateConfig {
                validator,
                requirement: TokenRequirement::Required,
                realm: Arc::from(DEFAULT_REALM),
                responder: None,
                clock: Arc::new(SystemClock),
            }),
        }
    }

    /// Sets when a request must carry a token (default [`TokenRequirement::Required`]).
    pub fn with_requirement(self, requirement: TokenRequirement) -> Self {
        self.map_config(|c| c.requirement = requirement)
    }

    /// Names `realm` in `WWW-Authenticate` challenges (default `zt`).
    pub fn with_realm(self, realm: &str) -> Self {
        self.map_config(|c| c.realm = Arc::from(realm))
    }

    /// Counts every refused token as a deny of the connection's peer in `responder`, so a
    /// workload spraying forged or stolen tokens is quarantined.
    pub fn with_responder(self, responder: Arc<Responder>) -> Self {
        self.map_config(|c| c.responder = Some(responder))
    }

    /// Reads the time given to the responder from `clock`.
    pub fn with_clock(self, clock: Arc<dyn Clock>) -> Self {
        self.map_config(|c| c.clock = clock)
    }

    fn map_config(self, edit: impl FnOnce(&mut AuthenticateConfig<V>)) -> Self {
        let mut config = AuthenticateConfig {
            validator: self.config.validator.clone(),
            requirement: self.config.requirement,
            realm: Arc::clone(&self.config.realm),
            responder: self.config.responder.clone(),
            clock: Arc::clone(&self.config.clock),
        };
        edit(&mut config);
        Self {
            config: Arc::new(config),
        }
    }
}

impl<V> fmt::Debug for AuthenticateLayer<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthenticateLayer")
            .field("requirement", &self.config.requirement)
            .field("realm", &self.config.realm)
            .finish_non_exhaustive()
    }
}

impl<S, V> Layer<S> for AuthenticateLayer<V> {
    type Service = Authenticate<S, V>;

    fn layer(&self, inner: S) -> Self::Service {
        Authenticate {
            inner,
            config: Arc::clone(&self.config),
        }
    }
}

/// Validates the bearer token of each request before the inner service sees it.
///
/// See the [module docs](self) for an example.
pub struct Authenticate<S, V> {
    inner: S,
    config: Arc<AuthenticateConfig<V>>,
}

impl<S: Clone, V> Clone for Authenticate<S, V> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            config: Arc::clone(&self.config),
        }
    }
}

impl<S, V: ValidateToken> Authenticate<S, V> {
    /// Wraps `inner`, requiring a token valid for `validator` on every request.
    pub fn new(inner: S, validator: V) -> Self {
        AuthenticateLayer::new(validator).layer(inner)
    }

    /// A layer that wraps services in `Authenticate` with `validator`.
    pub fn layer(validator: V) -> AuthenticateLayer<V> {
        AuthenticateLayer::new(validator)
    }
}

impl<S, V> Authenticate<S, V> {
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

impl<S: fmt::Debug, V> fmt::Debug for Authenticate<S, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticate")
            .field("inner", &self.inner)
            .field("requirement", &self.config.requirement)
            .finish_non_exhaustive()
    }
}

/// The boxed future of a request whose token is being validated.
type Validating<B, E> = Pin<Box<dyn Future<Output = Result<Response<ResponseBody<B>>, E>> + Send>>;

pin_project! {
    /// Response future of [`Authenticate`]: token validation then the inner service, or,
    /// for a request without a bearer token or with one the validator answers at once (from
    /// its cache), the inner service or a rejection at once.
    pub struct ResponseFuture<F, B, E> {
        #[pin]
        kind: Kind<F, B, E>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, B, E> {
        Validating { future: Validating<B, E> },
        Direct { #[pin] future: crate::future::ResponseFuture<F, B> },
    }
}

impl<F, B, E> Future for ResponseFuture<F, B, E>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Validating { future } => future.as_mut().poll(cx),
            KindProj::Direct { future } => future.poll(cx),
        }
    }
}

impl<F, B, E> fmt::Debug for ResponseFuture<F, B, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<S, V, ReqBody, ResBody> Service<Request<ReqBody>> for Authenticate<S, V>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    V: ValidateToken,
    ReqBody: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        // No credentials, or a token answered at once (from the validator's cache): decided
        // here, without waiting on the validator.
        if let Some(outcome) = self.config.authenticate_at_once(&mut request) {
            let future = match outcome {
                Ok(()) => crate::future::ResponseFuture::inner(self.inner.call(request)),
                Err(rejection) => crate::future::ResponseFuture::rejected(
                    rejection.into_response(request.headers(), &self.config.realm),
                ),
            };
            return ResponseFuture {
                kind: Kind::Direct { future },
            };
        }

        // The inner service is ready; take it and leave a fresh clone in its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let config = Arc::clone(&self.config);
        let future = Box::pin(async move {
            match config.authenticate(&mut request).await {
                Ok(()) => Ok(inner.call(request).await?.map(ResponseBody::inner)),
                Err(rejection) => Ok(rejection.into_response(request.headers(), &config.realm)),
            }
        });
        ResponseFuture {
            kind: Kind::Validating { future },
        }
    }
}

impl<V: ValidateToken> AuthenticateConfig<V> {
    /// Authenticates the request when that needs no waiting: no `Authorization` header, a
    /// malformed one, credentials of another scheme, or a token the validator answers at
    /// once. `None` when the token must be validated by [`authenticate`](Self::authenticate).
    fn authenticate_at_once<B>(&self, request: &mut Request<B>) -> Option<Result<(), Rejection>> {
        let token = match bearer::bearer_token(request.headers()) {
            Ok(token) => token,
            Err(rejection) => return Some(Err(rejection)),
        };
        // No `Authorization` header, or credentials of another scheme (Basic, ...): no token.
        let Some(token) = token else {
            return Some(self.admit_without_token(request));
        };
        let peer = peer_of(request.extensions());
        let validation = self.validator.validate_cached(token, peer.as_deref())?;
        Some(self.admit_validated(request, peer, validation))
    }

    /// Validates the request's token, if any, and leaves the principal in its extensions.
    async fn authenticate<B>(&self, request: &mut Request<B>) -> Result<(), Rejection> {
        let peer = peer_of(request.extensions());
        let token = bearer::bearer_token(request.headers())?;

        // Credentials of another scheme (Basic, ...) count as no bearer token.
        let Some(token) = token else {
            return self.admit_without_token(request);
        };

        // A token that is present is always validated, whatever the requirement. Only this
        // full validation is timed: a cached answer takes well under a microsecond, and two
        // clock reads would be a noticeable share of it.
        let started = Instant::now();
        let validation = self
            .validator
            .validate_detailed(token, peer.as_deref())
            .await;
        crate::telemetry::record_token_validation_latency(started.elapsed());
        self.admit_validated(request, peer, validation)
    }

    /// Leaves the principal of a validated token in the request, or refuses a token the
    /// validator refused (reporting the refusal to the responder).
    fn admit_validated<B>(
        &self,
        request: &mut Request<B>,
        peer: Option<Arc<PeerIdentity>>,
        validation: Result<Arc<Subject>, Rejected>,
    ) -> Result<(), Rejection> {
        let subject = match validation {
            Ok(subject) => subject,
            Err(Rejected {
                error: e, verified, ..
            }) => {
                debug!(
                    peer.id = ?peer.as_ref().map(|p| &p.spiffe_id),
                    token.rule = e.rule(),
                    "zt: bearer token refused"
                );
                crate::telemetry::count_refused_token(e.rule());
                self.report_binding_mismatch(&e, verified.as_deref(), peer.as_ref());
                self.report_refusal(peer, &e);
                return Err(Rejection::InvalidToken {
                    description: validate::describe(&e),
                });
            }
        };
        let principal = Principal {
            peer,
            subject: Some(subject),
            ..Principal::default()
        };
        request.extensions_mut().insert(principal);
        Ok(())
    }
}

impl<V> AuthenticateConfig<V> {
    /// Lets a request without a bearer token on as far as the requirement says.
    fn admit_without_token<B>(&self, request: &mut Request<B>) -> Result<(), Rejection> {
        let peer = peer_of(request.extensions());
        let allowed = match self.requirement {
            TokenRequirement::Required => false,
            TokenRequirement::OptionalForVerifiedPeers => peer.is_some(),
            TokenRequirement::Optional => true,
        };
        if !allowed {
            debug!(peer.id = ?peer.as_ref().map(|p| &p.spiffe_id), "zt: no bearer token");
            return Err(Rejection::MissingToken);
        }
        let principal = Principal {
            peer,
            ..Principal::default()
        };
        request.extensions_mut().insert(principal);
        Ok(())
    }

    /// Reports a verified certificate-bound token presented over a connection without its
    /// certificate. Only a token whose signature verified names whom to quarantine.
    fn report_binding_mismatch(
        &self,
        error: &TokenError,
        verified: Option<&Subject>,
        peer: Option<&Arc<PeerIdentity>>,
    ) {
        let binding_failed = matches!(
            error,
            TokenError::BindingMismatch | TokenError::BindingWithoutPeer
        );
        let (Some(responder), Some(subject), true) = (&self.responder, verified, binding_failed)
        else {
            return;
        };
        let event = SecurityEvent::BoundTokenMismatch {
            issuer: Arc::clone(&subject.issuer),
            subject: Arc::clone(&subject.subject),
            token_id: subject.token_id.as_deref().map(Arc::from),
            peer: peer.cloned(),
        };
        responder.report(event, self.clock.now());
    }

    /// Feeds a refused token to the responder as a deny of the peer that presented it.
    fn report_refusal(&self, peer: Option<Arc<PeerIdentity>>, error: &TokenError) {
        let (Some(responder), Some(peer)) = (&self.responder, peer) else {
            return;
        };
        let principal = Principal {
            peer: Some(peer),
            ..Principal::default()
        };
        let reason = Reason::Error(format!("bearer token refused: {}", error.rule()));
        responder.observe(&principal, &Decision::deny(reason), self.clock.now());
    }
}

#[cfg(test)]
mod tests;
