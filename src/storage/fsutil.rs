//! Durable file operations: write-then-rename with fsync of the file and its directory, so a
//! crash leaves either the old file or the new one, never a half-written one.

use crate::error::{CipError, Result};
use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

pub fn fsync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| CipError::io(format!("fsync directory {}", dir.display()), e))
}

/// Writes `bytes` to `path` atomically (temp file, fsync, rename, fsync directory).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    {
        let mut f =
            File::create(&tmp).map_err(|e| CipError::io(format!("create {}", tmp.display()), e))?;
        f.write_all(bytes)
            .and_then(|_| f.sync_all())
            .map_err(|e| CipError::io(format!("write {}", tmp.display()), e))?;
    }
    publish(&tmp, path)
}

/// Renames a finished, fsync'd temp file into place and makes the rename durable.
pub fn publish(tmp: &Path, path: &Path) -> Result<()> {
    fs::rename(tmp, path)
        .map_err(|e| CipError::io(format!("rename {} to {}", tmp.display(), path.display()), e))?;
    match path.parent() {
        Some(dir) => fsync_dir(dir),
        None => Ok(()),
    }
}

pub fn remove_if_exists(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(CipError::io(format!("remove {}", path.display()), e)),
    }
}
