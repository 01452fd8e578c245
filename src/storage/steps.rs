//! What a table's latest commits did to its rows, kept in its manifest, so that a reader
//! holding something derived from the rows at an earlier version can learn which rows were
//! added or removed since (`Table::changes_since`) instead of starting over: a flush or
//! compaction moved rows without changing them; an append, a load or a transaction's insert
//! added rows. The log a commit replaced is kept with its step, since rows appended to it
//! after the reader's version were added too. An update or delete forgets the steps before
//! it, so no kept file holds the rows it erased; what it did is told from memory by the
//! process that made it (changes.rs). Storage says which rows; what they mean is the
//! reader's business.

use super::manifest::Manifest;
use super::parquet_io::read_part;
use super::table::{Table, TableVersion};
use super::wal;
use crate::error::Result;
use datafusion::arrow::array::RecordBatch;
use serde::{Deserialize, Serialize};

/// Commits remembered per table: enough for a reader a few flushes behind (a flush is two
/// commits with its compaction), few enough that the files they keep stay small.
pub const KEPT: usize = 16;

/// One commit: the manifest version it made and what it did to the rows.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Step {
    pub version: u64,
    /// The log this commit replaced, when it held rows; None when the log goes on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
    pub rows: Rows,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Rows {
    /// The same rows as before (a flush or a compaction moved them).
    Same,
    /// Rows added, in these files (parts of the table).
    Added { files: Vec<String> },
    /// The commit does not say: it removed or changed rows (the process that made it may
    /// tell, changes.rs). It is the first step kept, since the files earlier steps kept may
    /// hold the rows it removed (see `forget`).
    Unlisted,
}

impl Step {
    fn files(&self) -> impl Iterator<Item = &str> {
        let added: &[String] = match &self.rows {
            Rows::Added { files } => files,
            _ => &[],
        };
        self.log.iter().chain(added).map(String::as_str)
    }
}

/// Records the commit that made `m` (its version already counted) and forgets the oldest
/// steps beyond KEPT; returns the files only the forgotten steps kept.
pub fn record(m: &mut Manifest, log: Option<String>, rows: Rows) -> Vec<String> {
    m.steps.push(Step {
        version: m.version,
        log,
        rows,
    });
    let excess = m.steps.len().saturating_sub(KEPT);
    let forgotten: Vec<Step> = m.steps.drain(..excess).collect();
    only_kept_by(m, &forgotten)
}

/// Forgets every step of `m`, returning the files only they kept: a commit that removes or
/// changes rows keeps nothing that may hold them (an old log, a part merged away), so erased
/// rows leave the disk with the files the commit replaced.
pub fn forget(m: &mut Manifest) -> Vec<String> {
    let forgotten = std::mem::take(&mut m.steps);
    only_kept_by(m, &forgotten)
}

/// The files `forgotten` kept that `m` does not name.
fn only_kept_by(m: &Manifest, forgotten: &[Step]) -> Vec<String> {
    let mut files: Vec<String> = forgotten
        .iter()
        .flat_map(|s| s.files())
        .filter(|f| !names(m, f))
        .map(str::to_string)
        .collect();
    files.sort();
    files.dedup();
    files
}

/// The files `m`'s steps keep.
pub fn kept(m: &Manifest) -> impl Iterator<Item = &str> {
    m.steps.iter().flat_map(|s| s.files())
}

/// Whether `m` needs `file`: its log, one of its parts, or a file one of its steps keeps.
pub fn names(m: &Manifest, file: &str) -> bool {
    m.wal == file || m.files.iter().any(|f| f.name == file) || kept(m).any(|f| f == file)
}

/// What changed in a table since a version: the rows added, and the rows removed (the old
/// images of rows deleted or changed; the new images of changed rows are among the added).
#[derive(Debug, Default, PartialEq)]
pub struct Changes {
    pub added: Vec<RecordBatch>,
    pub removed: Vec<RecordBatch>,
}

impl Table {
    /// The rows added and removed since `since`, when the kept steps tell: appends, a
    /// transaction's or a load's new parts, a flush or compaction (which only move rows,
    /// across a restart too), and this process's own updates and deletes (changes.rs). None
    /// when they do not (a version older than the kept steps, a rewrite this object did not
    /// make or could not tell, a kept file gone): a caller keeping something derived from the
    /// rows can follow these rows alone, or knows to start over.
    pub fn changes_since(&self, since: TableVersion) -> Result<Option<Changes>> {
        let snap = self.snapshot()?;
        let m = &snap.manifest;
        if m.version < since.manifest {
            return Ok(None);
        }
        let steps: Vec<&Step> = m
            .steps
            .iter()
            .filter(|s| s.version > since.manifest)
            .collect();
        if steps.len() as u64 != m.version - since.manifest {
            return Ok(None);
        }
        let mut out = Changes::default();
        let mut offset = since.log_bytes;
        for step in steps {
            if let Some(log) = &step.log {
                match self.log_rows(log, offset)? {
                    Some(rows) => out.added.extend(rows),
                    None => return Ok(None),
                }
                offset = 0;
            }
            match &step.rows {
                Rows::Same => {}
                Rows::Unlisted => {
                    let Some(diff) = self.rewrites.of(step.version, offset) else {
                        return Ok(None);
                    };
                    out.added.extend(diff.added);
                    out.removed.extend(diff.removed);
                    // A rewrite starts a new log.
                    offset = 0;
                }
                Rows::Added { files } => {
                    for f in files {
                        let path = self.path_of(f);
                        if !path.exists() {
                            return Ok(None);
                        }
                        for b in read_part(&path, &self.def.schema)? {
                            out.added.push(b?);
                        }
                    }
                }
            }
        }
        if snap.wal_end < offset {
            return Ok(None);
        }
        if snap.wal_end > offset {
            let read = wal::read_from(&self.path_of(&m.wal), offset, &self.def.schema);
            // A commit meanwhile may have replaced the log: then its steps say more, and the
            // next call reads them.
            if super::manifest::read(&self.dir)?.version != m.version {
                return Ok(None);
            }
            out.added.extend(read?.batches);
        }
        Ok(Some(out))
    }

    /// The rows of a kept log past `offset`; None when the file is gone.
    fn log_rows(&self, log: &str, offset: u64) -> Result<Option<Vec<RecordBatch>>> {
        let path = self.path_of(log);
        let len = match std::fs::metadata(&path) {
            Ok(meta) => meta.len(),
            Err(_) => return Ok(None),
        };
        if len < offset {
            return Ok(None);
        }
        Ok(Some(
            wal::read_from(&path, offset, &self.def.schema)?.batches,
        ))
    }
}
