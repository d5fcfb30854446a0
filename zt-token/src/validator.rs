//! The validator: from a bearer token to a verified [`Subject`], or a typed rejection.
//!
//! Steps, in order: size bound; cache lookup; split and decode; header rules;
//! issuer chosen by `iss`; claim rules; key looked up by (issuer, `kid`) and checked against
//! the header's algorithm; signature; certificate binding. A cache hit re-checks expiry, the
//! key and the binding, but not the signature.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use tracing::debug;
use zt_core::{Clock, PeerIdentity, Subject, SystemClock};

use crate::cache::{Verified, VerifiedCache};
use crate::claims;
use crate::header::Header;
use crate::jose::{CompactJws, decode_object};
use crate::keyset::VerifyingKey;
use crate::{BuildError, Issuer, TokenError};

/// Longest token accepted by default, in bytes: 8 KiB.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Verified tokens kept by default.
pub const DEFAULT_CACHE_CAPACITY: usize = 10_000;

/// Validates bearer tokens of one or several trusted issuers. Cheap to clone; clones share
/// the cache of verified tokens.
///
/// ```
/// use zt_token::{Issuer, KeySource, MintRequest, Minter, Validator};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let minter = Minter::generate_es256("https://idp.example.org")?;
/// let validator = Validator::builder()
///     .issuer(
///         Issuer::new("https://idp.example.org", KeySource::from_jwks(&minter.jwks())?)
///             .audience("orders"),
///     )
///     .build()?;
///
/// let token = minter.mint(&MintRequest::new("billing", "orders").role("reader"))?;
/// let subject = validator.validate(token.as_str(), None).await?;
/// assert_eq!(&*subject.subject, "billing");
/// assert!(subject.has_role("reader"));
///
/// assert!(validator.validate("not.a.token", None).await.is_err());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Validator {
    inner: Arc<Inner>,
}

struct Inner {
    issuers: Vec<Issuer>,
    by_iss: HashMap<Arc<str>, usize>,
    clock: Arc<dyn Clock>,
    max_token_bytes: usize,
    cache: Option<VerifiedCache>,
}

/// Builds a [`Validator`].
pub struct ValidatorBuilder {
    issuers: Vec<Issuer>,
    clock: Arc<dyn Clock>,
    max_token_bytes: usize,
    cache_capacity: usize,
}

impl ValidatorBuilder {
    /// Trusts `issuer`. Tokens are routed to it by their `iss` claim.
    pub fn issuer(mut self, issuer: Issuer) -> Self {
        self.issuers.push(issuer);
        self
    }

    /// Reads time from `clock` (tests use [`zt_core::ManualClock`]).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Rejects tokens longer than `max` bytes before decoding them (default 8 KiB).
    pub fn max_token_bytes(mut self, max: usize) -> Self {
        self.max_token_bytes = max;
        self
    }

    /// How many verified tokens to keep (default 10,000); 0 turns the cache off.
    pub fn cache_capacity(mut self, capacity: usize) -> Self {
        self.cache_capacity = capacity;
        self
    }

    /// Checks the configuration and builds the validator.
    ///
    /// # Errors
    ///
    /// [`BuildError`] when no issuer is given, two share an `iss`, or an issuer accepts no
    /// audience, no algorithm or a symmetric one, or has a zero maximum lifetime.
    pub fn build(self) -> Result<Validator, BuildError> {
        if self.issuers.is_empty() {
            return Err(BuildError::NoIssuer);
        }
        let mut by_iss = HashMap::new();
        for (index, issuer) in self.issuers.iter().enumerate() {
            issuer.check()?;
            if by_iss.insert(issuer.issuer.clone(), index).is_some() {
                return Err(BuildError::DuplicateIssuer(issuer.issuer.to_string()));
            }
        }
        let cache = (self.cache_capacity > 0).then(|| VerifiedCache::new(self.cache_capacity));
        Ok(Validator {
            inner: Arc::new(Inner {
                issuers: self.issuers,
                by_iss,
                clock: self.clock,
                max_token_bytes: self.max_token_bytes,
                cache,
            }),
        })
    }
}

impl Validator {
    /// A builder with the system clock, an 8 KiB token bound and a 10,000-entry cache.
    pub fn builder() -> ValidatorBuilder {
        ValidatorBuilder {
            issuers: Vec::new(),
            clock: Arc::new(SystemClock),
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            cache_capacity: DEFAULT_CACHE_CAPACITY,
        }
    }

    /// Validates `token` (without the `Bearer ` prefix) presented by `peer`, the mTLS client
    /// if there is one, against which a certificate-bound token is checked.
    ///
    /// Waits on the network only when the token names a `kid` the issuer's remote key
    /// source does not know yet, and then at most once per configured interval.
    ///
    /// # Errors
    ///
    /// [`TokenError`] naming the rule the token broke; see
    /// [`TokenError::is_unverifiable`] for tokens whose keys are not at hand.
    pub async fn validate(
        &self,
        token: &str,
        peer: Option<&PeerIdentity>,
    ) -> Result<Arc<Subject>, TokenError> {
        self.validate_detailed(token, peer)
            .await
            .map_err(|rejected| rejected.error)
    }

    /// As [`Validator::validate`], but a token that verified and failed only its certificate
    /// binding (RFC 8705) comes back with its verified subject, so that the mismatch can be
    /// reported (for instance to a breach responder) with whom it concerns.
    ///
    /// # Errors
    ///
    /// [`Rejected`] holding the [`TokenError`], and the subject for binding failures.
    pub async fn validate_detailed(
        &self,
        token: &str,
        peer: Option<&PeerIdentity>,
    ) -> Result<Arc<Subject>, Rejected> {
        let result = self.validate_inner(token, peer).await;
        log_rejection(&result);
        result
    }

    /// Answers `token` without waiting when the answer is at hand: a token over the size
    /// bound is refused, and a token verified before is answered from the cache after its
    /// expiry, keys and binding are checked again, exactly as
    /// [`Validator::validate_detailed`] would. `None` when the token needs the full
    /// verification: call [`Validator::validate_detailed`] then.
    ///
    /// ```
    /// use zt_token::{Issuer, KeySource, MintRequest, Minter, Validator};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let minter = Minter::generate_es256("https://idp.example.org")?;
    /// let validator = Validator::builder()
    ///     .issuer(
    ///         Issuer::new("https://idp.example.org", KeySource::from_jwks(&minter.jwks())?)
    ///             .audience("orders"),
    ///     )
    ///     .build()?;
    /// let token = minter.mint(&MintRequest::new("billing", "orders"))?;
    /// assert!(validator.validate_cached(token.as_str(), None).is_none());
    /// validator.validate(token.as_str(), None).await?;
    /// assert!(validator.validate_cached(token.as_str(), None).is_some_and(|r| r.is_ok()));
    /// # Ok(())
    /// # }
    /// ```
    pub fn validate_cached(
        &self,
        token: &str,
        peer: Option<&PeerIdentity>,
    ) -> Option<Result<Arc<Subject>, Rejected>> {
        let result = self.check_size(token).map_or_else(
            |rejected| Some(Err(rejected)),
            |()| self.answer_from_cache(token, peer),
        )?;
        log_rejection(&result);
        Some(result)
    }

    /// Forgets every verified token: each is verified afresh (signature included) when seen
    /// again. Clones share the cache, so this clears it for all of them.
    pub fn clear_cache(&self) {
        if let Some(cache) = &self.inner.cache {
            cache.clear();
        }
    }

    /// How many verified tokens the cache holds.
    pub fn cached_tokens(&self) -> usize {
        self.inner.cache.as_ref().map_or(0, VerifiedCache::len)
    }

    async fn validate_inner(
        &self,
        token: &str,
        peer: Option<&PeerIdentity>,
    ) -> Result<Arc<Subject>, Rejected> {
        let inner = &*self.inner;
        self.check_size(token)?;

        // A token seen before skips decoding and the signature check.
        if let Some(answer) = self.answer_from_cache(token, peer) {
            return answer;
        }

        let verified = self.verify(token).await?;
        let issuer = &inner.issuers[verified.issuer];
        check_binding(issuer, verified.binding, peer)
            .map_err(|error| Rejected::verified(error, &verified.subject))?;
        let subject = verified.subject.clone();
        if let Some(cache) = &inner.cache {
            cache.insert(token, Arc::new(verified));
        }
        Ok(subject)
    }

    /// Refuses a token over the size bound before anything reads it.
    fn check_size(&self, token: &str) -> Result<(), Rejected> {
        let max = self.inner.max_token_bytes;
        if token.len() > max {
            return Err(Rejected::from(TokenError::TooLarge {
                len: token.len(),
                max,
            }));
        }
        Ok(())
    }

    /// Answers a token found in the cache, re-checking expiry, keys and binding. `None` when
    /// it is not cached or the issuer's keys changed since: verify it afresh.
    fn answer_from_cache(
        &self,
        token: &str,
        peer: Option<&PeerIdentity>,
    ) -> Option<Result<Arc<Subject>, Rejected>> {
        let cache = self.inner.cache.as_ref()?;
        let hit = cache.get(token)?;
        let issuer = &self.inner.issuers[hit.issuer];
        if claims::is_expired(hit.expires_at, self.now_secs(), issuer.leeway) {
            cache.remove(token);
            return Some(Err(Rejected::from(TokenError::Expired)));
        }
        // Stale keys: take the full path, which may refresh them.
        let snapshot = issuer.keys.current().ok()?;
        if snapshot.generation != hit.key_generation {
            cache.remove(token);
            return None;
        }
        let answer = check_binding(issuer, hit.binding, peer)
            .map(|()| hit.subject.clone())
            .map_err(|error| Rejected::verified(error, &hit.subject));
        Some(answer)
    }

    /// Decodes and fully verifies a token not seen before.
    async fn verify(&self, token: &str) -> Result<Verified, TokenError> {
        let inner = &*self.inner;
        let jws = CompactJws::split(token)?;
        let header = Header::from_object(decode_object(jws.header, "header")?)?;
        let claims = decode_object(jws.payload, "payload")?;

        // The issuer is chosen by `iss` before any key is looked up.
        let iss = claims::issuer_of(&claims)?;
        let index = *inner.by_iss.get(iss).ok_or(TokenError::UnknownIssuer)?;
        let issuer = &inner.issuers[index];
        if !issuer.algorithms.contains(&header.alg) {
            return Err(TokenError::AlgorithmNotAllowed);
        }
        if !issuer.type_matches(header.typ.as_deref()) {
            return Err(TokenError::WrongType {
                expected: issuer.expected_type.clone().unwrap_or_default(),
            });
        }
        let checked = claims::check(issuer, claims, inner.clock.now())?;

        // The key decides the algorithm; the header only has to agree with it.
        let (key, key_generation) = find_key(issuer, header.kid.as_deref()).await?;
        let alg = key.algorithm_for(header.alg)?;
        let message = jws.signing_input.as_bytes();
        let valid = jsonwebtoken::crypto::verify(jws.signature, message, key.decoding_key(), alg)
            .map_err(|_| TokenError::BadSignature)?;
        if !valid {
            return Err(TokenError::BadSignature);
        }
        Ok(Verified {
            subject: Arc::new(checked.subject),
            issuer: index,
            key_generation,
            expires_at: checked.expires_at,
            binding: checked.binding,
        })
    }

    fn now_secs(&self) -> u64 {
        self.inner
            .clock
            .now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}

/// Logs a rejection at debug level (the rule and the error, never the token).
fn log_rejection(result: &Result<Arc<Subject>, Rejected>) {
    if let Err(rejected) = result {
        let error = &rejected.error;
        debug!(rule = error.rule(), %error, "token rejected");
    }
}

/// The issuer's key for `kid` with the generation of its key set, refreshing a remote source
/// once (rate-limited) if the `kid` is unknown or the keys went stale.
async fn find_key(
    issuer: &Issuer,
    kid: Option<&str>,
) -> Result<(Arc<VerifyingKey>, u64), TokenError> {
    match lookup(issuer, kid) {
        Err(TokenError::UnknownKey | TokenError::KeysUnavailable)
            if issuer.keys.refresh_for_unknown_kid().await =>
        {
            lookup(issuer, kid)
        }
        found => found,
    }
}

/// Looks `kid` up in the current snapshot, releasing the snapshot before returning.
fn lookup(issuer: &Issuer, kid: Option<&str>) -> Result<(Arc<VerifyingKey>, u64), TokenError> {
    let snapshot = issuer.keys.current()?;
    let key = snapshot.keys.find(kid)?.clone();
    Ok((key, snapshot.generation))
}

/// RFC 8705: a bound token needs the peer whose certificate it names.
fn check_binding(
    issuer: &Issuer,
    binding: Option<[u8; 32]>,
    peer: Option<&PeerIdentity>,
) -> Result<(), TokenError> {
    match (binding, peer) {
        (Some(_), None) => Err(TokenError::BindingWithoutPeer),
        (Some(bound), Some(peer)) if bound != *peer.thumbprint.as_bytes() => {
            Err(TokenError::BindingMismatch)
        }
        (None, _) if issuer.require_binding => Err(TokenError::BindingRequired),
        _ => Ok(()),
    }
}

/// Why [`Validator::validate_detailed`] rejected a token.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Rejected {
    /// The rule the token broke.
    pub error: TokenError,
    /// The token's subject, set only when its signature and every claim rule passed and the
    /// certificate binding failed: verified, so it may name whom to act against.
    pub verified: Option<Arc<Subject>>,
}

impl Rejected {
    fn verified(error: TokenError, subject: &Arc<Subject>) -> Self {
        Self {
            error,
            verified: Some(subject.clone()),
        }
    }
}

impl From<TokenError> for Rejected {
    fn from(error: TokenError) -> Self {
        Self {
            error,
            verified: None,
        }
    }
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.error, f)
    }
}

impl std::error::Error for Rejected {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl fmt::Debug for Validator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Validator")
            .field("issuers", &self.inner.issuers)
            .field("max_token_bytes", &self.inner.max_token_bytes)
            .field("cached_tokens", &self.cached_tokens())
            .finish()
    }
}

impl fmt::Debug for ValidatorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValidatorBuilder")
            .field("issuers", &self.issuers)
            .field("max_token_bytes", &self.max_token_bytes)
            .field("cache_capacity", &self.cache_capacity)
            .finish()
    }
}
