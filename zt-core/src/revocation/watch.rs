//! A std thread that re-reads the revocation file when its modification time or size
//! changes.

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use super::{RevocationError, RevocationList};

/// Stops the watcher thread of [`RevocationList::watch`] when dropped.
#[derive(Debug)]
pub struct RevocationWatcher {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for RevocationWatcher {
    fn drop(&mut self) {
        // Dropping the sender wakes the thread, which then exits.
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// What the watcher compares to notice a change: modification time and size.
pub(super) type Stamp = Option<(SystemTime, u64)>;

pub(super) fn stamp(path: &Path) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

impl RevocationList {
    /// Starts a thread that checks the file every `interval` and [reloads](Self::reload) it
    /// when its modification time or size changed and then held still for one more
    /// interval. Replace the file atomically (write a new file, then rename it over the old
    /// one, as Kubernetes does for ConfigMap volumes): a file rewritten in place can be read
    /// while it is only partly written. A bad file is logged at `warn` and the
    /// previous list stays in force; a missing file (as during an atomic replace) is
    /// retried at the next tick. The thread holds only a weak reference to the list and
    /// stops when the returned watcher is dropped.
    ///
    /// # Errors
    ///
    /// [`RevocationError::NoFile`] for a list not made with [`from_path`](Self::from_path),
    /// [`RevocationError::Watch`] if the thread could not be spawned.
    pub fn watch(
        self: &Arc<Self>,
        interval: Duration,
    ) -> Result<RevocationWatcher, RevocationError> {
        let path = self.path.clone().ok_or(RevocationError::NoFile)?;
        let list = Arc::downgrade(self);
        let (stop, stopped) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("zt-revocation-watch".into())
            .spawn(move || poll_file(&list, &path, interval, &stopped))
            .map_err(RevocationError::Watch)?;
        Ok(RevocationWatcher {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

fn poll_file(
    list: &Weak<RevocationList>,
    path: &Path,
    interval: Duration,
    stopped: &mpsc::Receiver<()>,
) {
    let mut pending: Stamp = None;
    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
        let Some(list) = list.upgrade() else {
            return;
        };

        // Compared with the stamp taken when the file was last read, so that a change made
        // before this thread started is not missed.
        let current = stamp(path);
        if current.is_none() || current == list.loaded_stamp() {
            pending = None;
            continue;
        }

        // Wait until the file holds still for one interval, so that a writer that truncates
        // and rewrites in place is not read half-way.
        if current != pending {
            pending = current;
            continue;
        }

        // On failure `reload` logs the line at `warn` and records the stamp, so a bad file
        // is retried only after its next change.
        let _ = list.reload();
        pending = None;
    }
}
