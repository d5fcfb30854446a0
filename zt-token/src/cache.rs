//! Tokens already verified, so that a token seen again costs a lookup instead of a signature
//! check.
//!
//! Lookups hash the token with the cache's randomly keyed hasher and confirm a hit by
//! comparing the whole token, so a hit is exact: no crafted token can collide with a cached
//! one. The price is that the cache holds the bytes of live tokens (at most its capacity,
//! each until its `exp`). A SHA-256 digest as the key would avoid that, but measured here it
//! costs 0.25 to 0.45 µs per token, a quarter of the whole layer stack's per-request budget;
//! a fast non-cryptographic digest would let a collision pass as a verified token. The cache
//! is private to its validator and never printed.
//!
//! Entries hold what the rules still need after verification: `exp` (checked on every hit,
//! and an expired entry is dropped), the issuer and the generation of its key set (once the
//! keys change, a cached token is verified afresh, so a removed key stops serving it) and the
//! certificate binding.

use std::sync::Arc;

use zt_core::Subject;

/// What a cache hit needs to re-check.
pub(crate) struct Verified {
    pub(crate) subject: Arc<Subject>,
    /// Index of the issuer in the validator.
    pub(crate) issuer: usize,
    /// The generation of the issuer's key snapshot that verified the token; a hit counts
    /// only while that snapshot is current.
    pub(crate) key_generation: u64,
    /// `exp`, seconds since the epoch.
    pub(crate) expires_at: u64,
    pub(crate) binding: Option<[u8; 32]>,
}

/// A bounded map from token to verified result.
pub(crate) struct VerifiedCache {
    entries: quick_cache::sync::Cache<Arc<str>, Arc<Verified>>,
}

impl VerifiedCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: quick_cache::sync::Cache::new(capacity.max(1)),
        }
    }

    pub(crate) fn get(&self, token: &str) -> Option<Arc<Verified>> {
        self.entries.get(token)
    }

    pub(crate) fn insert(&self, token: &str, verified: Arc<Verified>) {
        self.entries.insert(Arc::from(token), verified);
    }

    pub(crate) fn remove(&self, token: &str) {
        self.entries.remove(token);
    }

    pub(crate) fn clear(&self) {
        self.entries.clear();
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}
