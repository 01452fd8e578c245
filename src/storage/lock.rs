//! Cross-process write lock of a table: an advisory lock on `<table>/_lock`.
//!
//! Every write (append, flush, load, rewrite) holds it while it reads the committed state and
//! commits the next one, so a `cip load` beside a running `cip serve` serialises with it
//! instead of losing either's rows. Readers take no lock: they read the manifest, and the
//! manifest only ever points at complete files.

use crate::error::{CipError, Result};
use std::fs::{File, OpenOptions};
use std::path::Path;

pub struct TableLock {
    file: File,
}

impl TableLock {
    pub fn acquire(dir: &Path) -> Result<Self> {
        Self::acquire_file(&dir.join("_lock"))
    }

    /// The same lock on another file: for work that spans several writes (an upgrade run
    /// reads the history, then appends to it) and must not interleave with its own kind.
    pub fn acquire_file(path: &Path) -> Result<Self> {
        let path = path.to_path_buf();
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| CipError::io(format!("open {}", path.display()), e))?;
        file.lock()
            .map_err(|e| CipError::io(format!("lock {}", path.display()), e))?;
        Ok(TableLock { file })
    }
}

impl Drop for TableLock {
    fn drop(&mut self) {
        // Closing the file releases the lock too; unlocking first makes the order explicit.
        let _ = self.file.unlock();
    }
}
