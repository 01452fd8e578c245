//! Transactions: writes that become visible to others, and durable, only at commit — all of
//! them or none, across tables (commit.rs).
//!
//! A transaction pins the committed version of every table at its first read or write and
//! reads those versions to its end (snapshot isolation), plus its own writes. Its appended
//! rows wait in memory; an UPDATE or DELETE writes the changed parts as staged files
//! (`txn-<pid>-<n>-…parquet`), which only the commit names in a manifest. A transaction that
//! rewrote a table fails to commit with 40001 if anyone committed to that table after its
//! snapshot; one that only appended commits beside concurrent writers (keys are checked again).

use super::manifest::DataFile;
use super::pin::Pin;
use super::rows::{check_unique, row_keys};
use super::table::{Snapshot, Table};
use super::table_set::{TableChange, TableSet};
use crate::error::Result;
use datafusion::arrow::record_batch::RecordBatch;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

static NEXT_TXN: AtomicU64 = AtomicU64::new(1);

/// A session's open transaction, if any: the storage layer's providers look it up in the
/// session's configuration, so a statement inside a block reads and writes through it.
#[derive(Debug, Default)]
pub struct TxnSlot(Mutex<Option<Txn>>);

impl TxnSlot {
    pub fn lock(&self) -> MutexGuard<'_, Option<Txn>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One table as the transaction sees it.
#[derive(Clone)]
pub(super) struct Work {
    pub(super) table: Arc<Table>,
    /// The committed version read first, and its pin.
    pub(super) base: Arc<Snapshot>,
    pub(super) pin: Arc<Pin>,
    /// Parquet parts of this transaction's version of the table.
    pub(super) files: Vec<DataFile>,
    /// Rows of this version not in `files`: the base's log, or everything a rewrite left.
    pub(super) log: Vec<RecordBatch>,
    /// Rows this transaction appended since its last rewrite of the table (a rewrite folds
    /// them into `log`).
    pub(super) appended: Vec<RecordBatch>,
    pub(super) rewritten: bool,
    pub(super) next_id: i64,
    /// Rows appended, for the append hook at commit.
    pub(super) added: u64,
    /// Written by a writer that decided from what it read of this table (cip's own functions
    /// in a block): the commit fails with 40001 if anyone committed to it since the snapshot.
    pub(super) guarded: bool,
    /// The committed object whose shape the stored rows have, when this transaction rewrote
    /// them into another (txn_reshape.rs): the commit reads the committed state through it.
    pub(super) stored_as: Option<Arc<Table>>,
    /// What the block's rewrites did, with the rows it appended before them (changes.rs).
    pub(super) diff: super::changes::Diff,
}

impl Work {
    pub(super) fn changed(&self) -> bool {
        self.rewritten || self.appended.iter().any(|b| b.num_rows() > 0)
    }

    /// The transaction's version of the table is now a rewrite's `files` and `log`.
    pub(super) fn rewritten_as(&mut self, files: Vec<DataFile>, log: Vec<RecordBatch>) {
        self.files = files;
        self.log = log;
        self.appended.clear();
        self.rewritten = true;
    }
}

/// The files a refused rewrite staged: removed, as nothing will commit them.
pub(super) fn discard_staged(staged: &[PathBuf]) {
    for p in staged {
        let _ = std::fs::remove_file(p);
    }
}

pub struct Txn {
    pub(super) id: String,
    pub(super) root: PathBuf,
    /// The store's tables, which the transaction's table DDL changes at commit (None for a
    /// transaction on a bare directory, which cannot run DDL).
    pub(super) set: Option<Arc<TableSet>>,
    pub(super) work: BTreeMap<&'static str, Work>,
    /// Table DDL, in order (txn_ddl.rs): the set as this transaction sees it until commit.
    pub(super) ddl: Vec<TableChange>,
    /// Folders made for tables this transaction created; those its commit did not keep are
    /// removed at its end.
    pub(super) made_dirs: Vec<PathBuf>,
    /// Whether every table was pinned at once (`pin_all`).
    pinned: bool,
    /// Every file this transaction wrote; those its commit did not name are removed at its end.
    pub(super) staged: Vec<PathBuf>,
    pub(super) kept: HashSet<PathBuf>,
    pub(super) next_file: u64,
    /// Each savepoint's work and how many table changes there were when it was taken.
    pub(super) savepoints: Vec<(BTreeMap<&'static str, Work>, usize)>,
}

impl std::fmt::Debug for Txn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Txn({})", self.id)
    }
}

/// The keys a transaction appended, by table.
pub(super) struct PendingKeys(BTreeMap<&'static str, HashSet<String>>);

impl PendingKeys {
    pub(super) fn contains(&self, table: &str, key: &str) -> bool {
        self.0.get(table).is_some_and(|keys| keys.contains(key))
    }
}

/// The parts and rows a scan inside a transaction reads.
pub struct TxnView {
    pub parts: Vec<PathBuf>,
    pub rows: Vec<RecordBatch>,
    pub pin: Arc<Pin>,
}

/// A new transaction id: this process's pid (so a dead process's staged files are known,
/// `orphans`) and a counter.
pub(super) fn new_id() -> String {
    let n = NEXT_TXN.fetch_add(1, Ordering::Relaxed);
    format!("{}-{n}", std::process::id())
}

impl Txn {
    pub fn begin(root: &Path) -> Txn {
        Txn {
            id: new_id(),
            root: root.to_path_buf(),
            set: None,
            work: BTreeMap::new(),
            ddl: Vec::new(),
            made_dirs: Vec::new(),
            pinned: false,
            staged: Vec::new(),
            kept: HashSet::new(),
            next_file: 1,
            savepoints: Vec::new(),
        }
    }

    /// A transaction on the store's tables: it may also create, drop, rename and alter them.
    pub(super) fn begin_on(set: &Arc<TableSet>) -> Txn {
        let mut txn = Txn::begin(&set.root);
        txn.set = Some(set.clone());
        txn
    }

    /// Pins every table as committed now, once: a block's first statement does, so the block
    /// reads the whole warehouse as of one moment (a table it had not touched yet would
    /// otherwise be read as of its first use).
    pub fn pin_all(&mut self) -> Result<()> {
        if std::mem::replace(&mut self.pinned, true) {
            return Ok(());
        }
        let Some(set) = self.set.clone() else {
            return Ok(());
        };
        let tables: Vec<Arc<Table>> = set.read().values().cloned().collect();
        for table in &tables {
            self.work(table)?;
        }
        Ok(())
    }

    /// The table as this transaction sees it, pinned at first use.
    pub(super) fn work(&mut self, table: &Arc<Table>) -> Result<&mut Work> {
        let name = table.name();
        if self
            .work
            .get(name)
            .is_some_and(|w| !Arc::ptr_eq(&w.table, table))
        {
            // The table's definition changed since the block first used it (txn_ddl.rs).
            self.follow_alter(table)?;
        }
        if !self.work.contains_key(name) {
            let (base, pin) = table.pinned_snapshot()?;
            let w = Work {
                table: table.clone(),
                files: base.manifest.files.clone(),
                log: base.wal_batches.to_vec(),
                appended: Vec::new(),
                rewritten: false,
                next_id: base.next_id,
                added: 0,
                guarded: false,
                stored_as: None,
                diff: Default::default(),
                base,
                pin: Arc::new(pin),
            };
            self.work.insert(name, w);
        }
        self.work
            .get_mut(name)
            .ok_or_else(|| crate::error::CipError::Corrupt(format!("{name}: lost its work")))
    }

    pub fn view(&mut self, table: &Arc<Table>) -> Result<TxnView> {
        let w = self.work(table)?;
        let mut rows = w.log.clone();
        rows.extend(w.appended.iter().cloned());
        Ok(TxnView {
            parts: w.files.iter().map(|f| w.table.path_of(&f.name)).collect(),
            rows,
            pin: w.pin.clone(),
        })
    }

    /// Appends rows to the transaction's version: defaults filled, constraints and keys
    /// checked against what the transaction sees. Returns the number of rows.
    pub fn append(&mut self, table: &Arc<Table>, batches: &[RecordBatch]) -> Result<u64> {
        let stored = self.append_stored(table, batches)?;
        Ok(stored.map_or(0, |b| b.num_rows() as u64))
    }

    /// `append`, returning the rows as stored (ids and defaults filled).
    pub fn append_stored(
        &mut self,
        table: &Arc<Table>,
        batches: &[RecordBatch],
    ) -> Result<Option<RecordBatch>> {
        let Some((batch, next_id)) = self.filled(table, batches)? else {
            return Ok(None);
        };
        let w = self.work(table)?;
        if table.def.unique {
            let keys = super::on_conflict::TxnKeys::of(table, w)?;
            check_unique(&table.def, &batch, &|k| keys.contains(k))?;
        }
        w.next_id = next_id;
        w.added += batch.num_rows() as u64;
        super::log_batches::push(&mut w.appended, batch.clone());
        Ok(Some(batch))
    }

    /// `batches` as one row set, defaults filled and constraints checked against what the
    /// transaction sees (its own new keys count as parents), and the table's next id after
    /// them; None when there are no rows.
    pub(super) fn filled(
        &mut self,
        table: &Arc<Table>,
        batches: &[RecordBatch],
    ) -> Result<Option<(RecordBatch, i64)>> {
        let Some(merged) = table.merged(batches)? else {
            return Ok(None);
        };
        let pending = self.pending_keys()?;
        let w = self.work(table)?;
        let filled = table.filled(&merged, w.next_id, &|parent, key| {
            pending.contains(parent, key)
        })?;
        Ok(Some(filled))
    }

    /// `append` by a writer that decided what to write from the table's contents: the commit
    /// fails (40001) if the table changed after this transaction's snapshot of it, so two
    /// blocks cannot both upgrade or message the same member.
    pub fn append_guarded(&mut self, table: &Arc<Table>, batches: &[RecordBatch]) -> Result<u64> {
        let rows = self.append(table, batches)?;
        self.work(table)?.guarded = true;
        Ok(rows)
    }

    /// Keys this transaction appended, by table: parents a foreign key may name before commit.
    pub(super) fn pending_keys(&self) -> Result<PendingKeys> {
        let mut out = BTreeMap::new();
        for (name, w) in &self.work {
            if w.table.def.key.is_empty() {
                continue;
            }
            let mut keys = HashSet::new();
            for b in &w.appended {
                keys.extend(row_keys(&w.table.def, b)?);
            }
            out.insert(*name, keys);
        }
        Ok(PendingKeys(out))
    }

    /// A staged file for `table`'s rows, for the commit.
    pub(super) fn stage(&mut self, table: &Table, rows: &[RecordBatch]) -> Result<DataFile> {
        let name = staged_name(&self.id, self.next_file);
        self.next_file += 1;
        let file = table.write_part(&name, rows)?;
        self.staged.push(table.path_of(&name));
        Ok(file)
    }

    /// SAVEPOINT: remembers the transaction's state.
    pub fn savepoint(&mut self) {
        let at = (self.work.clone(), self.ddl.len());
        self.savepoints.push(at);
    }

    /// RELEASE of the savepoint at `depth` (0 = the first) and those after it.
    pub fn release(&mut self, depth: usize) {
        self.savepoints.truncate(depth);
    }

    /// ROLLBACK TO the savepoint at `depth`: its state again; it stays, later ones go.
    pub fn rollback_to(&mut self, depth: usize) {
        if let Some((state, ddl)) = self.savepoints.get(depth) {
            self.work = state.clone();
            self.ddl.truncate(*ddl);
        }
        self.savepoints.truncate(depth + 1);
    }

    /// Whether the transaction wrote anything.
    pub fn wrote(&self) -> bool {
        self.work.values().any(Work::changed) || !self.ddl.is_empty()
    }
}

impl Drop for Txn {
    /// Rollback, or the end of a commit: staged files and table folders the commit did not
    /// keep go.
    fn drop(&mut self) {
        for path in &self.staged {
            if !self.kept.contains(path) {
                let _ = super::fsutil::remove_if_exists(path);
            }
        }
        for dir in &self.made_dirs {
            if let Err(e) = super::table_set::discard(dir) {
                tracing::warn!("txn {}: removing {} failed: {e}", self.id, dir.display());
            }
        }
    }
}

pub(super) fn staged_name(txn: &str, n: u64) -> String {
    format!("txn-{txn}-{n:04}.parquet")
}

/// Staged files of transactions whose process no longer runs, which no manifest names: what a
/// crash left. A live process's transaction may still commit its files and keeps them.
pub(super) fn orphans(dir: &Path, m: &super::manifest::Manifest) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| crate::error::CipError::io(format!("list {}", dir.display()), e))?;
    Ok(entries
        .filter_map(|e| e.ok())
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(rest) = name.strip_prefix("txn-") else {
                return false;
            };
            let pid = rest.split('-').next().unwrap_or("");
            // Our own pid at open is a dead process's that had it before us.
            let alive = pid != std::process::id().to_string()
                && !pid.is_empty()
                && Path::new("/proc").join(pid).exists();
            let live = super::steps::names(m, &name);
            !live && !alive
        })
        .map(|e| e.path())
        .collect())
}
