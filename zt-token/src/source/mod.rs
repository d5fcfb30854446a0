//! Where an issuer's verification keys come from: a fixed JWKS, a JWKS file re-read on
//! change, or a remote JWKS (by URL or OIDC discovery) refreshed in the background.
//!
//! Every source publishes its keys through one lock-free [`ArcSwap`]; a validation reads the
//! current snapshot and never waits for a fetch, except a single-flight, rate-limited
//! refresh on an unknown `kid`.

mod file;
mod remote;

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use arc_swap::ArcSwap;
use serde_json::Value;

pub use remote::RemoteJwksBuilder;

use crate::{KeySet, KeySetError, TokenError};

/// The keys of one issuer as last loaded.
pub(crate) struct Snapshot {
    pub(crate) keys: KeySet,
    /// When these keys stop being served, if a staleness bound applies.
    pub(crate) stale_at: Option<Instant>,
    /// Unique per snapshot across all sources: a cached token verified under this
    /// generation needs no key lookup while the generation is current.
    pub(crate) generation: u64,
}

impl Snapshot {
    pub(crate) fn new(keys: KeySet, stale_at: Option<Instant>) -> Self {
        static NEXT_GENERATION: AtomicU64 = AtomicU64::new(1);
        Self {
            keys,
            stale_at,
            generation: NEXT_GENERATION.fetch_add(1, Ordering::Relaxed),
        }
    }
}

/// How a source gets new keys.
#[derive(Clone)]
enum Refresh {
    /// A fixed key set.
    Fixed,
    /// A file watched for changes; the watcher lives as long as the source.
    File { _watch: Arc<file::FileWatch> },
    /// A remote JWKS.
    Remote(Arc<remote::Fetcher>),
}

/// The verification keys of one issuer and how they are kept current. Cheap to clone.
///
/// ```
/// use zt_token::{KeySource, Minter};
///
/// let minter = Minter::generate_ed25519("https://idp.example.org")?;
/// let source = KeySource::from_jwks(&minter.jwks())?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct KeySource {
    keys: Arc<ArcSwap<Snapshot>>,
    refresh: Refresh,
}

impl KeySource {
    /// A fixed key set.
    pub fn from_key_set(keys: KeySet) -> Self {
        let snapshot = Snapshot::new(keys, None);
        Self {
            keys: Arc::new(ArcSwap::from_pointee(snapshot)),
            refresh: Refresh::Fixed,
        }
    }

    /// A fixed JWKS, such as [`Minter::jwks`](crate::Minter::jwks).
    ///
    /// # Errors
    ///
    /// [`KeySetError`] as for [`KeySet::from_jwks`].
    pub fn from_jwks(jwks: &Value) -> Result<Self, KeySetError> {
        KeySet::from_jwks(jwks).map(Self::from_key_set)
    }

    /// A JWKS file, re-read whenever it (or its directory) changes. A change that does not
    /// parse keeps the last good keys and is logged at `warn`.
    ///
    /// # Errors
    ///
    /// [`KeySetError`] when the file cannot be read or parsed now, or cannot be watched.
    pub fn jwks_file(path: impl AsRef<Path>) -> Result<Self, KeySetError> {
        Self::watched_file(path.as_ref(), file::FileFormat::Jwks)
    }

    /// A SPIFFE bundle file (its `jwt-svid` keys), re-read on change, for
    /// [`Issuer::jwt_svid`](crate::Issuer::jwt_svid).
    ///
    /// # Errors
    ///
    /// As [`KeySource::jwks_file`].
    pub fn spiffe_bundle_file(path: impl AsRef<Path>) -> Result<Self, KeySetError> {
        Self::watched_file(path.as_ref(), file::FileFormat::SpiffeBundle)
    }

    fn watched_file(path: &Path, format: file::FileFormat) -> Result<Self, KeySetError> {
        let (keys, watch) = file::watch(path, format)?;
        Ok(Self {
            keys,
            refresh: Refresh::File {
                _watch: Arc::new(watch),
            },
        })
    }

    /// A remote JWKS at `url`; finish with [`RemoteJwksBuilder::connect`].
    pub fn remote_jwks(url: impl Into<String>) -> RemoteJwksBuilder {
        RemoteJwksBuilder::jwks_url(url.into())
    }

    /// The JWT-SVID keys of a SPIFFE bundle served at `url` (a SPIFFE bundle endpoint), for
    /// [`Issuer::jwt_svid`](crate::Issuer::jwt_svid); finish with
    /// [`RemoteJwksBuilder::connect`].
    pub fn remote_spiffe_bundle(url: impl Into<String>) -> RemoteJwksBuilder {
        RemoteJwksBuilder::spiffe_bundle_url(url.into())
    }

    /// The JWKS named by the OpenID Connect discovery document of `issuer`
    /// (`<issuer>/.well-known/openid-configuration`), whose `issuer` must match exactly;
    /// finish with [`RemoteJwksBuilder::connect`].
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use zt_token::{Issuer, KeySource, Validator};
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let issuer = "https://login.example.org";
    /// let keys = KeySource::oidc_discovery(issuer)
    ///     .refresh_interval(Duration::from_secs(300))
    ///     .max_staleness(Duration::from_secs(3600))
    ///     .connect()
    ///     .await?;
    /// let validator = Validator::builder()
    ///     .issuer(Issuer::new(issuer, keys).audience("orders").expected_type("at+jwt"))
    ///     .build()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn oidc_discovery(issuer: impl Into<String>) -> RemoteJwksBuilder {
        RemoteJwksBuilder::discovery(issuer.into())
    }

    /// The current keys, unless they are older than the staleness bound.
    pub(crate) fn current(&self) -> Result<arc_swap::Guard<Arc<Snapshot>>, TokenError> {
        let snapshot = self.keys.load();
        match snapshot.stale_at {
            Some(stale_at) if Instant::now() >= stale_at => Err(TokenError::KeysUnavailable),
            _ => Ok(snapshot),
        }
    }

    /// Asks the source for fresh keys because a token named an unknown `kid` or the keys went
    /// stale. Returns whether a refresh ran (the caller then looks again). Rate-limited and
    /// single-flight.
    pub(crate) async fn refresh_for_unknown_kid(&self) -> bool {
        match &self.refresh {
            Refresh::Remote(fetcher) => fetcher.refresh_for_unknown_kid().await,
            Refresh::Fixed | Refresh::File { .. } => false,
        }
    }
}

impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.refresh {
            Refresh::Fixed => "fixed",
            Refresh::File { .. } => "file",
            Refresh::Remote(_) => "remote",
        };
        f.debug_struct("KeySource")
            .field("kind", &kind)
            .field("keys", &self.keys.load().keys)
            .finish()
    }
}
