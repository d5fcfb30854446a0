//! Tokens already verified, so that a token seen again costs a lookup instead of a signature
//! check.
//!
//! Entries are keyed by the SHA-256 digest of the token, so the cache never holds token
//! bytes: a memory dump of a running service yields no replayable credential. Finding a
//! second token with the digest of a cached one is a SHA-256 second preimage, so a hit is as
//! good as an exact match. The cache is private to its validator and never printed.
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

/// SHA-256 of a token's bytes.
type TokenDigest = [u8; 32];

/// A bounded map from token digest to verified result.
pub(crate) struct VerifiedCache {
    entries: quick_cache::sync::Cache<TokenDigest, Arc<Verified>>,
}

impl VerifiedCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: quick_cache::sync::Cache::new(capacity.max(1)),
        }
    }

    pub(crate) fn get(&self, token: &str) -> Option<Arc<Verified>> {
        self.entries.get(&digest(token))
    }

    pub(crate) fn insert(&self, token: &str, verified: Arc<Verified>) {
        self.entries.insert(digest(token), verified);
    }

    pub(crate) fn remove(&self, token: &str) {
        self.entries.remove(&digest(token));
    }

    pub(crate) fn clear(&self) {
        self.entries.clear();
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

fn digest(token: &str) -> TokenDigest {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    let mut out = [0; 32];
    out.copy_from_slice(digest.as_ref());
    out
}
