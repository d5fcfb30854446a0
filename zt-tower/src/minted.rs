//! zt-token's [`Minter`] as a [`TokenSource`] for outbound requests.

use std::fmt;
use std::sync::Arc;

use tower::BoxError;
use zt_token::{MintRequest, Minter};

use crate::outbound::{IssuedToken, TokenSource};

/// Mints a new token from the same [`MintRequest`] whenever
/// [`BearerToken`](crate::outbound::BearerToken) needs one.
///
/// ```
/// use zt_token::{MintRequest, Minter};
/// use zt_tower::MinterSource;
/// use zt_tower::outbound::{BearerTokenLayer, TokenSource};
///
/// let minter = Minter::generate_es256("https://issuer.example")?;
/// let source = MinterSource::new(minter, MintRequest::new("checkout", "orders"));
/// assert!(source.issue().is_ok());
/// let layer = BearerTokenLayer::new(source);
/// # let _ = layer;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct MinterSource {
    minter: Arc<Minter>,
    request: MintRequest,
}

impl MinterSource {
    /// Mints tokens for `request` with `minter` (a `Minter` or an `Arc<Minter>`).
    pub fn new(minter: impl Into<Arc<Minter>>, request: MintRequest) -> Self {
        Self {
            minter: minter.into(),
            request,
        }
    }
}

impl TokenSource for MinterSource {
    fn issue(&self) -> Result<IssuedToken, BoxError> {
        let token = self.minter.mint(&self.request)?;
        IssuedToken::new(token.as_str(), token.expires_at())
    }
}

impl fmt::Debug for MinterSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MinterSource")
            .field("request", &self.request)
            .finish_non_exhaustive()
    }
}
