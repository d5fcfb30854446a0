//! A JWKS or SPIFFE bundle file, re-read when it changes.
//!
//! The parent directory is watched, so an atomic rename (as Kubernetes does for a mounted
//! ConfigMap) is seen as well as an in-place write.

use std::fs::File;
use std::io::Read as _;
use std::path::Path;
use std::sync::Arc;

use arc_swap::ArcSwap;
use notify::{RecursiveMode, Watcher as _};
use tracing::{debug, warn};

use super::Snapshot;
use crate::{KeySet, KeySetError};

/// Largest key file read, in bytes.
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// What the file holds.
#[derive(Clone, Copy)]
pub(crate) enum FileFormat {
    Jwks,
    SpiffeBundle,
}

/// Keeps the watcher alive; dropping it stops the re-reads.
pub(crate) struct FileWatch {
    _watcher: notify::RecommendedWatcher,
}

/// Loads `path` now and re-loads it on every change.
pub(crate) fn watch(
    path: &Path,
    format: FileFormat,
) -> Result<(Arc<ArcSwap<Snapshot>>, FileWatch), KeySetError> {
    let keys = load(path, format)?;
    let shared = Arc::new(ArcSwap::from_pointee(Snapshot::new(keys, None)));

    let target = path.to_path_buf();
    let published = shared.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if event.is_ok() {
            reload(&target, format, &published);
        }
    })
    .map_err(KeySetError::Watch)?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    watcher
        .watch(dir, RecursiveMode::NonRecursive)
        .map_err(KeySetError::Watch)?;
    Ok((shared, FileWatch { _watcher: watcher }))
}

/// Re-reads the file; a failure keeps the last good keys.
fn reload(path: &Path, format: FileFormat, published: &ArcSwap<Snapshot>) {
    match load(path, format) {
        Ok(keys) => {
            debug!(path = %path.display(), keys = keys.len(), "key file reloaded");
            metrics::counter!("zt_token_key_refreshes_total", "source" => "file").increment(1);
            published.store(Arc::new(Snapshot::new(keys, None)));
        }
        Err(error) => {
            warn!(path = %path.display(), %error, "key file reload failed; keeping last good keys");
            metrics::counter!("zt_token_key_refresh_failures_total", "source" => "file")
                .increment(1);
        }
    }
}

fn load(path: &Path, format: FileFormat) -> Result<KeySet, KeySetError> {
    let io = |source| KeySetError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut bytes = Vec::new();
    File::open(path)
        .map_err(io)?
        .take(MAX_FILE_BYTES)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    match format {
        FileFormat::Jwks => KeySet::from_jwks_bytes(&bytes),
        FileFormat::SpiffeBundle => KeySet::from_spiffe_bundle(&bytes),
    }
}
