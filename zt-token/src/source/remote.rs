//! A remote JWKS, found by URL or by OpenID Connect discovery, kept fresh in the background.
//!
//! Rules: https only (plain http only on loopback, and only when allowed explicitly); no
//! redirects; every response bounded in size and time; a failed or garbage fetch keeps the
//! last good keys until the staleness bound; an unknown `kid` triggers at most one fetch per
//! interval, with one fetch in flight at a time and no lock held across the network call.

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use reqwest::Url;
use tokio::sync::Notify;
use tracing::{debug, warn};

use super::{KeySource, Refresh, Snapshot};
use crate::{FetchError, KeySet};

/// The shortest background refresh interval, whatever is configured.
const MIN_BACKGROUND_INTERVAL: Duration = Duration::from_millis(100);

/// Where the JWKS is found.
#[derive(Debug, Clone)]
enum Target {
    JwksUrl(String),
    SpiffeBundleUrl(String),
    Discovery { issuer: String },
}

/// Settings of a remote key source, from [`KeySource::remote_jwks`] or
/// [`KeySource::oidc_discovery`].
///
/// Defaults: background refresh every 5 minutes; an unknown `kid` refreshes at most every
/// 30 seconds; keys served at most 1 hour after the last good fetch; 5 seconds and 256 KiB
/// per response; https only. Its `Debug` output, errors and logs show URLs without
/// credentials, query or fragment.
#[derive(Clone)]
pub struct RemoteJwksBuilder {
    target: Target,
    refresh_interval: Duration,
    unknown_kid_interval: Duration,
    max_staleness: Duration,
    timeout: Duration,
    max_response_bytes: usize,
    allow_loopback_http: bool,
}

impl RemoteJwksBuilder {
    pub(super) fn jwks_url(url: String) -> Self {
        Self::new(Target::JwksUrl(url))
    }

    pub(super) fn spiffe_bundle_url(url: String) -> Self {
        Self::new(Target::SpiffeBundleUrl(url))
    }

    pub(super) fn discovery(issuer: String) -> Self {
        Self::new(Target::Discovery { issuer })
    }

    fn new(target: Target) -> Self {
        Self {
            target,
            refresh_interval: Duration::from_secs(300),
            unknown_kid_interval: Duration::from_secs(30),
            max_staleness: Duration::from_secs(3600),
            timeout: Duration::from_secs(5),
            max_response_bytes: 256 * 1024,
            allow_loopback_http: false,
        }
    }

    /// How often keys are fetched in the background. Kept below the staleness bound (at most
    /// half of it), so that keys are refreshed before they go stale.
    pub fn refresh_interval(mut self, interval: Duration) -> Self {
        self.refresh_interval = interval;
        self
    }

    /// The shortest time between two fetches caused by unknown `kid`s.
    pub fn unknown_kid_interval(mut self, interval: Duration) -> Self {
        self.unknown_kid_interval = interval;
        self
    }

    /// How long after the last good fetch keys are still served when fetches fail.
    pub fn max_staleness(mut self, staleness: Duration) -> Self {
        self.max_staleness = staleness;
        self
    }

    /// The longest a fetch (connect, request and body) may take.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The largest response body accepted, in bytes.
    pub fn max_response_bytes(mut self, max: usize) -> Self {
        self.max_response_bytes = max;
        self
    }

    /// Allows plain `http` URLs on a loopback address (`127.0.0.1`, `::1`, `localhost`), for
    /// tests. Other http URLs stay refused.
    pub fn danger_allow_loopback_http(mut self, allow: bool) -> Self {
        self.allow_loopback_http = allow;
        self
    }

    /// Fetches the keys once (through discovery when asked) and starts the background
    /// refresh on the current tokio runtime.
    ///
    /// # Errors
    ///
    /// [`FetchError`] when a URL is not allowed, there is no tokio runtime, or the first fetch
    /// fails or returns no usable key set.
    pub async fn connect(self) -> Result<KeySource, FetchError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| FetchError::NoRuntime)?;
        let client = self.client()?;
        let jwks_url = match &self.target {
            Target::JwksUrl(url) | Target::SpiffeBundleUrl(url) => self.checked_url(url)?,
            Target::Discovery { issuer } => self.discover(&client, issuer).await?,
        };
        let keys = Arc::new(ArcSwap::from_pointee(Snapshot::new(
            KeySet::default(),
            Some(Instant::now()),
        )));
        let fetcher = Arc::new(Fetcher {
            client,
            shown_url: shown_url(jwks_url.as_str()),
            jwks_url,
            settings: self,
            keys: keys.clone(),
            in_flight: AtomicBool::new(false),
            done: Notify::new(),
            last_unknown_kid_fetch: Mutex::new(None),
        });
        let first = fetcher.fetch().await?;
        fetcher.publish(first);
        runtime.spawn(refresh_in_background(Arc::downgrade(&fetcher)));
        Ok(KeySource {
            keys,
            refresh: Refresh::Remote(fetcher),
        })
    }

    /// The background refresh interval: at most half the staleness bound, at least 100 ms.
    fn background_interval(&self) -> Duration {
        self.refresh_interval
            .min(self.max_staleness / 2)
            .max(MIN_BACKGROUND_INTERVAL)
    }

    fn client(&self) -> Result<reqwest::Client, FetchError> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(self.timeout)
            .connect_timeout(self.timeout);
        if self.allow_loopback_http {
            builder = builder.no_proxy();
        } else {
            builder = builder.https_only(true);
        }
        builder.build().map_err(FetchError::Client)
    }

    fn checked_url(&self, raw: &str) -> Result<Url, FetchError> {
        let url = Url::parse(raw).map_err(|_| FetchError::BadUrl)?;
        match url.scheme() {
            "https" => Ok(url),
            "http" if self.allow_loopback_http && is_loopback(&url) => Ok(url),
            _ => Err(FetchError::InsecureUrl),
        }
    }

    /// Reads the discovery document and returns its checked `jwks_uri`.
    async fn discover(&self, client: &reqwest::Client, issuer: &str) -> Result<Url, FetchError> {
        let base = issuer.trim_end_matches('/');
        let url = self.checked_url(&format!("{base}/.well-known/openid-configuration"))?;
        let body = get_bounded(client, &url, self.timeout, self.max_response_bytes).await?;
        let doc: serde_json::Value =
            serde_json::from_slice(&body).map_err(|_| FetchError::BadDiscovery)?;
        if doc.get("issuer").and_then(|v| v.as_str()) != Some(issuer) {
            return Err(FetchError::IssuerMismatch);
        }
        let jwks_uri = doc
            .get("jwks_uri")
            .and_then(|v| v.as_str())
            .ok_or(FetchError::BadDiscovery)?;
        self.checked_url(jwks_uri)
    }
}

impl std::fmt::Debug for RemoteJwksBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let target = match &self.target {
            Target::JwksUrl(url) => format!("jwks {}", shown_url(url)),
            Target::SpiffeBundleUrl(url) => format!("spiffe bundle {}", shown_url(url)),
            Target::Discovery { issuer } => format!("discovery {}", shown_url(issuer)),
        };
        f.debug_struct("RemoteJwksBuilder")
            .field("target", &target)
            .field("refresh_interval", &self.refresh_interval)
            .field("unknown_kid_interval", &self.unknown_kid_interval)
            .field("max_staleness", &self.max_staleness)
            .field("timeout", &self.timeout)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("allow_loopback_http", &self.allow_loopback_http)
            .finish()
    }
}

/// A URL fit for logs and `Debug`: without user name, password, query or fragment, which
/// may hold credentials.
fn shown_url(raw: &str) -> String {
    let Ok(mut url) = Url::parse(raw) else {
        return "<malformed url>".to_owned();
    };
    // Both fail only for URLs that cannot have credentials, which is fine.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_query(None);
    url.set_fragment(None);
    url.to_string()
}

/// Whether the URL's host is a loopback address or `localhost`.
fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => bare.eq_ignore_ascii_case("localhost"),
    }
}

/// GETs `url`, refusing a status other than 200, a body over `max` bytes, or a slow answer.
async fn get_bounded(
    client: &reqwest::Client,
    url: &Url,
    timeout: Duration,
    max: usize,
) -> Result<Vec<u8>, FetchError> {
    let fetch = async {
        let mut response = client
            .get(url.clone())
            .send()
            .await
            .map_err(|e| FetchError::Request(e.without_url()))?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(FetchError::Status(response.status().as_u16()));
        }
        if response
            .content_length()
            .is_some_and(|len| len > max as u64)
        {
            return Err(FetchError::TooLarge { max });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| FetchError::Request(e.without_url()))?
        {
            if body.len() + chunk.len() > max {
                return Err(FetchError::TooLarge { max });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    };
    tokio::time::timeout(timeout, fetch)
        .await
        .map_err(|_| FetchError::Timeout(timeout))?
}

/// The fetching half of a remote source, shared with its background task.
pub(crate) struct Fetcher {
    client: reqwest::Client,
    jwks_url: Url,
    /// `jwks_url` as logged: see [`shown_url`].
    shown_url: String,
    settings: RemoteJwksBuilder,
    keys: Arc<ArcSwap<Snapshot>>,
    /// Set while a fetch runs; others wait on `done` instead of fetching too.
    in_flight: AtomicBool,
    done: Notify,
    /// When the last fetch caused by an unknown `kid` started. Never held across an await.
    last_unknown_kid_fetch: Mutex<Option<Instant>>,
}

impl Fetcher {
    async fn fetch(&self) -> Result<KeySet, FetchError> {
        let s = &self.settings;
        let body = get_bounded(
            &self.client,
            &self.jwks_url,
            s.timeout,
            s.max_response_bytes,
        )
        .await?;
        let keys = match s.target {
            Target::SpiffeBundleUrl(_) => KeySet::from_spiffe_bundle(&body)?,
            Target::JwksUrl(_) | Target::Discovery { .. } => KeySet::from_jwks_bytes(&body)?,
        };
        Ok(keys)
    }

    fn publish(&self, keys: KeySet) {
        let stale_at = Instant::now() + self.settings.max_staleness;
        self.keys
            .store(Arc::new(Snapshot::new(keys, Some(stale_at))));
    }

    /// Called on an unknown `kid`: fetches unless one ran within the interval. Returns
    /// whether fresh keys may be there to look at.
    pub(super) async fn refresh_for_unknown_kid(&self) -> bool {
        let done = self.done.notified();
        if self.in_flight.load(Ordering::Acquire) {
            return self.wait_for(done).await;
        }
        if !self.claim_unknown_kid_slot() {
            debug!(url = %self.shown_url, "unknown kid; refresh rate-limited");
            return false;
        }
        self.refresh_single_flight().await
    }

    /// Takes the unknown-`kid` refresh slot if the interval has passed.
    fn claim_unknown_kid_slot(&self) -> bool {
        let Ok(mut last) = self.last_unknown_kid_fetch.lock() else {
            return false;
        };
        let now = Instant::now();
        let open =
            last.is_none_or(|at| now.duration_since(at) >= self.settings.unknown_kid_interval);
        if open {
            *last = Some(now);
        }
        open
    }

    async fn wait_for(&self, done: tokio::sync::futures::Notified<'_>) -> bool {
        tokio::time::timeout(self.settings.timeout, done)
            .await
            .is_ok()
    }

    /// Fetches unless a fetch is already running, in which case waits for that one.
    async fn refresh_single_flight(&self) -> bool {
        let done = self.done.notified();
        let claimed = self
            .in_flight
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if !claimed {
            return self.wait_for(done).await;
        }
        let _release = InFlight(self);
        match self.fetch().await {
            Ok(keys) => {
                debug!(url = %self.shown_url, keys = keys.len(), "JWKS refreshed");
                metrics::counter!("zt_token_key_refreshes_total", "source" => "remote")
                    .increment(1);
                self.publish(keys);
                true
            }
            Err(error) => {
                warn!(url = %self.shown_url, %error, "JWKS refresh failed; keeping last good keys");
                metrics::counter!("zt_token_key_refresh_failures_total", "source" => "remote")
                    .increment(1);
                false
            }
        }
    }
}

/// Clears the in-flight flag and wakes waiters, even if the fetch future is dropped.
struct InFlight<'a>(&'a Fetcher);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.store(false, Ordering::Release);
        self.0.done.notify_waiters();
    }
}

/// Refreshes every interval until the key source is dropped.
async fn refresh_in_background(fetcher: Weak<Fetcher>) {
    loop {
        let Some(interval) = fetcher.upgrade().map(|f| f.settings.background_interval()) else {
            return;
        };
        tokio::time::sleep(interval).await;
        let Some(strong) = fetcher.upgrade() else {
            return;
        };
        strong.refresh_single_flight().await;
    }
}
