//! [`ZeroTrustLayer`]: authentication and authorization stacked in one layer.

use std::fmt;
use std::sync::Arc;

use tower_layer::Layer;
use zt_core::{AuditSink, Clock, Policy, PostureSource, Responder, RevocationList};

use crate::authenticate::{Authenticate, AuthenticateLayer, TokenRequirement, ValidateToken};
use crate::authorize::{Authorize, AuthorizeLayer};

/// Authentication then authorization, one line in a `ServiceBuilder`.
///
/// Requests first meet [`Authenticate`] (bearer token, `401` on a bad or missing one), then
/// [`Authorize`] (path normalization, revocations, policy, audit record, `403` on a deny).
/// Cheap to clone.
///
/// ```
/// use std::convert::Infallible;
/// use bytes::Bytes;
/// use http::{Request, Response, StatusCode};
/// use http_body_util::Empty;
/// use tower::{ServiceBuilder, ServiceExt};
/// use zt_core::{MemoryAuditSink, RulePolicy};
/// use zt_token::{Issuer, KeySource, Minter, Validator};
/// use zt_tower::{TokenRequirement, ZeroTrustLayer};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let minter = Minter::generate_es256("https://issuer.example")?;
/// let validator = Validator::builder()
///     .issuer(
///         Issuer::new("https://issuer.example", KeySource::from_jwks(&minter.jwks())?)
///             .audience("orders"),
///     )
///     .build()?;
/// let policy = RulePolicy::from_toml(r#"
///     [[rule]]
///     name = "read-orders"
///     effect = "allow"
///     methods = ["GET"]
///     paths = ["/orders/*"]
///     trust_domains = ["example.org"]
/// "#)?;
///
/// let layer = ZeroTrustLayer::builder(validator, policy)
///     .token_requirement(TokenRequirement::OptionalForVerifiedPeers)
///     .audit(MemoryAuditSink::new())
///     .build();
/// let service = ServiceBuilder::new().layer(layer).service_fn(|_: Request<()>| async {
///     Ok::<_, Infallible>(Response::new(Empty::<Bytes>::new()))
/// });
///
/// // Neither a token nor a verified mTLS peer: refused before the service runs.
/// let response = service.oneshot(Request::get("/orders/1").body(())?).await?;
/// assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct ZeroTrustLayer<V> {
    authenticate: AuthenticateLayer<V>,
    authorize: AuthorizeLayer,
}

impl<V: ValidateToken> ZeroTrustLayer<V> {
    /// Both layers with their defaults: a token is required, no audit sink.
    pub fn new(validator: V, policy: impl Policy) -> Self {
        Self::builder(validator, policy).build()
    }

    /// A builder starting from the defaults.
    pub fn builder(validator: V, policy: impl Policy) -> ZeroTrustBuilder<V> {
        ZeroTrustBuilder {
            authenticate: AuthenticateLayer::new(validator),
            authorize: AuthorizeLayer::new(policy),
        }
    }
}

impl<V> fmt::Debug for ZeroTrustLayer<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZeroTrustLayer")
            .field("authenticate", &self.authenticate)
            .field("authorize", &self.authorize)
            .finish()
    }
}

impl<S, V> Layer<S> for ZeroTrustLayer<V> {
    type Service = Authenticate<Authorize<S>, V>;

    fn layer(&self, inner: S) -> Self::Service {
        self.authenticate.layer(self.authorize.layer(inner))
    }
}

/// Settings of a [`ZeroTrustLayer`].
pub struct ZeroTrustBuilder<V> {
    authenticate: AuthenticateLayer<V>,
    authorize: AuthorizeLayer,
}

impl<V: ValidateToken> ZeroTrustBuilder<V> {
    /// When a request must carry a token (default [`TokenRequirement::Required`]).
    pub fn token_requirement(mut self, requirement: TokenRequirement) -> Self {
        self.authenticate = self.authenticate.with_requirement(requirement);
        self
    }

    /// Records every decision in `sink`.
    pub fn audit(mut self, sink: impl AuditSink) -> Self {
        self.authorize = self.authorize.with_audit(sink);
        self
    }

    /// Denies principals on `revocations` before the policy is asked.
    pub fn revocations(mut self, revocations: Arc<RevocationList>) -> Self {
        self.authorize = self.authorize.with_revocations(revocations);
        self
    }

    /// Adds device-posture attributes from `source` before the policy runs.
    pub fn posture(mut self, source: impl PostureSource) -> Self {
        self.authorize = self.authorize.with_posture(source);
        self
    }

    /// Feeds every decision, and every refused token, to `responder`.
    pub fn responder(mut self, responder: Arc<Responder>) -> Self {
        self.authenticate = self.authenticate.with_responder(Arc::clone(&responder));
        self.authorize = self.authorize.with_responder(responder);
        self
    }

    /// Reads the time of each decision from `clock`.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        let clock: Arc<dyn Clock> = Arc::new(clock);
        self.authenticate = self.authenticate.with_clock(Arc::clone(&clock));
        self.authorize = self.authorize.with_shared_clock(clock);
        self
    }

    /// Names `realm` in `WWW-Authenticate` challenges (default `zt`).
    pub fn realm(mut self, realm: &str) -> Self {
        self.authenticate = self.authenticate.with_realm(realm);
        self.authorize = self.authorize.with_realm(realm);
        self
    }

    /// The layer.
    pub fn build(self) -> ZeroTrustLayer<V> {
        ZeroTrustLayer {
            authenticate: self.authenticate,
            authorize: self.authorize,
        }
    }
}

impl<V> fmt::Debug for ZeroTrustBuilder<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZeroTrustBuilder").finish_non_exhaustive()
    }
}
