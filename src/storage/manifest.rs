//! A table's manifest: the one file that says which Parquet files and which log make up the
//! table's committed state. Replacing it atomically is the commit point of every flush,
//! compaction, rewrite and load.

use super::fsutil::write_atomic;
use crate::error::{CipError, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const FILE: &str = "_manifest.json";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DataFile {
    pub name: String,
    pub rows: u64,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Manifest {
    /// Bumped on every commit; readers compare it to know whether their cache is current.
    pub version: u64,
    pub files: Vec<DataFile>,
    /// The current write-ahead log's file name.
    pub wal: String,
    /// The next number for AUTO_INCREMENT ids not yet used by a committed file.
    pub next_id: i64,
    /// The next sequence number for a data or log file name.
    pub next_file: u64,
    /// What the latest commits did to the rows (steps.rs); absent in manifests written
    /// before it was kept, which then tell nothing of their past.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<super::steps::Step>,
}

impl Manifest {
    pub fn empty() -> Self {
        Manifest {
            version: 1,
            files: vec![],
            wal: wal_name(0),
            next_id: 1,
            next_file: 1,
            steps: Vec::new(),
        }
    }

    pub fn rows(&self) -> u64 {
        self.files.iter().map(|f| f.rows).sum()
    }

    /// Takes the next file number.
    pub fn take_file_number(&mut self) -> u64 {
        let n = self.next_file;
        self.next_file += 1;
        n
    }
}

pub fn wal_name(n: u64) -> String {
    format!("wal-{n:08}.log")
}

pub fn part_name(n: u64) -> String {
    format!("part-{n:08}.parquet")
}

/// A file of the rows a commit removed, added or rewritten (steps.rs).
pub fn changes_name(n: u64) -> String {
    format!("changes-{n:08}.parquet")
}

pub fn read(dir: &Path) -> Result<Manifest> {
    let path = dir.join(FILE);
    let bytes =
        std::fs::read(&path).map_err(|e| CipError::io(format!("read {}", path.display()), e))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| CipError::Corrupt(format!("{}: {e}", path.display())))
}

/// What tells one manifest file from another without reading it. A commit never changes the
/// file in place: write_atomic renames a new file over it. A file created later with the
/// same inode (reused once the old one is gone) has a later mtime, provided the one we saw
/// was already older than SETTLED when we saw it, as git trusts its index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

/// How old a manifest file must be for its stamp to stand for its contents: well above the
/// coarseness of file timestamps.
const SETTLED: std::time::Duration = std::time::Duration::from_secs(2);

/// The stamp of the table's manifest file as it is now; None when the file is too recent for
/// its stamp to be trusted (read it instead), or missing.
pub fn stamp(dir: &Path) -> Result<Option<Stamp>> {
    use std::os::unix::fs::MetadataExt;
    let path = dir.join(FILE);
    let meta = match std::fs::metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(CipError::io(format!("stat {}", path.display()), e)),
    };
    let settled = meta
        .modified()
        .ok()
        .and_then(|m| std::time::SystemTime::now().duration_since(m).ok())
        .is_some_and(|age| age >= SETTLED);
    Ok(settled.then(|| Stamp {
        dev: meta.dev(),
        ino: meta.ino(),
        len: meta.size(),
        mtime: (meta.mtime(), meta.mtime_nsec()),
        ctime: (meta.ctime(), meta.ctime_nsec()),
    }))
}

pub fn write(dir: &Path, m: &Manifest) -> Result<()> {
    let bytes = serde_json::to_vec_pretty(m)
        .map_err(|e| CipError::Corrupt(format!("cannot encode manifest: {e}")))?;
    write_atomic(&dir.join(FILE), &bytes)
}
