//! axum integration (feature `axum`): serve a `Router` over SPIFFE mTLS with
//! `axum::serve`, and read the caller with the [`Caller`] extractor.
//!
//! [`SpiffeListener`] is an `axum::serve::Listener` whose connections carry their verified
//! identity; [`into_make_service`] wraps a router so that each connection's requests hold
//! that identity. Put the [`ZeroTrustLayer`](crate::ZeroTrustLayer) on the router with
//! `Router::layer`.
//!
//! ```no_run
//! # async fn run(
//! #     acceptor: zt_mtls::SpiffeAcceptor,
//! #     validator: zt_token::Validator,
//! #     policy: std::sync::Arc<dyn zt_core::Policy>,
//! # ) -> std::io::Result<()> {
//! use axum::{Router, routing::get};
//! use zt_tower::ZeroTrustLayer;
//! use zt_tower::axum::{Caller, into_make_service};
//! use zt_tower::serve::SpiffeListener;
//!
//! async fn whoami(Caller(principal): Caller) -> String {
//!     principal.peer_id().map(ToString::to_string).unwrap_or_default()
//! }
//!
//! let app = Router::new()
//!     .route("/whoami", get(whoami))
//!     .layer(ZeroTrustLayer::builder(validator, policy).build());
//! let tcp = tokio::net::TcpListener::bind("127.0.0.1:8443").await?;
//! axum::serve(SpiffeListener::new(tcp, acceptor), into_make_service(app)).await?;
//! # Ok(())
//! # }
//! ```

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::io;
use std::task::{Context, Poll};

use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use axum::serve::{IncomingStream, Listener};
use http::StatusCode;
use http::request::Parts;
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tower_service::Service;
use zt_core::{Principal, TransportIdentity};

use crate::serve::{ConnectionInfo, SpiffeListener};
use crate::transport::AddTransportIdentity;

// TODO: `axum::serve` sets no HTTP/1 header-read timeout; a verified peer can hold a
// connection open with a partial request head. `serve::serve_connection` enforces one.
impl Listener for SpiffeListener {
    type Io = TlsStream<TcpStream>;
    type Addr = ConnectionInfo;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        SpiffeListener::accept(self).await
    }

    /// The local address, with [`TransportIdentity::Plaintext`] as its (meaningless)
    /// identity.
    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(ConnectionInfo {
            remote_addr: SpiffeListener::local_addr(self)?,
            identity: TransportIdentity::Plaintext,
        })
    }
}

/// Wraps `service` (usually a `Router`) for `axum::serve` over a [`SpiffeListener`]: every
/// request of a connection carries the connection's verified identity.
pub fn into_make_service<S>(service: S) -> IntoMakeService<S> {
    IntoMakeService { service }
}

/// The make-service of [`into_make_service`].
#[derive(Debug, Clone)]
pub struct IntoMakeService<S> {
    service: S,
}

impl<S: Clone> Service<IncomingStream<'_, SpiffeListener>> for IntoMakeService<S> {
    type Response = AddTransportIdentity<S>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, incoming: IncomingStream<'_, SpiffeListener>) -> Self::Future {
        let identity = incoming.remote_addr().identity.clone();
        ready(Ok(AddTransportIdentity::new(
            self.service.clone(),
            identity,
        )))
    }
}

/// The verified caller of a request, as an axum extractor.
///
/// Holds the [`Principal`] that the zt layers left in the request extensions. A handler
/// reached without those layers gets `500`: that is a server misconfiguration, and failing
/// closed beats serving an unauthenticated caller.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl std::ops::Deref for Caller {
    type Target = Principal;

    fn deref(&self) -> &Principal {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = MissingPrincipal;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .map(Caller)
            .ok_or(MissingPrincipal)
    }
}

/// The rejection of [`Caller`]: the zt layers did not run for this request.
#[derive(Debug, Clone, Copy)]
pub struct MissingPrincipal;

impl IntoResponse for MissingPrincipal {
    fn into_response(self) -> Response {
        tracing::warn!("zt: a handler asked for the caller but no zt layer ran");
        (StatusCode::INTERNAL_SERVER_ERROR, "no verified caller").into_response()
    }
}
