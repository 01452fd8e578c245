//! Readers' snapshots. A scan, or a transaction, pins the manifest version it reads; a file a
//! later commit replaced (flush, compaction, rewrite, erasure) is removed only when no pin of
//! an older version is left, so a reader never loses a file it was planned against, however
//! long it runs — and nothing is kept longer than the oldest reader needs.
//!
//! Pins count readers in this process; another process reading the same directory (a second
//! `cip sql`) is not protected against this one's rewrites.

use super::fsutil::remove_if_exists;
use super::table::{Snapshot, Table};
use crate::error::Result;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, MutexGuard};

/// The live pins of a table and the files waiting for them.
#[derive(Debug, Default)]
pub struct Retired {
    /// Manifest version → number of readers holding it.
    pins: BTreeMap<u64, usize>,
    /// Files no longer in the committed state, with the version whose commit dropped them:
    /// a reader of any older version may still read them.
    graveyard: Vec<(PathBuf, u64)>,
}

impl Retired {
    /// Removes every retired file no pinned version can still read.
    fn bury(&mut self) {
        let oldest = self.pins.keys().next().copied();
        self.graveyard.retain(|(path, dropped_at)| {
            if oldest.is_some_and(|v| v < *dropped_at) {
                return true;
            }
            // A file that cannot be removed now is tried again at the next bury.
            remove_if_exists(path).is_err()
        });
    }
}

/// A reader's hold on one committed version of a table; dropping it may free files.
pub struct Pin {
    table: Arc<Table>,
    version: u64,
}

impl std::fmt::Debug for Pin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pin({}@{})", self.table.name(), self.version)
    }
}

impl Pin {
    pub fn version(&self) -> u64 {
        self.version
    }
}

impl Drop for Pin {
    fn drop(&mut self) {
        let mut r = self.table.retired();
        if let Some(n) = r.pins.get_mut(&self.version) {
            *n -= 1;
            if *n == 0 {
                r.pins.remove(&self.version);
            }
        }
        r.bury();
    }
}

impl Table {
    pub(super) fn retired(&self) -> MutexGuard<'_, Retired> {
        self.retired.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The latest committed state, pinned until the returned `Pin` is dropped.
    pub fn pinned_snapshot(self: &Arc<Self>) -> Result<(Arc<Snapshot>, Pin)> {
        // Reading and pinning under the lock that burying takes: a commit between the two
        // could otherwise remove the files of the version just read.
        let mut r = self.retired();
        let snap = self.snapshot()?;
        let version = snap.manifest.version;
        *r.pins.entry(version).or_default() += 1;
        drop(r);
        Ok((
            snap,
            Pin {
                table: self.clone(),
                version,
            },
        ))
    }

    /// Files that the commit of `version` dropped: removed once no older reader is left.
    pub(super) fn retire(&self, files: Vec<PathBuf>, version: u64) {
        let mut r = self.retired();
        r.graveyard.extend(files.into_iter().map(|p| (p, version)));
        r.bury();
    }

    /// Removes every retired file (at shutdown, when no query can still be reading).
    pub fn bury_all(&self) {
        let mut r = self.retired();
        r.pins.clear();
        r.bury();
    }
}
