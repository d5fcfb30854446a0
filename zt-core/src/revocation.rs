//! Revocation: a deny list consulted before the policy on every request.
//!
//! The full documentation is on the main type, re-exported at the crate root.

mod entries;
mod file;
mod target;
mod watch;

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use arc_swap::ArcSwap;

use crate::Principal;
use entries::{Entries, LookupKeys};
use target::TargetRef;

pub use file::LineError;
pub use target::{Revocation, RevocationKind, RevocationOrigin, RevocationTarget};
pub use watch::RevocationWatcher;

/// Name of the counter of checks that found an active revocation, labelled by `kind`.
pub const METRIC_REVOCATION_HITS: &str = "zt_revocation_hits_total";
/// Name of the counter of revocation file reloads, labelled by `result`.
pub const METRIC_REVOCATION_RELOADS: &str = "zt_revocation_reloads_total";
/// Name of the gauge of revocation entries, labelled by `tier`.
pub const METRIC_REVOCATION_ENTRIES: &str = "zt_revocation_entries";
/// Name of the counter of run-time entries refused because the list was full.
pub const METRIC_REVOCATION_REJECTED: &str = "zt_revocation_rejected_total";

/// Default bound on run-time entries (API revocations and quarantines).
pub const DEFAULT_RUNTIME_CAPACITY: usize = 100_000;

const SHARDS: usize = 16;

/// Why the revocation list could not be loaded or changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RevocationError {
    /// The revocation file could not be read; the previous list stays in force.
    #[error("could not read revocation file {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A line of the revocation file broke the format; the previous list stays in force.
    #[error("revocation file {}, line {line}: {problem}", path.display())]
    Line {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// What was wrong with the line.
        problem: LineError,
    },
    /// The list has no file to reload: it was not made with [`RevocationList::from_path`].
    #[error("revocation list has no file to reload")]
    NoFile,
    /// The run-time tier holds its maximum number of active entries; the entry was not added.
    #[error("revocation list is full ({capacity} run-time entries); entry not added")]
    Full {
        /// The run-time capacity.
        capacity: usize,
    },
    /// The watcher thread could not be started.
    #[error("could not start the revocation file watcher: {0}")]
    Watch(std::io::Error),
}

/// A deny list of identities, consulted before the policy.
///
/// A `RevocationList` holds entries of four kinds ([`RevocationTarget`]): SPIFFE IDs,
/// certificate thumbprints, token ids (issuer and `jti`, never token bytes) and token subjects
/// (issuer and `sub`). Each entry carries a reason and an optional expiry after which it no
/// longer applies.
///
/// Entries come from two tiers that are checked together:
///
/// - the **file tier**, loaded with [`RevocationList::from_path`] and replaced as a whole by
///   [`RevocationList::reload`] or by the watcher thread of [`RevocationList::watch`]; a file
///   with a bad line keeps the previous list and logs the line number at `warn`;
/// - the **run-time tier**, changed with [`RevocationList::revoke`] and
///   [`RevocationList::release`], where the [`Responder`](crate::Responder) also puts its
///   quarantines. It is bounded by [`RevocationList::with_capacity`].
///
/// Reads are lock-free: each tier is an `arc-swap` snapshot, and the run-time tier is split
/// into shards so that a write copies one small shard, not the whole list.
///
/// # Wiring it into a request path
///
/// Call [`RevocationList::check`] after authentication and before the policy; a hit is a deny
/// that the policy never sees, and [`Revocation::to_decision`] gives the decision to record.
///
/// ```
/// use std::sync::Arc;
/// use std::time::{Duration, SystemTime};
/// use zt_core::{Principal, Revocation, RevocationList, RevocationTarget, SpiffeId};
///
/// let revocations = Arc::new(RevocationList::new());
/// let id: SpiffeId = "spiffe://example.org/ns/prod/sa/billing".parse()?;
/// let now = SystemTime::now();
/// revocations.revoke(
///     Revocation::new(RevocationTarget::SpiffeId(id.clone()), "key leaked")
///         .until(now + Duration::from_secs(3600)),
///     now,
/// )?;
///
/// // In the authorization layer, for each request:
/// let principal = Principal::default(); // built from the verified peer and token
/// let decision = match revocations.check(&principal, now) {
///     Some(revocation) => revocation.to_decision(),
///     None => { /* policy.evaluate(&request) */ zt_core::Decision::deny(
///         zt_core::Reason::NoRuleMatched) }
/// };
/// assert!(!decision.is_allowed());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # File format
///
/// One entry per line; blank lines and lines starting with `#` are skipped. A line is a kind,
/// its fields, then optional `expires=<time>` (Unix seconds, or RFC 3339 with an offset) and
/// `reason=<text>`, which runs to the end of the line. Fields hold no spaces.
///
/// ```text
/// # kind     fields                                       options
/// spiffe     spiffe://example.org/ns/prod/sa/billing      expires=2027-01-01T00:00:00Z reason=key leaked
/// thumbprint 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
/// token      https://idp.example.org  4f1c2d3e             reason=reported stolen
/// subject    https://idp.example.org  alice@example.org    expires=1798761600
/// ```
///
/// Any bad line rejects the whole file: at start-up [`RevocationList::from_path`] fails, and
/// on reload the previous entries stay in force and the line number is logged at `warn`.
///
/// # Metrics
///
/// - `zt_revocation_hits_total{kind}`: checks that found an active entry;
/// - `zt_revocation_reloads_total{result}`: file reloads, `result` = `ok` or `error`;
/// - `zt_revocation_entries{tier}`: entries per tier (gauge), `tier` = `file` or `runtime`;
/// - `zt_revocation_rejected_total`: run-time entries refused because the list was full.
#[derive(Debug)]
pub struct RevocationList {
    path: Option<PathBuf>,
    loaded_stamp: Mutex<watch::Stamp>,
    file: ArcSwap<Entries>,
    runtime: Box<[Shard]>,
    runtime_len: AtomicUsize,
    failed_reloads: AtomicU64,
    shard_capacity: usize,
    hasher: RandomState,
}

#[derive(Debug, Default)]
struct Shard {
    entries: ArcSwap<Entries>,
    write: Mutex<()>,
}

impl Default for RevocationList {
    fn default() -> Self {
        Self::new()
    }
}

impl RevocationList {
    /// An empty list with no file and [`DEFAULT_RUNTIME_CAPACITY`].
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_RUNTIME_CAPACITY)
    }

    /// An empty list with no file that holds at most about `capacity` active run-time entries
    /// (the bound is enforced per shard, so the exact figure is rounded up to a multiple of
    /// the shard count).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            path: None,
            loaded_stamp: Mutex::new(None),
            file: ArcSwap::default(),
            runtime: (0..SHARDS).map(|_| Shard::default()).collect(),
            runtime_len: AtomicUsize::new(0),
            failed_reloads: AtomicU64::new(0),
            shard_capacity: capacity.div_ceil(SHARDS).max(1),
            hasher: RandomState::new(),
        }
    }

    /// Loads the revocation file at `path` (format under [File format](RevocationList#file-format)), keeping the
    /// path for [`reload`](Self::reload) and [`watch`](Self::watch).
    ///
    /// # Errors
    ///
    /// [`RevocationError::Read`] or [`RevocationError::Line`]: a list that cannot be loaded at
    /// start-up is an error, never an empty list.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, RevocationError> {
        let path = path.as_ref().to_path_buf();
        // Stamp before reading: a change during the read shows as a change later.
        let stamp = watch::stamp(&path);
        let entries = file::load(&path)?;
        let mut list = Self::new();
        list.file = ArcSwap::from_pointee(entries);
        list.loaded_stamp = Mutex::new(stamp);
        list.path = Some(path);
        list.record_entry_gauges();
        Ok(list)
    }

    /// Sets the run-time capacity of a list built by [`from_path`](Self::from_path).
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.shard_capacity = capacity.div_ceil(SHARDS).max(1);
        self
    }

    /// The file this list was loaded from, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The active revocation that applies to `principal` at `now`, if any.
    ///
    /// Looks up the peer's certificate thumbprint and SPIFFE ID, the subject's token id and
    /// subject, and a subject that is itself a SPIFFE ID (a JWT-SVID) in the SPIFFE ID list.
    pub fn check(&self, principal: &Principal, now: SystemTime) -> Option<Revocation> {
        // Nothing to look up: the common case costs two atomic loads.
        let file = self.file.load();
        let runtime_used = self.runtime_len.load(Ordering::Acquire) > 0;
        if file.is_empty() && !runtime_used {
            return None;
        }

        let svid = entries::svid_subject(principal);
        let keys = entries::lookup_keys(principal, svid.as_ref());
        let found = match file.find(&keys, now) {
            Some(hit) => Some(hit.clone()),
            None if runtime_used => self.find_runtime(&keys, now),
            None => None,
        };

        if let Some(revocation) = &found {
            let kind = revocation.target.kind().as_str();
            metrics::counter!(METRIC_REVOCATION_HITS, "kind" => kind).increment(1);
            tracing::debug!(
                revocation.target = %revocation.target,
                revocation.reason = %revocation.reason,
                "principal is revoked"
            );
        }
        found
    }

    fn find_runtime(&self, keys: &LookupKeys<'_>, now: SystemTime) -> Option<Revocation> {
        keys.iter().flatten().find_map(|key| {
            let shard = self.runtime[self.shard_of(*key)].entries.load();
            shard.get(*key).filter(|r| r.is_active(now)).cloned()
        })
    }

    /// Adds or replaces a run-time entry. It applies from the next [`check`](Self::check).
    ///
    /// # Errors
    ///
    /// [`RevocationError::Full`] when the entry's shard is at capacity even after expired
    /// entries (as of `now`) were purged.
    pub fn revoke(&self, revocation: Revocation, now: SystemTime) -> Result<(), RevocationError> {
        let index = self.shard_of(revocation.target.as_ref());
        let shard = &self.runtime[index];
        let _guard = shard.write.lock().unwrap_or_else(PoisonError::into_inner);

        let mut next = Entries::clone(&shard.entries.load());
        let replaces = next.get(revocation.target.as_ref()).is_some();
        if !replaces && next.len() >= self.shard_capacity {
            let purged = next.retain_active(now);
            self.runtime_len.fetch_sub(purged, Ordering::AcqRel);
            if next.len() >= self.shard_capacity {
                metrics::counter!(METRIC_REVOCATION_REJECTED).increment(1);
                return Err(RevocationError::Full {
                    capacity: self.shard_capacity * SHARDS,
                });
            }
        }
        if next.insert(revocation).is_none() {
            self.runtime_len.fetch_add(1, Ordering::AcqRel);
        }
        shard.entries.store(Arc::new(next));
        self.record_runtime_gauge();
        Ok(())
    }

    /// Removes the run-time entry for `target`, returning it. File entries stay until the file
    /// changes.
    pub fn release(&self, target: &RevocationTarget) -> Option<Revocation> {
        let shard = &self.runtime[self.shard_of(target.as_ref())];
        let _guard = shard.write.lock().unwrap_or_else(PoisonError::into_inner);
        let mut next = Entries::clone(&shard.entries.load());
        let removed = next.remove(target)?;
        self.runtime_len.fetch_sub(1, Ordering::AcqRel);
        shard.entries.store(Arc::new(next));
        self.record_runtime_gauge();
        Some(removed)
    }

    /// Drops run-time entries that expired by `now`, returning how many were dropped.
    /// Expired entries never match; this only frees their memory.
    pub fn purge_expired(&self, now: SystemTime) -> usize {
        let mut total = 0;
        for shard in self.runtime.iter() {
            let _guard = shard.write.lock().unwrap_or_else(PoisonError::into_inner);
            let mut next = Entries::clone(&shard.entries.load());
            let purged = next.retain_active(now);
            if purged > 0 {
                self.runtime_len.fetch_sub(purged, Ordering::AcqRel);
                shard.entries.store(Arc::new(next));
                total += purged;
            }
        }
        self.record_runtime_gauge();
        total
    }

    /// Re-reads the file given to [`from_path`](Self::from_path). On any error the previous
    /// file entries stay in force and the error (with its line number) is logged at `warn`.
    ///
    /// # Errors
    ///
    /// [`RevocationError::NoFile`], [`RevocationError::Read`] or [`RevocationError::Line`].
    pub fn reload(&self) -> Result<usize, RevocationError> {
        let path = self.path.as_deref().ok_or(RevocationError::NoFile)?;
        *self
            .loaded_stamp
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = watch::stamp(path);
        match file::load(path) {
            Ok(entries) => {
                let len = entries.len();
                self.file.store(Arc::new(entries));
                metrics::counter!(METRIC_REVOCATION_RELOADS, "result" => "ok").increment(1);
                self.record_entry_gauges();
                Ok(len)
            }
            Err(error) => {
                self.failed_reloads.fetch_add(1, Ordering::AcqRel);
                metrics::counter!(METRIC_REVOCATION_RELOADS, "result" => "error").increment(1);
                tracing::warn!(%error, "revocation file rejected; keeping the previous list");
                Err(error)
            }
        }
    }

    /// How many reloads failed since the list was made, for health checks: a non-zero
    /// figure means the file on disk is not the list in force.
    pub fn failed_reloads(&self) -> u64 {
        self.failed_reloads.load(Ordering::Acquire)
    }

    fn loaded_stamp(&self) -> watch::Stamp {
        *self
            .loaded_stamp
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Number of file entries and run-time entries (expired ones included until purged).
    pub fn len(&self) -> usize {
        self.file.load().len() + self.runtime_len.load(Ordering::Acquire)
    }

    /// Number of run-time entries (expired ones included until purged).
    pub fn runtime_len(&self) -> usize {
        self.runtime_len.load(Ordering::Acquire)
    }

    /// Whether the list has no entries at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn shard_of(&self, target: TargetRef<'_>) -> usize {
        // Truncation is fine: only the low bits pick the shard.
        (self.hasher.hash_one(target) as usize) % SHARDS
    }

    fn record_entry_gauges(&self) {
        metrics::gauge!(METRIC_REVOCATION_ENTRIES, "tier" => "file")
            .set(self.file.load().len() as f64);
        self.record_runtime_gauge();
    }

    fn record_runtime_gauge(&self) {
        metrics::gauge!(METRIC_REVOCATION_ENTRIES, "tier" => "runtime")
            .set(self.runtime_len.load(Ordering::Acquire) as f64);
    }
}

#[cfg(test)]
mod tests;
