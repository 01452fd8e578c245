//! The write path of a table: append through the log, flush the log into Parquet, compact
//! small parts, rewrite parts for UPDATE / DELETE / upsert, and add whole files for loads.
//!
//! Every write holds the in-process mutex and the cross-process file lock, reads the latest
//! committed state, and ends in one atomic manifest replacement (or one fsync'd log frame).

use super::changes::Diff;
use super::lock::TableLock;
use super::manifest::DataFile;
use super::parquet_io::read_part;
use super::rows::keys_changed;
use super::rows::{check_unique, fill_defaults, local_now_micros, row_keys};
use super::steps::Rows;
use super::table::{Snapshot, Table};
use super::wal;
use crate::error::{sqlstate, CipError, Result};
use datafusion::arrow::array::{Array, ArrayRef, BooleanArray};
use datafusion::arrow::compute::{filter_record_batch, not, prep_null_mask_filter};
use datafusion::arrow::record_batch::RecordBatch;
use std::collections::HashSet;
use std::sync::Arc;

/// Decides, batch by batch, what a rewrite does to the existing rows.
pub type RewriteFn<'a> = dyn FnMut(&RecordBatch) -> Result<Rewrite> + 'a;

/// Which parts a rewrite may change, told from a part's statistics without reading its rows:
/// `may_change` gets the least and the greatest value of `column` in each of the part's row
/// groups (NULL where a group has none). Parts it rules out are kept unread.
pub struct PartScope<'a> {
    pub column: &'a str,
    pub may_change: &'a mut dyn FnMut(&ArrayRef, &ArrayRef) -> Result<bool>,
}

/// What a rewrite does to one batch of existing rows.
pub enum Rewrite {
    Keep,
    /// The batch's new rows, and how many rows were changed or removed.
    Replace(RecordBatch, u64),
    /// The rows where the mask is true go, the others stay (a NULL keeps its row). Cheaper
    /// than Replace for a rewrite that only removes: what it removed is told without
    /// comparing every row of the old batch with the new.
    Remove(BooleanArray),
}

/// What a rewrite's batches came to: the rows it changed or removed, whether a unique
/// table's keys changed in place (an UPDATE of the key: check them again), and what it
/// tells followers.
#[derive(Default)]
pub(super) struct Tally {
    pub changed: u64,
    pub rekeyed: bool,
    pub diff: Diff,
}

impl Tally {
    /// A tally whose followers are told `diff` first.
    pub(super) fn after(diff: Diff) -> Self {
        Tally {
            diff,
            ..Tally::default()
        }
    }

    /// `rewrite` of `old`, counted: the batch's new rows, or None when it keeps them as
    /// they are.
    pub(super) fn apply(
        &mut self,
        def: &super::TableDef,
        rewrite: Rewrite,
        old: &RecordBatch,
    ) -> Result<Option<RecordBatch>> {
        match rewrite {
            Rewrite::Keep => Ok(None),
            Rewrite::Replace(rows, changed) => {
                self.rekeyed |= keys_changed(def, old, &rows);
                self.changed += changed;
                self.diff.compare(old, &rows);
                Ok(Some(rows))
            }
            Rewrite::Remove(mask) => {
                // prep_null_mask_filter expects a mask with a null buffer.
                let gone = match mask.nulls() {
                    Some(_) => prep_null_mask_filter(&mask),
                    None => mask,
                };
                if gone.true_count() == 0 {
                    return Ok(None);
                }
                let removed = filter_record_batch(old, &gone)?;
                let rows = filter_record_batch(old, &not(&gone)?)?;
                self.changed += removed.num_rows() as u64;
                self.diff.removed(removed);
                Ok(Some(rows))
            }
        }
    }
}

/// The keys a unique table holds: those of its parts (cached) and of its log.
pub struct ExistingKeys {
    parts: super::table::KeySet,
    log: HashSet<String>,
}

impl ExistingKeys {
    pub fn contains(&self, key: &str) -> bool {
        self.parts.contains(key) || self.log.contains(key)
    }
}

pub struct WriteGuard<'a> {
    _mutex: std::sync::MutexGuard<'a, ()>,
    _lock: TableLock,
}

impl Table {
    pub(super) fn lock_for_write(&self) -> Result<WriteGuard<'_>> {
        let mutex = self
            .write_mutex
            .lock()
            .map_err(|_| CipError::Corrupt(format!("{}: a writer panicked", self.name())))?;
        // Checked before the lock file too: a dropped table's folder is being removed.
        let stale = || self.stale.load(std::sync::atomic::Ordering::SeqCst);
        if stale() {
            return Err(self.replaced());
        }
        let lock = TableLock::acquire(&self.dir)?;
        if stale() {
            return Err(self.replaced());
        }
        Ok(WriteGuard {
            _mutex: mutex,
            _lock: lock,
        })
    }

    fn replaced(&self) -> CipError {
        CipError::invalid(
            sqlstate::SERIALIZATION_FAILURE,
            format!(
                "{} was altered, renamed or dropped while this statement or transaction ran; \
                 retry",
                self.name()
            ),
        )
    }

    /// The committed state for a writer holding the lock; cuts a torn log tail first.
    pub(super) fn snapshot_for_write(&self) -> Result<Arc<Snapshot>> {
        let snap = self.snapshot()?;
        if snap.wal_torn {
            wal::truncate(&self.path_of(&snap.manifest.wal), snap.wal_end)?;
            let mut fixed = (*snap).clone();
            fixed.wal_torn = false;
            let fixed = Arc::new(fixed);
            self.set_cache(fixed.clone());
            return Ok(fixed);
        }
        Ok(snap)
    }

    /// Appends rows durably: one fsync'd log frame, flushed into Parquet when the log is big.
    /// Returns the number of rows appended.
    pub fn append(&self, batches: &[RecordBatch]) -> Result<u64> {
        Ok(self
            .append_stored(batches)?
            .map_or(0, |b| b.num_rows() as u64))
    }

    /// `append`, returning the rows as stored (ids and defaults filled): INSERT … RETURNING.
    pub fn append_stored(&self, batches: &[RecordBatch]) -> Result<Option<RecordBatch>> {
        let Some(merged) = self.merged(batches)? else {
            return Ok(None);
        };
        let _g = self.lock_for_write()?;
        let snap = self.snapshot_for_write()?;
        let (batch, next_id) = self.filled(&merged, snap.next_id, &|_, _| false)?;
        if self.def.unique {
            let existing = self.existing_keys(&snap)?;
            check_unique(&self.def, &batch, &|k| existing.contains(k))?;
        }
        self.append_locked(snap, batch, next_id).map(Some)
    }

    /// Logs rows already filled and checked, for a writer holding the lock on `snap`.
    pub(super) fn append_locked(
        &self,
        snap: Arc<Snapshot>,
        batch: RecordBatch,
        next_id: i64,
    ) -> Result<RecordBatch> {
        let frame = wal::encode_frame(&batch, &self.def.schema)?;
        let wal_path = self.path_of(&snap.manifest.wal);
        let end = wal::append(&wal_path, &frame)?;
        // Take the snapshot out of the cache so the log's batch list is extended in place
        // rather than copied on every insert.
        self.clear_cache();
        let mut next = Arc::try_unwrap(snap).unwrap_or_else(|shared| (*shared).clone());
        super::log_batches::push(Arc::make_mut(&mut next.wal_batches), batch.clone());
        next.wal_end = end;
        next.next_id = next_id;
        let rows = batch.num_rows() as u64;
        if let Some(hook) = &self.opts.on_append {
            (hook.0)(self.def.name, rows);
        }
        let next = Arc::new(next);
        self.set_cache(next.clone());
        if next.wal_rows() >= self.opts.flush_rows {
            // The rows are durable in the log already: a failed flush must not turn an
            // acknowledged insert into an error. The next write or checkpoint retries it.
            if let Err(e) = self.flush_locked(&next) {
                tracing::warn!("{}: flushing the log failed, will retry: {e}", self.name());
            }
        }
        Ok(batch)
    }

    /// The non-empty batches handed in as one; None when there are no rows.
    pub(super) fn merged(&self, batches: &[RecordBatch]) -> Result<Option<RecordBatch>> {
        one_batch(&self.input_schema, batches)
    }

    /// Rows ready to append: defaults filled (AUTO_INCREMENT ids from `next_id`, reserved so
    /// no other writer takes them) and constraints checked, `pending(parent, key)` counting
    /// as a parent row. Returns them and the next id.
    pub(super) fn filled(
        &self,
        merged: &RecordBatch,
        next_id: i64,
        pending: &dyn Fn(&str, &str) -> bool,
    ) -> Result<(RecordBatch, i64)> {
        let now = local_now_micros(self.opts.timezone);
        let start = self.reserve_ids(next_id);
        let (batch, next_id) = fill_defaults(&self.def, merged, start, now)?;
        self.reserve_ids(next_id);
        self.check_constraints_with(&batch, pending)?;
        Ok((batch, next_id))
    }

    /// `append` on a blocking thread, for async callers (it waits for the lock and fsyncs).
    pub async fn append_async(self: &Arc<Self>, batches: Vec<RecordBatch>) -> Result<u64> {
        let table = self.clone();
        tokio::task::spawn_blocking(move || table.append(&batches))
            .await
            .map_err(|e| {
                CipError::DataFusion(datafusion::common::DataFusionError::External(Box::new(e)))
            })?
    }

    /// Adds a finished part file (written under a temporary name by a load) to the table.
    pub fn add_part(&self, file: DataFile, batches_for_keys: Option<&[RecordBatch]>) -> Result<()> {
        let _g = self.lock_for_write()?;
        let snap = self.snapshot_for_write()?;
        if let (true, Some(batches)) = (self.def.unique, batches_for_keys) {
            let existing = self.existing_keys(&snap)?;
            for b in batches {
                check_unique(&self.def, b, &|k| existing.contains(k))?;
            }
        }
        let mut m = snap.manifest.clone();
        let listed = Rows::Added {
            files: vec![file.name.clone()],
        };
        m.files.push(file);
        self.commit(m, vec![], false, None, listed)?;
        self.compact_locked()
    }

    pub(super) fn check_unique_parts(
        &self,
        files: &[DataFile],
        tail: &[RecordBatch],
    ) -> Result<()> {
        let mut seen = HashSet::new();
        let mut batches: Vec<RecordBatch> = tail.to_vec();
        for f in files {
            for b in read_part(&self.path_of(&f.name), &self.def.schema)? {
                batches.push(b?);
            }
        }
        for b in &batches {
            check_unique(&self.def, b, &|k| seen.contains(k))?;
            seen.extend(row_keys(&self.def, b)?);
        }
        Ok(())
    }

    /// Every key already in the table. The keys of the parts are cached per manifest
    /// version, so a single-row insert into a large members table does not re-read it.
    pub fn existing_keys(&self, snap: &Snapshot) -> Result<ExistingKeys> {
        let version = snap.manifest.version;
        let cached = self.key_cache.lock().ok().and_then(|c| {
            c.as_ref()
                .filter(|(v, _)| *v == version)
                .map(|(_, k)| k.clone())
        });
        let parts = match cached {
            Some(k) => k,
            None => {
                let mut keys = HashSet::new();
                for path in self.part_paths(snap) {
                    for b in read_part(&path, &self.def.schema)? {
                        keys.extend(row_keys(&self.def, &b?)?);
                    }
                }
                let keys = Arc::new(keys);
                if let Ok(mut c) = self.key_cache.lock() {
                    *c = Some((version, keys.clone()));
                }
                keys
            }
        };
        let mut log = HashSet::new();
        for b in snap.wal_batches.iter() {
            log.extend(row_keys(&self.def, b)?);
        }
        Ok(ExistingKeys { parts, log })
    }
}

/// The non-empty `batches` (of `schema`) as one; None when there are no rows.
pub(super) fn one_batch(
    schema: &datafusion::arrow::datatypes::SchemaRef,
    batches: &[RecordBatch],
) -> Result<Option<RecordBatch>> {
    let batches: Vec<&RecordBatch> = batches.iter().filter(|b| b.num_rows() > 0).collect();
    if batches.is_empty() {
        return Ok(None);
    }
    let merged = datafusion::arrow::compute::concat_batches(schema, batches.iter().copied())?;
    Ok(Some(merged))
}
