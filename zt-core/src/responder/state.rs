//! What the responder remembers between requests: recent denies per principal and the first
//! peer of each token id, in sharded bounded maps.

use std::collections::VecDeque;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::bounded::BoundedMap;
use super::{METRIC_RESPONDER_EVICTIONS, ResponderConfig};
use crate::revocation::Remix;
use crate::{RevocationTarget, SpiffeId, Subject};

const SHARDS: usize = 16;

/// The deny times of one principal inside the window, oldest first.
#[derive(Debug)]
struct DenyTrack(VecDeque<SystemTime>);

impl DenyTrack {
    fn last(&self) -> SystemTime {
        self.0.back().copied().unwrap_or(UNIX_EPOCH)
    }

    /// Whether every deny fell out of the window ending at `cutoff`.
    fn is_stale(&self, cutoff: SystemTime) -> bool {
        self.last() <= cutoff
    }
}

/// The first peer a token id came from.
#[derive(Debug)]
struct TokenSeen {
    peer: SpiffeId,
    expires_at: SystemTime,
    reported: bool,
}

/// Result of counting one deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DenyOutcome {
    /// Below the threshold.
    Counted,
    /// The threshold was reached; tracking for the principal was reset.
    Crossed { denies: usize },
}

#[derive(Debug)]
pub(super) struct TrackedState {
    denies: Box<[Mutex<BoundedMap<RevocationTarget, DenyTrack>>]>,
    /// Keyed by a keyed digest already, so the map does not hash again.
    tokens: Box<[Mutex<BoundedMap<u64, TokenSeen, Remix>>]>,
    hasher: RandomState,
    threshold: usize,
    window: Duration,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn shards<K, V, S>(total: usize) -> Box<[Mutex<BoundedMap<K, V, S>>]>
where
    K: std::hash::Hash + Eq + Clone,
    S: std::hash::BuildHasher + Default,
{
    let per_shard = total.div_ceil(SHARDS).max(1);
    (0..SHARDS)
        .map(|_| Mutex::new(BoundedMap::new(per_shard)))
        .collect()
}

impl TrackedState {
    pub(super) fn new(config: &ResponderConfig) -> Self {
        Self {
            denies: shards(config.max_tracked),
            tokens: shards(config.max_tracked_tokens),
            hasher: RandomState::new(),
            threshold: config.deny_threshold.max(1),
            window: config.deny_window,
        }
    }

    pub(super) fn denies_len(&self) -> usize {
        self.denies.iter().map(|s| lock(s).len()).sum()
    }

    pub(super) fn tokens_len(&self) -> usize {
        self.tokens.iter().map(|s| lock(s).len()).sum()
    }

    /// Records a deny of `target` at `now`.
    pub(super) fn count_deny(&self, target: &RevocationTarget, now: SystemTime) -> DenyOutcome {
        let cutoff = now.checked_sub(self.window).unwrap_or(UNIX_EPOCH);
        let index = (self.hasher.hash_one(target) as usize) % SHARDS;
        let mut shard = lock(&self.denies[index]);

        // A known principal: slide the window, then compare with the threshold.
        if let Some(track) = shard.get_mut(target) {
            while track.0.front().is_some_and(|t| *t <= cutoff) {
                track.0.pop_front();
            }
            track.0.push_back(now);
            let denies = track.0.len();
            if denies >= self.threshold {
                shard.remove(target);
                return DenyOutcome::Crossed { denies };
            }
            return DenyOutcome::Counted;
        }

        // A new principal: a threshold of one needs no memory at all.
        if self.threshold <= 1 {
            return DenyOutcome::Crossed { denies: 1 };
        }
        let track = DenyTrack(VecDeque::from([now]));
        let evicted = shard.insert(
            target.clone(),
            track,
            |t| t.is_stale(cutoff),
            |t| (t.0.len(), t.last()),
        );
        record_evictions("denies", evicted);
        DenyOutcome::Counted
    }

    /// Remembers that `subject`'s token `token_id` came from `peer`; returns `true` the first
    /// time it comes from another peer while the token is still valid.
    pub(super) fn token_seen_from(
        &self,
        subject: &Subject,
        token_id: &str,
        peer: &SpiffeId,
        now: SystemTime,
    ) -> bool {
        if subject.expires_at <= now {
            return false;
        }
        // A keyed 64-bit digest stands for (issuer, jti): no allocation per request, and
        // collisions cannot be aimed at without the random key.
        let key = self.hasher.hash_one((&*subject.issuer, token_id));
        // The top bits pick the shard; the shard's map spreads the low ones.
        let mut shard = lock(&self.tokens[(key >> 60) as usize % SHARDS]);

        if let Some(seen) = shard.get_mut(&key).filter(|s| s.expires_at > now) {
            let replayed = seen.peer != *peer && !seen.reported;
            seen.reported |= replayed;
            return replayed;
        }
        let seen = TokenSeen {
            peer: peer.clone(),
            expires_at: subject.expires_at,
            reported: false,
        };
        let evicted = shard.insert(key, seen, |s| s.expires_at <= now, |s| s.expires_at);
        record_evictions("tokens", evicted);
        false
    }
}

fn record_evictions(map: &'static str, evicted: usize) {
    if evicted > 0 {
        metrics::counter!(METRIC_RESPONDER_EVICTIONS, "map" => map).increment(evicted as u64);
    }
}
