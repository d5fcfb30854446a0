//! The per-connection wrapper: every request carries what the handshake proved.
//!
//! A server accepts a connection, completes the mTLS handshake (zt-mtls'
//! `SpiffeAcceptor` yields the peer's [`PeerIdentity`](zt_core::PeerIdentity)), wraps its
//! service for that connection in [`AddTransportIdentity`], and serves the connection. Every
//! request on it then holds the connection's [`TransportIdentity`] in its extensions, where
//! the authentication and authorization layers find it.
//!
//! # Example
//!
//! ```
//! use std::convert::Infallible;
//! use http::{Request, Response};
//! use tower::{ServiceBuilder, ServiceExt, service_fn};
//! use zt_core::TransportIdentity;
//! use zt_tower::transport::TransportIdentityLayer;
//!
//! async fn handle(request: Request<()>) -> Result<Response<String>, Infallible> {
//!     let transport = request.extensions().get::<TransportIdentity>();
//!     Ok(Response::new(format!("{transport:?}")))
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Infallible> {
//! // Built once per accepted connection.
//! let service = ServiceBuilder::new()
//!     .layer(TransportIdentityLayer::new(TransportIdentity::TlsAnonymous))
//!     .service_fn(handle);
//! let response = service.oneshot(Request::new(())).await?;
//! assert_eq!(response.body(), "Some(TlsAnonymous)");
//! # Ok(())
//! # }
//! ```

use std::task::{Context, Poll};

use http::Request;
use tower_layer::Layer;
use tower_service::Service;
use zt_core::TransportIdentity;

/// Applies [`AddTransportIdentity`] for one connection.
#[derive(Debug, Clone)]
pub struct TransportIdentityLayer {
    identity: TransportIdentity,
}

impl TransportIdentityLayer {
    /// A layer for a connection authenticated as `identity`.
    pub fn new(identity: TransportIdentity) -> Self {
        Self { identity }
    }
}

impl<S> Layer<S> for TransportIdentityLayer {
    type Service = AddTransportIdentity<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AddTransportIdentity::new(inner, self.identity.clone())
    }
}

/// Inserts the connection's [`TransportIdentity`] into every request's extensions,
/// replacing any value already there.
///
/// See the [module docs](self) for an example.
#[derive(Debug, Clone)]
pub struct AddTransportIdentity<S> {
    inner: S,
    identity: TransportIdentity,
}

impl<S> AddTransportIdentity<S> {
    /// Wraps `inner` for a connection authenticated as `identity`.
    pub fn new(inner: S, identity: TransportIdentity) -> Self {
        Self { inner, identity }
    }

    /// A layer for a connection authenticated as `identity`.
    pub fn layer(identity: TransportIdentity) -> TransportIdentityLayer {
        TransportIdentityLayer::new(identity)
    }

    /// The connection's identity.
    pub fn identity(&self) -> &TransportIdentity {
        &self.identity
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

impl<S, B> Service<Request<B>> for AddTransportIdentity<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        request.extensions_mut().insert(self.identity.clone());
        self.inner.call(request)
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use tower::{ServiceExt, service_fn};

    use super::*;

    #[tokio::test]
    async fn connection_identity_replaces_any_identity_already_in_the_request() {
        let service = AddTransportIdentity::new(
            service_fn(|request: Request<()>| async move {
                Ok::<_, Infallible>(request.extensions().get::<TransportIdentity>().cloned())
            }),
            TransportIdentity::Plaintext,
        );
        let mut request = Request::new(());
        request
            .extensions_mut()
            .insert(TransportIdentity::TlsAnonymous);
        let seen = service.oneshot(request).await.unwrap();
        assert_eq!(seen, Some(TransportIdentity::Plaintext));
    }
}
