//! Revocation: a deny list consulted before the policy on every request.
//!
//! The full documentation is on the main type, re-exported at the crate root.

mod entries;
mod file;
mod target;
mod watch;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use arc_swap::ArcSwap;

use crate::Principal;
pub(crate) use entries::Remix;
use entries::{Entries, Fingerprinter, LookupKeys};
use target::{KindCounts, TargetRef};

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

/// Run-time entries per shard aimed at: a write copies one shard, so this bounds its cost.
const ENTRIES_PER_SHARD: usize = 256;
/// Most shards of the run-time tier.
const MAX_SHARDS: usize = 256;

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
/// use zt_core::{
///     CertThumbprint, PeerIdentity, Principal, Reason, Revocation, RevocationList,
///     RevocationTarget, SpiffeId,
/// };
///
/// let revocations = Arc::new(RevocationList::new());
/// let id: SpiffeId = "spiffe://example.org/ns/prod/sa/billing".parse()?;
/// let now = SystemTime::now();
/// let revocation = Revocation::new(RevocationTarget::SpiffeId(id.clone()), "key leaked")
///     .until(now + Duration::from_secs(3600));
/// revocations.revoke(revocation, now)?;
///
/// // In the authorization layer, for each request, before the policy:
/// let peer = PeerIdentity { spiffe_id: id, thumbprint: CertThumbprint([0; 32]), not_after: now };
/// let principal = Principal { peer: Some(Arc::new(peer)), ..Principal::default() };
/// let decision = match revocations.check(&principal, now) {
///     Some(revocation) => revocation.to_decision(),
///     None => unreachable!("policy.evaluate(&request) runs here"),
/// };
/// assert!(matches!(decision.reason, Reason::Revoked(_)));
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
/// # kind     fields, then options
/// spiffe     spiffe://example.org/ns/prod/sa/billing  expires=2027-01-01T00:00:00Z reason=leak
/// thumbprint 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
/// token      https://idp.example.org 4f1c2d3e  reason=reported stolen
/// subject    https://idp.example.org alice@example.org  expires=1798761600
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
    /// `runtime.len() == 1 << shard_bits`.
    shard_bits: u32,
    /// Run-time entries per kind (expired ones included until purged).
    runtime_kinds: [AtomicUsize; 4],
    failed_reloads: AtomicU64,
    shard_capacity: usize,
    fingerprints: Fingerprinter,
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

    /// An empty list with no file that holds at most `capacity` active run-time entries
    /// (rounded up to a multiple of the shard count). The bound is enforced per shard of
    /// about 256 entries, so an entry may be refused while other shards still have room.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            path: None,
            loaded_stamp: Mutex::new(None),
            file: ArcSwap::default(),
            runtime: Box::default(),
            shard_bits: 0,
            runtime_kinds: Default::default(),
            failed_reloads: AtomicU64::new(0),
            shard_capacity: 0,
            fingerprints: Fingerprinter::default(),
        }
        .with_runtime_capacity(capacity)
    }

    /// Sizes the (empty) run-time tier: about 256 entries a shard, at most 256 shards.
    fn with_runtime_capacity(mut self, capacity: usize) -> Self {
        let shards = (capacity / ENTRIES_PER_SHARD)
            .next_power_of_two()
            .clamp(1, MAX_SHARDS);
        self.runtime = (0..shards).map(|_| Shard::default()).collect();
        self.shard_bits = shards.trailing_zeros();
        self.shard_capacity = capacity.div_ceil(shards).max(1);
        self.runtime_kinds = Default::default();
        self
    }

    /// Loads the revocation file at `path` (format under
    /// [File format](RevocationList#file-format)), keeping the path for
    /// [`reload`](Self::reload) and [`watch`](Self::watch).
    ///
    /// # Errors
    ///
    /// [`RevocationError::Read`] or [`RevocationError::Line`]: a list that cannot be loaded at
    /// start-up is an error, never an empty list.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self, RevocationError> {
        let path = path.as_ref().to_path_buf();
        // Stamp before reading: a change during the read shows as a change later.
        let stamp = watch::stamp(&path);
        let revocations = file::load(&path)?;
        let mut list = Self::new();
        list.file = ArcSwap::from_pointee(Entries::build(revocations, &list.fingerprints));
        list.loaded_stamp = Mutex::new(stamp);
        list.path = Some(path);
        list.record_entry_gauges();
        Ok(list)
    }

    /// Sets the run-time capacity of a list built by [`from_path`](Self::from_path),
    /// dropping any run-time entries.
    pub fn capacity(self, capacity: usize) -> Self {
        self.with_runtime_capacity(capacity)
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
        // Nothing to look up: the common case costs a few atomic loads.
        let file = self.file.load();
        let runtime = self.runtime_kinds();
        let file_kinds = file.kinds();
        let present: KindCounts = std::array::from_fn(|k| runtime[k] + file_kinds[k]);
        if present == KindCounts::default() {
            return None;
        }

        // Only kinds somebody revoked are hashed and looked up.
        let svid = (present[0] > 0)
            .then(|| entries::svid_subject(principal))
            .flatten();
        let keys = entries::lookup_keys(principal, svid.as_ref(), &self.fingerprints, present);
        let found = match file.find(&keys, now) {
            Some(hit) => Some(hit.clone()),
            None => self.find_runtime(&keys, runtime, now),
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

    fn find_runtime(
        &self,
        keys: &LookupKeys<'_>,
        runtime: KindCounts,
        now: SystemTime,
    ) -> Option<Revocation> {
        let in_runtime = |(key, _): &&(TargetRef<'_>, u64)| runtime[key.kind_index()] > 0;
        keys.iter()
            .flatten()
            .filter(in_runtime)
            .find_map(|(key, fingerprint)| {
                let shard = self.runtime[self.shard_of(*fingerprint)].entries.load();
                shard
                    .get(*fingerprint, *key)
                    .filter(|r| r.is_active(now))
                    .cloned()
            })
    }

    /// Adds or replaces a run-time entry. It applies from the next [`check`](Self::check).
    ///
    /// # Errors
    ///
    /// [`RevocationError::Full`] when the entry's shard is at capacity even after expired
    /// entries (as of `now`) were purged.
    pub fn revoke(&self, revocation: Revocation, now: SystemTime) -> Result<(), RevocationError> {
        let fingerprint = self.fingerprints.of(revocation.target.as_ref());
        let shard = &self.runtime[self.shard_of(fingerprint)];
        let _guard = shard.write.lock().unwrap_or_else(PoisonError::into_inner);

        // A full shard with nothing expired refuses before anything is copied.
        let current = shard.entries.load_full();
        let replaces = current
            .get(fingerprint, revocation.target.as_ref())
            .is_some();
        let full = !replaces && current.len() >= self.shard_capacity;
        if full && !current.has_expired(now) {
            return Err(self.refuse());
        }

        let mut next = Entries::clone(&current);
        if full {
            next.retain_active(now);
            if next.len() >= self.shard_capacity {
                self.publish(shard, &current, next);
                return Err(self.refuse());
            }
        }
        next.insert(fingerprint, revocation);
        self.publish(shard, &current, next);
        Ok(())
    }

    /// Removes the run-time entry for `target`, returning it. File entries stay until the file
    /// changes.
    pub fn release(&self, target: &RevocationTarget) -> Option<Revocation> {
        let fingerprint = self.fingerprints.of(target.as_ref());
        let shard = &self.runtime[self.shard_of(fingerprint)];
        let _guard = shard.write.lock().unwrap_or_else(PoisonError::into_inner);
        let current = shard.entries.load_full();
        let mut next = Entries::clone(&current);
        let removed = next.remove(fingerprint, target.as_ref())?;
        self.publish(shard, &current, next);
        Some(removed)
    }

    /// Drops run-time entries that expired by `now`, returning how many were dropped.
    /// Expired entries never match; this only frees their memory.
    pub fn purge_expired(&self, now: SystemTime) -> usize {
        let mut total = 0;
        for shard in self.runtime.iter() {
            let _guard = shard.write.lock().unwrap_or_else(PoisonError::into_inner);
            let current = shard.entries.load_full();
            if !current.has_expired(now) {
                continue;
            }
            let mut next = Entries::clone(&current);
            total += next.retain_active(now);
            self.publish(shard, &current, next);
        }
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
            Ok(revocations) => {
                let entries = Entries::build(revocations, &self.fingerprints);
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
        self.file.load().len() + self.runtime_kinds().iter().sum::<usize>()
    }

    /// Number of run-time entries (expired ones included until purged).
    pub fn runtime_len(&self) -> usize {
        self.runtime_kinds().iter().sum::<usize>()
    }

    /// Whether the list has no entries at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stores `next` in place of `current` (the caller holds the shard's write lock) and
    /// moves the per-kind counters by the difference: up before the store and down after it,
    /// so that a concurrent `check` may look up a kind for nothing but never skips one.
    fn publish(&self, shard: &Shard, current: &Entries, next: Entries) {
        let (before, after) = (current.kinds(), next.kinds());
        for (k, counter) in self.runtime_kinds.iter().enumerate() {
            counter.fetch_add(after[k].saturating_sub(before[k]), Ordering::AcqRel);
        }
        shard.entries.store(Arc::new(next));
        for (k, counter) in self.runtime_kinds.iter().enumerate() {
            counter.fetch_sub(before[k].saturating_sub(after[k]), Ordering::AcqRel);
        }
        self.record_runtime_gauge();
    }

    fn runtime_kinds(&self) -> KindCounts {
        std::array::from_fn(|k| self.runtime_kinds[k].load(Ordering::Acquire))
    }

    /// The shard of a fingerprint: its top bits, which the shard's own map does not rely on.
    fn shard_of(&self, fingerprint: u64) -> usize {
        fingerprint
            .checked_shr(u64::BITS - self.shard_bits)
            .unwrap_or(0) as usize
    }

    fn refuse(&self) -> RevocationError {
        metrics::counter!(METRIC_REVOCATION_REJECTED).increment(1);
        RevocationError::Full {
            capacity: self.shard_capacity * self.runtime.len(),
        }
    }

    fn record_entry_gauges(&self) {
        metrics::gauge!(METRIC_REVOCATION_ENTRIES, "tier" => "file")
            .set(self.file.load().len() as f64);
        self.record_runtime_gauge();
    }

    fn record_runtime_gauge(&self) {
        metrics::gauge!(METRIC_REVOCATION_ENTRIES, "tier" => "runtime")
            .set(self.runtime_kinds().iter().sum::<usize>() as f64);
    }
}

#[cfg(test)]
mod tests;
