//! Tokens already verified, keyed by the SHA-256 of the token, so that a token seen again
//! costs a hash and a lookup instead of a signature check.
//!
//! Entries hold what the rules still need after verification: `exp` (checked on every hit,
//! and an expired entry is dropped), the issuer and the generation of its key set (once the
//! keys change, a cached token is verified afresh, so a removed key stops serving it) and the
//! certificate binding.

use std::sync::Arc;

use aws_lc_rs::digest;
use zt_core::Subject;

/// The SHA-256 of a token.
pub(crate) type TokenDigest = [u8; 32];

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

    pub(crate) fn digest(token: &str) -> TokenDigest {
        let mut out = [0u8; 32];
        out.copy_from_slice(digest::digest(&digest::SHA256, token.as_bytes()).as_ref());
        out
    }

    pub(crate) fn get(&self, digest: &TokenDigest) -> Option<Arc<Verified>> {
        self.entries.get(digest)
    }

    pub(crate) fn insert(&self, digest: TokenDigest, verified: Arc<Verified>) {
        self.entries.insert(digest, verified);
    }

    pub(crate) fn remove(&self, digest: &TokenDigest) {
        self.entries.remove(digest);
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}
