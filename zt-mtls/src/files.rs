//! SVID and bundle sources backed by PEM / JSON files, re-read when the files change.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::{ArcSwap, ArcSwapOption};
use notify::event::{AccessKind, AccessMode, EventKind};
use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use zt_core::TrustDomain;

use crate::{BundleError, BundleSource, LoadError, Svid, SvidSource, TrustBundle, TrustBundleSet};

/// Why a file watch could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WatchError {
    /// The file system watcher could not be created or could not watch a directory.
    #[error("cannot watch {path} for changes")]
    Notify {
        /// The directory.
        path: PathBuf,
        /// What notify said.
        #[source]
        source: notify::Error,
    },
}

/// An SVID read from a PEM chain file and a PEM key file, re-read whenever either changes,
/// so a certificate rotated on disk is served from the next handshake with no restart.
///
/// A file that fails to load (half written, key not matching the chain, already expired) is
/// logged at `warn` and the last good SVID stays in service. A change anywhere in the chain
/// (not only the leaf) is served. If the first load fails the source starts
/// empty and handshakes fail until the files become valid. Reading is lock-free.
///
/// Write rotated files atomically (write elsewhere, then rename over) where you can.
pub struct PemFileSvidSource {
    state: Arc<SvidFiles>,
    _watcher: RecommendedWatcher,
}

struct SvidFiles {
    chain_path: PathBuf,
    key_path: PathBuf,
    current: ArcSwapOption<Svid>,
}

impl SvidFiles {
    fn reload(&self) -> Result<(), LoadError> {
        let svid = Svid::from_pem_files(&self.chain_path, &self.key_path)?;
        // TODO: a chain file cut between two PEM blocks (a non-atomic writer) loads as a
        // shorter chain and is served until the next write event; without the bundle here a
        // missing intermediate cannot be told from a leaf issued by the root. A not-yet-valid
        // SVID is served as soon as it loads, since no file event would come when it starts.
        // A stale copy on disk never replaces the SVID in service.
        let now = std::time::SystemTime::now();
        if svid.not_after() < now {
            return Err(LoadError::Expired {
                not_after: svid.not_after(),
                now,
            });
        }
        // The whole chain counts: the same leaf with other intermediates is a change.
        let unchanged = self
            .current
            .load()
            .as_ref()
            .is_some_and(|old| old.chain() == svid.chain());
        if !unchanged {
            tracing::debug!(
                svid.id = %svid.spiffe_id(),
                svid.thumbprint = %svid.thumbprint(),
                "SVID loaded from files"
            );
            self.current.store(Some(Arc::new(svid)));
        }
        Ok(())
    }

    fn reload_or_warn(&self) {
        if let Err(error) = self.reload() {
            tracing::warn!(
                path = %self.chain_path.display(),
                error = %crate::report::error_chain(&error),
                "SVID reload failed; keeping the last good SVID"
            );
        }
    }
}

impl PemFileSvidSource {
    /// Loads `chain_path` and `key_path` and watches them for changes.
    ///
    /// # Errors
    ///
    /// [`WatchError`] if the directories cannot be watched. A failed first load is not an
    /// error: it is logged and the source starts empty.
    pub fn watch(
        chain_path: impl Into<PathBuf>,
        key_path: impl Into<PathBuf>,
    ) -> Result<Self, WatchError> {
        let state = Arc::new(SvidFiles {
            chain_path: chain_path.into(),
            key_path: key_path.into(),
            current: ArcSwapOption::empty(),
        });
        let paths = [state.chain_path.clone(), state.key_path.clone()];
        let on_change = Arc::clone(&state);
        let watcher = watch_files(&paths, move || on_change.reload_or_warn())?;
        state.reload_or_warn();
        Ok(Self {
            state,
            _watcher: watcher,
        })
    }

    /// Re-reads the files now.
    ///
    /// # Errors
    ///
    /// [`LoadError`] if they do not hold a valid SVID; the last good one stays.
    pub fn reload(&self) -> Result<(), LoadError> {
        self.state.reload()
    }
}

impl SvidSource for PemFileSvidSource {
    fn current_svid(&self) -> Option<Arc<Svid>> {
        self.state.current.load_full()
    }
}

impl fmt::Debug for PemFileSvidSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PemFileSvidSource")
            .field("chain_path", &self.state.chain_path)
            .field("key_path", &self.state.key_path)
            .field("loaded", &self.state.current.load().is_some())
            .finish()
    }
}

/// Trust bundles read from files, one per trust domain (PEM, or SPIFFE bundle JSON when the
/// file starts with `{`), re-read whenever a file changes.
///
/// A file that fails to load is logged at `warn` and that domain keeps its last good
/// bundle; a domain whose file never loaded is not trusted.
pub struct BundleFileSource {
    state: Arc<BundleFiles>,
    _watcher: RecommendedWatcher,
}

struct BundleFiles {
    files: Vec<(TrustDomain, PathBuf)>,
    current: ArcSwap<TrustBundleSet>,
}

impl BundleFiles {
    fn reload(&self) -> Result<(), BundleError> {
        let mut next = TrustBundleSet::clone(&self.current.load());
        let mut first_error = None;
        for (trust_domain, path) in &self.files {
            match TrustBundle::from_file(trust_domain.clone(), path) {
                Ok(bundle) => {
                    next.insert(bundle);
                }
                Err(error) => {
                    tracing::warn!(
                        trust_domain = %trust_domain,
                        path = %path.display(),
                        error = %crate::report::error_chain(&error),
                        "trust bundle reload failed; keeping the last good bundle"
                    );
                    first_error.get_or_insert(error);
                }
            }
        }
        self.current.store(Arc::new(next));
        first_error.map_or(Ok(()), Err)
    }
}

impl BundleFileSource {
    /// Loads each `(trust domain, file)` and watches the files for changes.
    ///
    /// # Errors
    ///
    /// [`WatchError`] if the directories cannot be watched. Failed loads are logged, not
    /// returned; see [`BundleFileSource::reload`].
    pub fn watch(
        files: impl IntoIterator<Item = (TrustDomain, PathBuf)>,
    ) -> Result<Self, WatchError> {
        let state = Arc::new(BundleFiles {
            files: files.into_iter().collect(),
            current: ArcSwap::from_pointee(TrustBundleSet::new()),
        });
        let paths: Vec<PathBuf> = state.files.iter().map(|(_, p)| p.clone()).collect();
        let on_change = Arc::clone(&state);
        let watcher = watch_files(&paths, move || {
            let _ = on_change.reload();
        })?;
        let _ = state.reload();
        Ok(Self {
            state,
            _watcher: watcher,
        })
    }

    /// Re-reads every file now.
    ///
    /// # Errors
    ///
    /// The first [`BundleError`]; domains whose file failed keep their last good bundle.
    pub fn reload(&self) -> Result<(), BundleError> {
        self.state.reload()
    }

    /// The bundle set as it stands.
    pub fn load(&self) -> Arc<TrustBundleSet> {
        self.state.current.load_full()
    }
}

impl BundleSource for BundleFileSource {
    fn bundle_for(&self, trust_domain: &TrustDomain) -> Option<Arc<TrustBundle>> {
        self.state.current.load().get(trust_domain).cloned()
    }
}

impl fmt::Debug for BundleFileSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BundleFileSource")
            .field("files", &self.state.files)
            .finish()
    }
}

/// Watches the directories holding `paths` (so renames over a file are seen) and calls
/// `on_change` for each event that may have changed one of the files, including the
/// `..data` link swap of Kubernetes volume mounts.
fn watch_files(
    paths: &[PathBuf],
    on_change: impl Fn() + Send + 'static,
) -> Result<RecommendedWatcher, WatchError> {
    let names: BTreeSet<_> = paths
        .iter()
        .filter_map(|p| p.file_name())
        .map(|n| n.to_owned())
        .collect();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        let touches_ours = event.paths.iter().any(|p| {
            p.file_name()
                .is_some_and(|n| names.contains(n) || is_atomic_writer_link(n))
        });
        if touches_ours && may_change_content(event.kind) {
            on_change();
        }
    })
    .map_err(|source| WatchError::Notify {
        path: PathBuf::new(),
        source,
    })?;
    let dirs: BTreeSet<&Path> = paths.iter().map(|p| parent_dir(p)).collect();
    for dir in dirs {
        watcher
            .watch(dir, RecursiveMode::NonRecursive)
            .map_err(|source| WatchError::Notify {
                path: dir.to_owned(),
                source,
            })?;
    }
    Ok(watcher)
}

/// Kubernetes mounts Secrets and ConfigMaps as links through `..data`, swapped by a rename of
/// `..data_tmp`; events on those names change every file behind them.
fn is_atomic_writer_link(name: &std::ffi::OsStr) -> bool {
    name.as_encoded_bytes().starts_with(b"..")
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Our own reads raise access events; only writes, creations, renames and removals count.
fn may_change_content(kind: EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    }
}
