//! Outbound: clients attach a fresh short-lived bearer token to every request.
//!
//! [`BearerToken`] asks a [`TokenSource`] (zt-token's minter, or a token fetched from an
//! authorization server) for a token, keeps it, attaches it as `Authorization: Bearer` to
//! every request (marked sensitive, so HTTP/2 header compression never indexes it), and asks
//! for a new one before the current one expires.
//!
//! A request with an absolute URI whose scheme is not `https` fails without a token being
//! attached. A relative URI (origin form) is sent on a connection the caller opened itself:
//! make that connection TLS.
//!
//! # Example
//!
//! ```
//! use std::convert::Infallible;
//! use std::time::{Duration, SystemTime};
//! use http::{Request, Response};
//! use tower::{BoxError, ServiceBuilder, ServiceExt, service_fn};
//! use zt_tower::outbound::{BearerTokenLayer, IssuedToken, TokenSource};
//!
//! // A source that hands out the same token; zt-token's `Minter` mints a new one instead.
//! #[derive(Debug)]
//! struct Fixed;
//!
//! impl TokenSource for Fixed {
//!     fn issue(&self) -> Result<IssuedToken, BoxError> {
//!         let expires_at = SystemTime::now() + Duration::from_secs(300);
//!         IssuedToken::new("eyJ.eyJ.sig", expires_at)
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), BoxError> {
//! let client = ServiceBuilder::new()
//!     .layer(BearerTokenLayer::new(Fixed))
//!     .service_fn(|request: Request<()>| async move {
//!         let auth = request.headers()["authorization"].to_str().unwrap().to_owned();
//!         Ok::<_, Infallible>(Response::new(auth))
//!     });
//! let response = client.oneshot(Request::new(())).await?;
//! assert_eq!(response.body(), "Bearer eyJ.eyJ.sig");
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use http::header::AUTHORIZATION;
use http::uri::Scheme;
use http::{HeaderValue, Request};
use pin_project_lite::pin_project;
use tower::BoxError;
use tower_layer::Layer;
use tower_service::Service;
use zt_core::{Clock, SystemClock};

/// How long before expiry a token is renewed by default (capped at half its lifetime).
pub const DEFAULT_RENEW_BEFORE: Duration = Duration::from_secs(30);

/// Where [`BearerToken`] gets its tokens.
///
/// Called on the request path only when no token is held or the held one is due for
/// renewal; keep it quick (minting a token locally is).
pub trait TokenSource: Send + Sync + 'static {
    /// A fresh token.
    ///
    /// # Errors
    ///
    /// Any error of the source; the request it was meant for fails with it.
    fn issue(&self) -> Result<IssuedToken, BoxError>;
}

impl<T: TokenSource + ?Sized> TokenSource for Arc<T> {
    fn issue(&self) -> Result<IssuedToken, BoxError> {
        (**self).issue()
    }
}

/// A token ready to attach: the `Authorization` header value and the token's expiry.
///
/// Its `Debug` output never shows the token.
#[derive(Clone)]
pub struct IssuedToken {
    header: HeaderValue,
    expires_at: SystemTime,
}

impl IssuedToken {
    /// A token `token` (the compact JWT) that expires at `expires_at`.
    ///
    /// # Errors
    ///
    /// When `token` holds characters that cannot appear in an HTTP header.
    pub fn new(token: &str, expires_at: SystemTime) -> Result<Self, BoxError> {
        let mut header = HeaderValue::try_from(format!("Bearer {token}"))
            .map_err(|_| BoxError::from("token holds characters not allowed in a header"))?;
        header.set_sensitive(true);
        Ok(Self { header, expires_at })
    }

    /// When the token expires.
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// The token held, and when to renew it.
#[derive(Clone)]
struct Held {
    token: IssuedToken,
    renew_at: SystemTime,
}

struct Shared<T> {
    source: T,
    clock: Arc<dyn Clock>,
    renew_before: Duration,
    held: Mutex<Option<Held>>,
}

impl<T: TokenSource> Shared<T> {
    /// The header to attach: the held token, or a new one when it is due for renewal.
    fn header(&self) -> Result<HeaderValue, BoxError> {
        let now = self.clock.now();
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(current) = held.as_ref().filter(|h| now < h.renew_at) {
            return Ok(current.token.header.clone());
        }
        let token = self.source.issue()?;
        if token.expires_at <= now {
            return Err(BoxError::from("the token source issued an expired token"));
        }
        let lifetime = token.expires_at.duration_since(now).unwrap_or_default();
        let renew_at = token.expires_at - self.renew_before.min(lifetime / 2);
        let header = token.header.clone();
        *held = Some(Held { token, renew_at });
        Ok(header)
    }
}

/// Applies [`BearerToken`] to a client service. Clones share the held token.
pub struct BearerTokenLayer<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Clone for BearerTokenLayer<T> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<T: TokenSource> BearerTokenLayer<T> {
    /// A layer attaching tokens from `source`, renewed [`DEFAULT_RENEW_BEFORE`] before they
    /// expire.
    pub fn new(source: T) -> Self {
        Self::build(source, Arc::new(SystemClock), DEFAULT_RENEW_BEFORE)
    }

    /// A layer attaching tokens from `source`, renewed `renew_before` ahead of their expiry
    /// (capped at half their lifetime).
    pub fn with_renewal(source: T, renew_before: Duration) -> Self {
        Self::build(source, Arc::new(SystemClock), renew_before)
    }

    /// Reads time from `clock` (for tests).
    pub fn with_clock(source: T, clock: impl Clock, renew_before: Duration) -> Self {
        Self::build(source, Arc::new(clock), renew_before)
    }

    fn build(source: T, clock: Arc<dyn Clock>, renew_before: Duration) -> Self {
        Self {
            shared: Arc::new(Shared {
                source,
                clock,
                renew_before,
                held: Mutex::new(None),
            }),
        }
    }
}

impl<T> fmt::Debug for BearerTokenLayer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerTokenLayer")
            .field("renew_before", &self.shared.renew_before)
            .finish_non_exhaustive()
    }
}

impl<S, T> Layer<S> for BearerTokenLayer<T> {
    type Service = BearerToken<S, T>;

    fn layer(&self, inner: S) -> Self::Service {
        BearerToken {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

/// Attaches a bearer token to every request of a client.
///
/// See the [module docs](self) for an example.
pub struct BearerToken<S, T> {
    inner: S,
    shared: Arc<Shared<T>>,
}

impl<S: Clone, T> Clone for BearerToken<S, T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<S: fmt::Debug, T> fmt::Debug for BearerToken<S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerToken")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, T: TokenSource> BearerToken<S, T> {
    /// Wraps `inner`, attaching tokens from `source`.
    pub fn new(inner: S, source: T) -> Self {
        BearerTokenLayer::new(source).layer(inner)
    }

    /// A layer attaching tokens from `source`.
    pub fn layer(source: T) -> BearerTokenLayer<T> {
        BearerTokenLayer::new(source)
    }
}

impl<S, T> BearerToken<S, T> {
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

impl<S, T, B> Service<Request<B>> for BearerToken<S, T>
where
    S: Service<Request<B>>,
    S::Error: Into<BoxError>,
    T: TokenSource,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        // A bearer token is a password for its lifetime: an absolute URI must be `https`.
        // (A relative URI is sent on a connection the caller set up; see the module docs.)
        if request.uri().scheme().is_some_and(|s| *s != Scheme::HTTPS) {
            let error = BoxError::from("refusing to send a bearer token without https");
            return ResponseFuture {
                kind: Kind::Failed { error: Some(error) },
            };
        }
        match self.shared.header() {
            Ok(header) => {
                request.headers_mut().insert(AUTHORIZATION, header);
                ResponseFuture {
                    kind: Kind::Inner {
                        future: self.inner.call(request),
                    },
                }
            }
            Err(e) => ResponseFuture {
                kind: Kind::Failed { error: Some(e) },
            },
        }
    }
}

pin_project! {
    /// Response future of [`BearerToken`].
    pub struct ResponseFuture<F> {
        #[pin]
        kind: Kind<F>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F> {
        Inner { #[pin] future: F },
        Failed { error: Option<BoxError> },
    }
}

impl<F: fmt::Debug> fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, R, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<R, E>>,
    E: Into<BoxError>,
{
    type Output = Result<R, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner { future } => future.poll(cx).map_err(Into::into),
            KindProj::Failed { error } => match error.take() {
                Some(e) => Poll::Ready(Err(e)),
                None => Poll::Pending,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::UNIX_EPOCH;

    use tower::{ServiceExt, service_fn};
    use zt_core::ManualClock;

    use super::*;

    /// Issues `token-1`, `token-2`, ... each valid for 100 seconds from the clock's time.
    #[derive(Debug)]
    struct Counting {
        clock: ManualClock,
        issued: AtomicU32,
    }

    impl TokenSource for Counting {
        fn issue(&self) -> Result<IssuedToken, BoxError> {
            let n = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
            IssuedToken::new(
                &format!("token-{n}"),
                self.clock.now() + Duration::from_secs(100),
            )
        }
    }

    async fn header_sent<S>(client: &mut S) -> String
    where
        S: Service<Request<()>, Response = String, Error = BoxError>,
    {
        client
            .ready()
            .await
            .unwrap()
            .call(Request::new(()))
            .await
            .unwrap()
    }

    fn echo_authorization()
    -> impl Service<
        Request<()>,
        Response = String,
        Error = std::convert::Infallible,
        Future = impl Send,
    > + Clone {
        service_fn(|request: Request<()>| async move {
            Ok(request.headers()[AUTHORIZATION]
                .to_str()
                .unwrap()
                .to_owned())
        })
    }

    #[tokio::test]
    async fn token_is_reused_until_due_and_renewed_before_expiry() {
        let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_000));
        let source = Counting {
            clock: clock.clone(),
            issued: AtomicU32::new(0),
        };
        let layer = BearerTokenLayer::with_clock(source, clock.clone(), Duration::from_secs(30));
        let mut client = layer.layer(echo_authorization());

        assert_eq!(header_sent(&mut client).await, "Bearer token-1");
        clock.advance(Duration::from_secs(69));
        assert_eq!(header_sent(&mut client).await, "Bearer token-1");
        // 30 seconds before expiry: renewed, while the old token is still valid.
        clock.advance(Duration::from_secs(1));
        assert_eq!(header_sent(&mut client).await, "Bearer token-2");
    }

    #[test]
    fn issued_token_never_shows_in_debug_output() {
        let token = IssuedToken::new("secret.jwt.value", SystemTime::now()).unwrap();
        assert!(!format!("{token:?}").contains("secret"));
        assert!(token.header.is_sensitive());
    }

    #[derive(Debug)]
    struct Broken;

    impl TokenSource for Broken {
        fn issue(&self) -> Result<IssuedToken, BoxError> {
            Err("minting key unavailable".into())
        }
    }

    #[tokio::test]
    async fn request_fails_when_no_token_can_be_issued() {
        let client = BearerTokenLayer::new(Broken).layer(echo_authorization());
        let error = client.oneshot(Request::new(())).await.unwrap_err();
        assert_eq!(error.to_string(), "minting key unavailable");
    }
}
