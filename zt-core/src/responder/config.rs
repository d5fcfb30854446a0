//! How eagerly the responder quarantines, and how much it may remember.

use std::time::Duration;

/// Thresholds, quarantine length and memory bounds of a [`Responder`](crate::Responder).
///
/// ```
/// use std::time::Duration;
/// use zt_core::ResponderConfig;
///
/// let config = ResponderConfig::default()
///     .deny_threshold(5, Duration::from_secs(10))
///     .quarantine_for(Duration::from_secs(300));
/// assert_eq!(config.deny_threshold, 5);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResponderConfig {
    /// Denies within [`deny_window`](Self::deny_window) that quarantine a principal
    /// (default 20; 0 counts as 1).
    pub deny_threshold: usize,
    /// The sliding window denies are counted in (default 60 seconds).
    pub deny_window: Duration,
    /// How long a quarantine lasts (default 15 minutes).
    pub quarantine_for: Duration,
    /// Most principals with recent denies remembered at once (default 10,000). Each keeps at
    /// most `deny_threshold` timestamps, so this map holds at most about
    /// `max_tracked * (deny_threshold * 16 + 100)` bytes.
    pub max_tracked: usize,
    /// Most token ids remembered for replay detection at once (default 100,000).
    pub max_tracked_tokens: usize,
    /// Whether a bound token over a mismatched certificate quarantines (default yes).
    pub quarantine_on_bound_token_mismatch: bool,
    /// Whether a token id seen from two peers quarantines the token (default yes).
    pub quarantine_on_token_replay: bool,
}

impl Default for ResponderConfig {
    fn default() -> Self {
        Self {
            deny_threshold: 20,
            deny_window: Duration::from_secs(60),
            quarantine_for: Duration::from_secs(15 * 60),
            max_tracked: 10_000,
            max_tracked_tokens: 100_000,
            quarantine_on_bound_token_mismatch: true,
            quarantine_on_token_replay: true,
        }
    }
}

impl ResponderConfig {
    /// Sets the deny threshold and its sliding window.
    pub fn deny_threshold(mut self, denies: usize, window: Duration) -> Self {
        self.deny_threshold = denies;
        self.deny_window = window;
        self
    }

    /// Sets how long a quarantine lasts.
    pub fn quarantine_for(mut self, duration: Duration) -> Self {
        self.quarantine_for = duration;
        self
    }

    /// Sets the memory bounds: principals with denies, and token ids.
    pub fn max_tracked(mut self, principals: usize, token_ids: usize) -> Self {
        self.max_tracked = principals;
        self.max_tracked_tokens = token_ids;
        self
    }
}
