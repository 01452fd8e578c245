//! Committing a transaction: all its tables or none, also across a crash at any moment.
//!
//! Under every touched table's write lock (taken in name order, so two commits cannot
//! deadlock), each table's next manifest is computed and checked. One table: its manifest
//! replacement is the commit point. Several, or tables and files (the `_tables.json` of the
//! transaction's table DDL, table_set.rs, and what the layer above commits with it: the saved
//! views a block changed): the list of next manifests and those files' contents is first
//! written to `_txn/<id>.json` (fsync'd) — that write is the commit point —
//! then each manifest and file is replaced and the record removed. Opening the store finishes
//! any record it finds (`recover`), so a crash between the record and the last write still
//! commits all.

use super::fsutil::{fsync_dir, remove_if_exists, write_atomic};
use super::manifest::{self, Manifest};
use super::rows::check_unique;
use super::steps::{self, Rows};
use super::table::Table;
use super::txn::Txn;
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;

const DIR: &str = "_txn";

#[derive(Serialize, Deserialize)]
struct Record {
    /// (table folder, the manifest it commits to).
    tables: Vec<(String, Manifest)>,
    /// (path under the data directory, its whole new content): files committed with the
    /// tables (text: the layer above commits JSON).
    #[serde(default)]
    files: Vec<(String, String)>,
}

/// A file that commits with a transaction's rows: its path and whole new content.
pub type CommitFile = (PathBuf, Vec<u8>);

impl Txn {
    /// Commits every write of the transaction, or none (40001 when a table it rewrote was
    /// changed by someone else since its snapshot; 23505 when a key it added was taken; 42P07
    /// or 40001 when its table DDL meets another's). A failed commit keeps nothing.
    pub fn commit(self) -> Result<()> {
        self.commit_with(None)
    }

    /// `commit`, and `file` (under the data directory) is replaced by the same commit: after
    /// a crash at any moment both are there or neither.
    pub fn commit_with(mut self, file: Option<CommitFile>) -> Result<()> {
        self.follow_committed_ddl()?;
        // The table DDL's new `_tables.json` commits with the rows, under the set's lock.
        let set = self.set.clone();
        let publication = match &set {
            Some(set) if !self.ddl.is_empty() => Some(set.prepare(&self.ddl)?),
            _ => None,
        };
        let tables_file = publication.as_ref().map(|p| p.file()).transpose()?;
        let mut files = Vec::new();
        for (path, bytes) in file.into_iter().chain(tables_file) {
            files.push((self.relative(&path)?, text(bytes)?));
        }
        self.write_all(&files)?;
        if let Some(p) = publication {
            self.made_dirs.retain(|d| !p.uses(d));
            p.publish();
        }
        Ok(())
    }

    /// A table this one wrote that another transaction altered (columns, indexes) since,
    /// keeping its name: the work continues on the table as committed now, as the block's
    /// next statement would have (Txn::follow_alter), instead of failing with 40001.
    fn follow_committed_ddl(&mut self) -> Result<()> {
        let Some(set) = self.set.clone() else {
            return Ok(());
        };
        let moved: Vec<Arc<Table>> = {
            let now = set.read();
            // Only tables the block wrote: the others it merely pinned are not committed.
            let written = self.work.values().filter(|w| w.changed());
            written
                .filter(|w| w.table.stale.load(Ordering::SeqCst))
                .filter_map(|w| Some((w, now.get(w.table.name())?)))
                .filter(|(w, t)| t.lineage == w.table.lineage && !Arc::ptr_eq(t, &w.table))
                .map(|(_, t)| t.clone())
                .collect()
        };
        for table in &moved {
            self.follow_alter(table)?;
        }
        Ok(())
    }

    /// Writes the rows and `files` (path under the data directory, content), all or none.
    fn write_all(&mut self, files: &[(String, String)]) -> Result<()> {
        let names: Vec<&'static str> = self
            .work
            .iter()
            .filter(|(_, w)| w.changed())
            .map(|(n, _)| *n)
            .collect();
        let tables: Vec<_> = names.iter().map(|n| self.work[n].table.clone()).collect();
        let _guards = tables
            .iter()
            .map(|t| t.lock_for_write())
            .collect::<Result<Vec<_>>>()?;
        let pending = self.pending_keys()?;
        let mut plans: Vec<(usize, Manifest, Vec<PathBuf>)> = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let table = &tables[i];
            let w = self.work[name].clone();
            let current = w.stored_as.as_ref().unwrap_or(table).snapshot_for_write()?;
            let mut next = current.manifest.clone();
            let mut replaced = Vec::new();
            let base = &w.base;
            let moved = current.manifest.version != base.manifest.version
                || current.wal_end != base.wal_end;
            if (w.rewritten || w.guarded) && moved {
                return Err(CipError::invalid(
                    sqlstate::SERIALIZATION_FAILURE,
                    format!(
                        "could not serialize access due to concurrent update of {}: \
                         another transaction changed it after this one read it; retry",
                        table.name()
                    ),
                ));
            }
            // A parent row the block's rows name may have been deleted since they were
            // checked: checked again against the parents as committed now.
            for b in &w.appended {
                table.check_constraints_with(b, &|parent, key| pending.contains(parent, key))?;
            }
            let (log, rows) = if w.rewritten {
                let mut files = w.files.clone();
                // The rows the rewrite left, then those appended after it.
                let rows: Vec<_> = w.log.iter().chain(w.appended.iter()).cloned().collect();
                if rows.iter().any(|b| b.num_rows() > 0) {
                    files.push(self.stage(table, &rows)?);
                }
                replaced.extend(
                    base.manifest
                        .files
                        .iter()
                        .filter(|f| !files.iter().any(|g| g.name == f.name))
                        .map(|f| table.path_of(&f.name)),
                );
                // Rows removed or changed: nothing earlier is kept (steps.rs), so erased rows
                // leave the disk with the files replaced.
                let forgotten = steps::forget(&mut next);
                replaced.extend(forgotten.iter().map(|f| table.path_of(f)));
                replaced.push(table.path_of(&next.wal));
                next.wal = manifest::wal_name(next.take_file_number());
                next.files = files;
                (None, Rows::Unlisted)
            } else {
                if table.def.unique {
                    let existing = table.existing_keys(&current)?;
                    for b in &w.appended {
                        check_unique(&table.def, b, &|k| existing.contains(k))?;
                    }
                }
                let file = self.stage(table, &w.appended)?;
                let files = vec![file.name.clone()];
                next.files.push(file);
                (None, Rows::Added { files })
            };
            next.next_id = next.next_id.max(w.next_id).max(current.next_id);
            next.version += 1;
            let forgotten = steps::record(&mut next, log, rows);
            replaced.extend(forgotten.iter().map(|f| table.path_of(f)));
            plans.push((i, next, replaced));
        }
        let record = if plans.len() + files.len() > 1 {
            let record = Record {
                tables: plans
                    .iter()
                    .map(|(i, m, _)| (folder(&tables[*i].dir), m.clone()))
                    .collect(),
                files: files.to_vec(),
            };
            Some(write_record(&self.root, &self.id, &record)?)
        } else {
            None
        };
        // From here on the transaction is committed: its staged files are the tables' now.
        for (i, m, _) in &plans {
            let named = m.files.iter().map(|f| f.name.as_str());
            for f in named.chain(steps::kept(m)) {
                self.kept.insert(tables[*i].path_of(f));
            }
        }
        for (i, m, _) in &plans {
            manifest::write(&tables[*i].dir, m)?;
        }
        for (path, content) in files {
            write_atomic(&self.root.join(path), content.as_bytes())?;
        }
        if let Some(path) = record {
            remove_if_exists(&path)?;
        }
        for (i, m, replaced) in plans {
            let table = &tables[i];
            let w = &self.work[names[i]];
            if let (Some(hook), true) = (&table.opts.on_append, w.added > 0) {
                (hook.0)(table.name(), w.added);
            }
            if w.rewritten {
                // The log the commit replaced is the base's: it fails if anyone wrote since.
                let mut diff = w.diff.clone();
                diff.add(&w.appended);
                table.rewrites.record(m.version, Some(w.base.wal_end), diff);
                if let Some(hook) = &table.opts.on_rewrite {
                    (hook.0)(table.name(), 0);
                }
            }
            table.retire(replaced, m.version);
            table.snapshot()?;
            if let Err(e) = table.compact_locked() {
                tracing::warn!("{}: compaction after commit failed: {e}", table.name());
            }
        }
        Ok(())
    }

    /// `path` under the data directory, as a record names it (a record is read on another
    /// open, perhaps of the directory moved elsewhere).
    fn relative(&self, path: &Path) -> Result<String> {
        path.strip_prefix(&self.root)
            .map(|p| p.to_string_lossy().into_owned())
            .map_err(|_| {
                CipError::Corrupt(format!(
                    "{} is outside the data directory and cannot commit with it",
                    path.display()
                ))
            })
    }
}

fn text(bytes: Vec<u8>) -> Result<String> {
    String::from_utf8(bytes)
        .map_err(|_| CipError::Corrupt("a file committed with a transaction is not text".into()))
}

fn folder(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn write_record(root: &Path, id: &str, record: &Record) -> Result<PathBuf> {
    let dir = root.join(DIR);
    std::fs::create_dir_all(&dir)
        .map_err(|e| CipError::io(format!("create {}", dir.display()), e))?;
    let bytes = serde_json::to_vec(record)
        .map_err(|e| CipError::Corrupt(format!("cannot encode a commit record: {e}")))?;
    let path = dir.join(format!("{id}.json"));
    write_atomic(&path, &bytes)?;
    Ok(path)
}

/// Finishes the commits a crash interrupted: every record names the manifests its
/// transaction committed to; a table still at an older version gets its manifest now.
/// Runs at open, before anything sweeps unreferenced files.
pub(super) fn recover(root: &Path) -> Result<usize> {
    let dir = root.join(DIR);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(CipError::io(format!("list {}", dir.display()), e)),
    };
    let mut finished = 0;
    for entry in entries.filter_map(|e| e.ok()) {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "json") {
            // A record's temp file: the commit never reached its commit point.
            remove_if_exists(&path)?;
            continue;
        }
        let bytes = std::fs::read(&path)
            .map_err(|e| CipError::io(format!("read {}", path.display()), e))?;
        let record: Record = serde_json::from_slice(&bytes)
            .map_err(|e| CipError::Corrupt(format!("{}: {e}", path.display())))?;
        for (table, m) in &record.tables {
            let tdir = root.join(table);
            let current = manifest::read(&tdir)?;
            if current.version < m.version {
                manifest::write(&tdir, m)?;
            }
        }
        for (path, content) in &record.files {
            write_atomic(&root.join(path), content.as_bytes())?;
        }
        remove_if_exists(&path)?;
        finished += 1;
    }
    fsync_dir(&dir)?;
    Ok(finished)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A crash after the commit point: opening writes the files the record carries.
    #[test]
    fn recovery_writes_the_files_a_record_carries() {
        let dir = tempfile::tempdir().expect("tempdir");
        let record = Record {
            tables: vec![],
            files: vec![("_saved.json".into(), "{\"v\": 2}".into())],
        };
        std::fs::write(dir.path().join("_saved.json"), "{\"v\": 1}").expect("old");
        write_record(dir.path(), "1-1", &record).expect("record");
        assert_eq!(recover(dir.path()).expect("recover"), 1);
        let now = std::fs::read_to_string(dir.path().join("_saved.json")).expect("read");
        assert_eq!(now, "{\"v\": 2}");
        assert_eq!(recover(dir.path()).expect("again"), 0, "the record is gone");
    }

    #[test]
    fn a_file_commits_alone_and_refuses_paths_outside() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("_saved.json");
        Txn::begin(dir.path())
            .commit_with(Some((file.clone(), b"[1]".to_vec())))
            .expect("commit");
        assert_eq!(std::fs::read(&file).expect("read"), b"[1]");
        let outside = std::env::temp_dir().join("elsewhere.json");
        let e = Txn::begin(dir.path())
            .commit_with(Some((outside, b"[]".to_vec())))
            .expect_err("outside");
        assert!(e.to_string().contains("outside the data directory"), "{e}");
    }
}
