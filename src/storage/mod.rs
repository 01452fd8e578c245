//! Durable tables: one folder per table under the data directory, each holding Parquet parts,
//! a write-ahead log and a manifest that commits them (see README, "Storage").
//!
//! Storage knows tables only by the definitions it is given (def.rs): which tables exist, who
//! may read or write them and what an append means to the business are decided above it, in
//! crate::warehouse.

mod capped;
mod changes;
mod commit;
mod constraints;
mod created;
mod def;
mod detach;
mod dml;
mod flush;
pub mod fsutil;
pub mod lock;
mod log_batches;
pub mod manifest;
mod on_conflict;
pub mod parquet_io;
mod part_cache;
mod part_out;
mod part_pruning;
mod pin;
mod pinned_exec;
mod point_read;
pub mod provider;
mod replace;
mod rewrite;
mod rows;
mod steps;
mod table;
mod table_set;
mod txn;
mod txn_ddl;
mod txn_describe;
mod txn_index;
mod txn_reshape;
mod txn_rewrite;
mod wal;
mod widen;
mod write;

pub use commit::CommitFile;
pub use created::{Declared, DeclaredDefault};
pub use def::{ColumnDefault, Description, IndexColumn, IndexDef, Layout, TableDef};
pub use on_conflict::{ConflictSlot, MergeFn, OnConflict};
pub use pin::Pin;
pub use pinned_exec::PinnedExec;
pub use provider::StoredRows;
pub use replace::Replacement;
pub use rows::{check_unique as schema_check_unique, local_now_micros, row_keys};
pub use steps::Changes;
pub use table::{AppendHook, Snapshot, StoreOptions, Table, TableVersion};
use table_set::TableSet;
pub use txn::{Txn, TxnSlot, TxnView};
pub use txn_index::index_holder;
pub use txn_reshape::ColumnChange;
pub use write::{PartScope, Rewrite};

use crate::error::sqlstate;
use crate::error::{CipError, Result};
use datafusion::arrow::record_batch::RecordBatch;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The on-disk format this binary writes. Older directories are migrated on open; newer
/// ones are refused, since an older binary cannot know what changed.
pub const FORMAT_VERSION: u32 = 1;
const FORMAT_FILE: &str = "_cip.json";

#[derive(Debug, Serialize, Deserialize)]
struct FormatInfo {
    format_version: u32,
    created_by: String,
}

pub struct Store {
    pub root: PathBuf,
    /// Every table, shared with the transactions that change the set (table_set.rs).
    set: Arc<TableSet>,
    /// The tables this open created (the layer above seeds them).
    created: Vec<&'static str>,
}

impl Store {
    /// Opens (creating if needed) the data directory with the tables `defs` define.
    pub fn open(root: &Path, opts: StoreOptions, defs: Vec<TableDef>) -> Result<Self> {
        std::fs::create_dir_all(root)
            .map_err(|e| CipError::io(format!("create data directory {}", root.display()), e))?;
        check_format(root)?;
        let recovered = commit::recover(root)?;
        if recovered > 0 {
            tracing::info!("finished {recovered} transaction commit(s) a crash interrupted");
        }
        let mut tables = BTreeMap::new();
        let mut created = Vec::new();
        let mut run_time = created::load(root)?;
        detach::restore_all(root, &mut run_time)?;
        let mut dirs: Vec<(TableDef, PathBuf)> = defs
            .into_iter()
            .map(|d| {
                let dir = root.join(d.name);
                (d, dir)
            })
            .collect();
        for t in &run_time {
            if let Some(from) = &t.moved_from {
                let (from, to) = (root.join(from), t.dir(root));
                if from.exists() && !to.exists() {
                    std::fs::rename(&from, &to).map_err(|e| {
                        CipError::io(format!("finish renaming {}", from.display()), e)
                    })?;
                }
            }
            dirs.push((t.def()?, t.dir(root)));
        }
        let used: Vec<PathBuf> = dirs.iter().map(|(_, d)| d.clone()).collect();
        table_set::sweep_unused(root, &used)?;
        for (def, dir) in dirs {
            let name = def.name;
            let table = Arc::new(Table::new(def, dir, opts.clone()));
            if init_table(&table)? {
                created.push(name);
            }
            tables.insert(name, table);
        }
        for table in tables.values() {
            let parents = table
                .def
                .references
                .iter()
                .filter_map(|(column, parent)| tables.get(parent).map(|p| (*column, p.clone())))
                .collect();
            let _ = table.parents.set(parents);
        }
        Ok(Store {
            root: root.to_path_buf(),
            set: Arc::new(TableSet::new(root, opts, tables, run_time)),
            created,
        })
    }

    /// Moves whenever a table is created, dropped, renamed or given columns.
    pub fn generation(&self) -> u64 {
        self.set.generation()
    }

    /// Whether `name` was created at run time (and so may be dropped).
    pub fn created_at_run_time(&self, name: &str) -> bool {
        self.set.created_at_run_time(name)
    }

    /// Creates an empty, durable table in a transaction of its own; 42P07 if the name is
    /// taken. (Sessions run their DDL in their own transactions: Txn::create_table.)
    pub fn create_table(
        &self,
        name: &str,
        schema: &datafusion::arrow::datatypes::Schema,
        declared: &Declared,
    ) -> Result<Arc<Table>> {
        let mut txn = self.begin();
        let table = txn.create_table(name, schema, declared)?;
        txn.commit()?;
        Ok(table)
    }

    /// Adds nullable columns to a table created at run time, in a transaction of its own.
    pub fn add_columns(
        &self,
        name: &str,
        columns: &[datafusion::arrow::datatypes::Field],
    ) -> Result<Arc<Table>> {
        let mut txn = self.begin();
        let table = txn.add_columns(name, columns)?;
        txn.commit()?;
        Ok(table)
    }

    /// Whether this open created the table (it did not exist before).
    pub fn created(&self, name: &str) -> bool {
        self.created.contains(&name)
    }

    pub fn table(&self, name: &str) -> Result<Arc<Table>> {
        let tables = self.set.read();
        tables.get(name).cloned().ok_or_else(|| {
            CipError::invalid(
                sqlstate::UNDEFINED_TABLE,
                format!(
                    "no table \"{name}\"; the tables are: {}",
                    tables.keys().copied().collect::<Vec<_>>().join(", ")
                ),
            )
        })
    }

    pub fn tables(&self) -> Vec<Arc<Table>> {
        self.set.read().values().cloned().collect()
    }

    /// A new transaction on this store (see txn.rs); nothing is read until it is used.
    pub fn begin(&self) -> Txn {
        Txn::begin_on(&self.set)
    }

    /// Appends to several tables as one transaction: the session's block when `slot` holds
    /// one (the rows commit with it, and the commit fails with 40001 if another committed to
    /// these tables after the block read them), else a transaction of their own, committed
    /// here (callers hold their own exclusive lock across their reads and this).
    pub fn append_all(&self, slot: Option<&TxnSlot>, writes: &[(&str, RecordBatch)]) -> Result<()> {
        if let Some(slot) = slot {
            if let Some(txn) = slot.lock().as_mut() {
                for (table, rows) in writes {
                    txn.append_guarded(&self.table(table)?, std::slice::from_ref(rows))?;
                }
                return Ok(());
            }
        }
        let mut txn = self.begin();
        for (table, rows) in writes {
            txn.append(&self.table(table)?, std::slice::from_ref(rows))?;
        }
        txn.commit()
    }

    /// Moves every table's log into Parquet, so other tools see every row.
    pub fn checkpoint(&self) -> Result<()> {
        for t in self.tables() {
            t.flush()?;
        }
        Ok(())
    }

    /// Checkpoints and removes files kept for in-flight queries: for a clean shutdown.
    pub fn shutdown(&self) -> Result<()> {
        self.checkpoint()?;
        for t in self.tables() {
            t.bury_all();
        }
        Ok(())
    }
}

/// Whether a folder holds nothing of ours or anyone's data: only dot files and a README.
pub fn holds_no_data(dir: &Path) -> Result<bool> {
    let entries = match std::fs::read_dir(dir) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(true),
        Err(e) => return Err(CipError::io(format!("list {}", dir.display()), e)),
    };
    Ok(entries
        .filter_map(|e| e.ok())
        .all(|e| e.file_name().to_string_lossy().starts_with('.') || e.file_name() == "README.md"))
}

fn check_format(root: &Path) -> Result<()> {
    let path = root.join(FORMAT_FILE);
    let info = match std::fs::read(&path) {
        Ok(bytes) => {
            serde_json::from_slice::<FormatInfo>(&bytes).map_err(|e| CipError::DataDir {
                path: root.to_path_buf(),
                message: format!("{FORMAT_FILE} is not readable ({e})"),
            })?
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let is_empty = holds_no_data(root)?;
            if !is_empty {
                return Err(CipError::DataDir {
                    path: root.to_path_buf(),
                    message: format!(
                        "has files but no {FORMAT_FILE}: it is not a cip data directory \
                         (use an empty folder, or `cip load` to import files)"
                    ),
                });
            }
            return write_format(root);
        }
        Err(e) => return Err(CipError::io(format!("read {}", path.display()), e)),
    };
    match info.format_version {
        v if v == FORMAT_VERSION => Ok(()),
        v if v > FORMAT_VERSION => Err(CipError::DataDir {
            path: root.to_path_buf(),
            message: format!(
                "was written by a newer cip (format {v}, created by {}); this binary reads \
                 format {FORMAT_VERSION} and older. Upgrade cip.",
                info.created_by
            ),
        }),
        // Format 0 never shipped; there is nothing older to migrate yet. New versions add
        // their migration steps here, each moving the directory up by one.
        v => Err(CipError::DataDir {
            path: root.to_path_buf(),
            message: format!("format {v} is unknown"),
        }),
    }
}

/// Marks `root` as a data directory of this format (the generator does it last).
pub fn write_format(root: &Path) -> Result<()> {
    let info = FormatInfo {
        format_version: FORMAT_VERSION,
        created_by: format!("cip {}", env!("CARGO_PKG_VERSION")),
    };
    let bytes = serde_json::to_vec_pretty(&info)
        .map_err(|e| CipError::Corrupt(format!("cannot encode {FORMAT_FILE}: {e}")))?;
    fsutil::write_atomic(&root.join(FORMAT_FILE), &bytes)
}

/// Creates an empty table on first start, and removes what a crash left behind: temp files
/// and parts or logs that no committed manifest names. True when it was created.
fn init_table(table: &Table) -> Result<bool> {
    std::fs::create_dir_all(&table.dir)
        .map_err(|e| CipError::io(format!("create {}", table.dir.display()), e))?;
    let _g = table.lock_for_write()?;
    let (m, created) = match manifest::read(&table.dir) {
        Ok(m) => (m, false),
        Err(CipError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            let m = manifest::Manifest::empty();
            manifest::write(&table.dir, &m)?;
            (m, true)
        }
        Err(e) => return Err(e),
    };
    sweep(&table.dir, &m)?;
    Ok(created)
}

/// Removes every data or log file of a table that `m` does not name, leftover temp files and
/// the staged files of transactions whose process is gone. Only called at open, under the
/// table's write lock: every writer writes under it, so nothing unreferenced is in progress.
fn sweep(dir: &Path, m: &manifest::Manifest) -> Result<()> {
    for path in unreferenced(dir, m)? {
        fsutil::remove_if_exists(&path)?;
    }
    for path in txn::orphans(dir, m)? {
        fsutil::remove_if_exists(&path)?;
    }
    fsutil::fsync_dir(dir)
}

/// The data, log and temp files of a table that `m` does not name (a transaction's staged
/// files are its own until it ends and are not listed).
pub(crate) fn unreferenced(dir: &Path, m: &manifest::Manifest) -> Result<Vec<PathBuf>> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| CipError::io(format!("list {}", dir.display()), e))?;
    Ok(entries
        .filter_map(|e| e.ok())
        .filter(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let ours = name.ends_with(".tmp")
                || name.starts_with("part-")
                || name.starts_with("wal-")
                || name.starts_with("changes-");
            let live = steps::names(m, &name);
            ours && !live
        })
        .map(|e| e.path())
        .collect())
}

#[cfg(test)]
mod capped_tests;
#[cfg(test)]
mod part_pruning_tests;
#[cfg(test)]
mod point_read_tests;
#[cfg(test)]
mod replace_tests;
#[cfg(test)]
mod stamp_tests;
#[cfg(test)]
mod steps_tests;
#[cfg(test)]
mod tests;
