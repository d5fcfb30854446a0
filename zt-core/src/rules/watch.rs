//! A std thread that reloads a policy file when it changes.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;

use super::{PolicyHandle, RulePolicy};

/// Stops the thread of [`PolicyHandle::watch`] when dropped.
#[derive(Debug)]
pub struct PolicyWatcher {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for PolicyWatcher {
    fn drop(&mut self) {
        // Dropping the sender wakes the thread, which then exits.
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Modification time and size: what the watcher compares to notice a change.
type Stamp = Option<(SystemTime, u64)>;

fn stamp(path: &Path) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

impl PolicyHandle {
    /// Starts a thread that checks `path` every `interval` and reloads it (as
    /// [`reload_from_path`](Self::reload_from_path)) once its modification time or size has
    /// changed and then held still for one more interval. A file that fails to load is
    /// logged at `warn` and the current policy stays in force; it is tried again after its
    /// next change. Replace the file atomically (write, then rename) where you can.
    ///
    /// The thread holds only a weak reference to the handle's policy and stops when the
    /// returned watcher is dropped.
    ///
    /// # Errors
    ///
    /// If the thread cannot be spawned.
    pub fn watch(
        &self,
        path: impl Into<PathBuf>,
        interval: Duration,
    ) -> std::io::Result<PolicyWatcher> {
        let path = path.into();
        let current = Arc::downgrade(&self.current);
        let (stop, stopped) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("zt-policy-watch".into())
            .spawn(move || poll_file(&current, &path, interval, &stopped))?;
        Ok(PolicyWatcher {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

fn poll_file(
    current: &Weak<ArcSwap<RulePolicy>>,
    path: &Path,
    interval: Duration,
    stopped: &mpsc::Receiver<()>,
) {
    let mut seen = stamp(path);
    let mut pending: Stamp = None;
    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
        let Some(current) = current.upgrade() else {
            return;
        };
        let now = stamp(path);
        if now.is_none() || now == seen {
            pending = None;
            continue;
        }

        // Wait until the file holds still for one interval, so that a file rewritten in
        // place is not read half-way.
        if now != pending {
            pending = now;
            continue;
        }

        // A failed reload is logged by `reload_from_path`; the stamp is kept so the same
        // bad file is not retried every tick.
        let handle = PolicyHandle { current };
        let _ = handle.reload_from_path(path);
        seen = now;
        pending = None;
    }
}
