//! INSERT … ON CONFLICT on a table with a unique key: a proposed row whose key the table
//! already holds is skipped (DO NOTHING) or merged into the stored row by a function the
//! caller gives (DO UPDATE), in the same commit as the rows that were new. Storage only sorts
//! rows by key and applies the merge; what the merge computes is the statement's business.

use super::rows::{check_not_null, row_keys};
use super::table::Table;
use super::txn::{Txn, Work};
use super::write::{one_batch, ExistingKeys, Rewrite};
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use datafusion::arrow::array::{BooleanArray, RecordBatch, UInt32Array};
use datafusion::arrow::compute::{concat_batches, filter_record_batch, not, take_record_batch};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// `merge(stored, proposed)`, rows aligned by position: the rows to store in their place,
/// and which of them to store (DO UPDATE's WHERE; a false or NULL leaves the stored row).
pub type MergeFn =
    dyn Fn(&RecordBatch, &RecordBatch) -> Result<(RecordBatch, BooleanArray)> + Send + Sync;

/// What an INSERT does with a proposed row whose key is taken.
#[derive(Clone)]
pub enum OnConflict {
    Nothing,
    Update(Arc<MergeFn>),
}

impl std::fmt::Debug for OnConflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OnConflict::Nothing => write!(f, "DO NOTHING"),
            OnConflict::Update(_) => write!(f, "DO UPDATE"),
        }
    }
}

/// The proposed rows sorted: those to insert, and by key the row proposed for a stored one.
struct Sorted {
    fresh: RecordBatch,
    proposed: RecordBatch,
    conflicts: HashMap<String, u32>,
}

fn twice() -> CipError {
    CipError::invalid(
        sqlstate::CARDINALITY_VIOLATION,
        "ON CONFLICT DO UPDATE command cannot affect row a second time",
    )
}

/// Sorts `batch` (defaults filled) against the keys the table holds. As in PostgreSQL, a row
/// repeating an earlier row's key conflicts with it: DO NOTHING skips it, DO UPDATE refuses
/// the statement (21000) rather than update one row twice.
fn sort(
    table: &Table,
    batch: RecordBatch,
    exists: &dyn Fn(&str) -> bool,
    update: bool,
) -> Result<Sorted> {
    if !table.def.unique {
        // No key to conflict on: every row is new.
        return Ok(Sorted {
            fresh: batch.clone(),
            proposed: batch,
            conflicts: HashMap::new(),
        });
    }
    let mut fresh = Vec::with_capacity(batch.num_rows());
    let mut seen = HashSet::new();
    let mut conflicts = HashMap::new();
    for (row, key) in row_keys(&table.def, &batch)?.into_iter().enumerate() {
        let new = if exists(&key) {
            if update && conflicts.insert(key, row as u32).is_some() {
                return Err(twice());
            }
            false
        } else if seen.insert(key) {
            true
        } else if update {
            return Err(twice());
        } else {
            false
        };
        fresh.push(new);
    }
    Ok(Sorted {
        fresh: filter_record_batch(&batch, &BooleanArray::from(fresh))?,
        proposed: batch,
        conflicts,
    })
}

/// A rewrite step merging the proposed rows into the stored batch `b`; the rows it stored go
/// to `merged`.
fn merge_into(
    table: &Table,
    sorted: &Sorted,
    merge: &MergeFn,
    b: &RecordBatch,
    merged: &mut Vec<RecordBatch>,
) -> Result<Rewrite> {
    let mut hit = Vec::with_capacity(b.num_rows());
    let mut rows = Vec::new();
    for key in row_keys(&table.def, b)? {
        let proposed = sorted.conflicts.get(&key);
        hit.push(proposed.is_some());
        rows.extend(proposed.copied());
    }
    if rows.is_empty() {
        return Ok(Rewrite::Keep);
    }
    let hit = BooleanArray::from(hit);
    let stored = filter_record_batch(b, &hit)?;
    let proposed = take_record_batch(&sorted.proposed, &UInt32Array::from(rows))?;
    let (new, chosen) = merge(&stored, &proposed)?;
    let shaped = new.num_rows() == stored.num_rows()
        && new.schema().fields().len() == table.def.schema.fields().len()
        && (new.schema().fields().iter())
            .zip(table.def.schema.fields().iter())
            .all(|(a, b)| a.data_type() == b.data_type());
    if !shaped {
        return Err(CipError::Corrupt(format!(
            "{}: an ON CONFLICT merge gave rows of another shape",
            table.name()
        )));
    }
    let chosen: BooleanArray = chosen.iter().map(|v| Some(v == Some(true))).collect();
    let updated = filter_record_batch(&new, &chosen)?;
    check_not_null(&table.def, updated.columns())?;
    let updated = RecordBatch::try_new(table.def.schema.clone(), updated.columns().to_vec())?;
    let updated = crate::column_types::conform(&table.def.schema, updated)?;
    let count = updated.num_rows() as u64;
    if count == 0 {
        return Ok(Rewrite::Keep);
    }
    let out = concat_batches(
        &table.def.schema,
        [
            &filter_record_batch(b, &not(&hit)?)?,
            &filter_record_batch(&stored, &not(&chosen)?)?,
            &updated,
        ],
    )?;
    merged.push(updated);
    Ok(Rewrite::Replace(out, count))
}

/// The rows stored (inserted and updated) as one batch; None when there are none.
fn stored(table: &Table, rows: Vec<RecordBatch>) -> Result<Option<RecordBatch>> {
    one_batch(&table.def.schema, &rows)
}

impl Table {
    /// Inserts `batches` with `action` for rows whose key is taken, in one commit. Returns the
    /// rows stored: those inserted, then those updated.
    pub fn insert_on_conflict(
        &self,
        batches: &[RecordBatch],
        action: &OnConflict,
    ) -> Result<Option<RecordBatch>> {
        let Some(merged) = self.merged(batches)? else {
            return Ok(None);
        };
        let _g = self.lock_for_write()?;
        let snap = self.snapshot_for_write()?;
        let (batch, next_id) = self.filled(&merged, snap.next_id, &|_, _| false)?;
        let existing: Option<ExistingKeys> = match self.def.unique {
            true => Some(self.existing_keys(&snap)?),
            false => None,
        };
        let exists = |k: &str| existing.as_ref().is_some_and(|e| e.contains(k));
        let sorted = sort(
            self,
            batch,
            &exists,
            matches!(action, OnConflict::Update(_)),
        )?;
        let merge = match action {
            OnConflict::Update(merge) if !sorted.conflicts.is_empty() => merge,
            _ => {
                if sorted.fresh.num_rows() == 0 {
                    // Ids the skipped rows took stay reserved, as a sequence's would.
                    return Ok(None);
                }
                return self.append_locked(snap, sorted.fresh, next_id).map(Some);
            }
        };
        let mut updated = Vec::new();
        let mut step = |b: &RecordBatch| merge_into(self, &sorted, merge.as_ref(), b, &mut updated);
        // With no new rows the rewrite checks keys only if an update changed one.
        let fresh = match sorted.fresh.num_rows() {
            0 => &[][..],
            _ => std::slice::from_ref(&sorted.fresh),
        };
        self.rewrite_locked(&snap, Some(&mut step), fresh, false)?;
        stored(self, [vec![sorted.fresh.clone()], updated].concat())
    }
}

/// The keys a transaction sees in `w`: its own appended rows', and the table's as its
/// version holds them (every row read again once the block rewrote the table).
pub(super) struct TxnKeys {
    seen: HashSet<String>,
    base: Option<ExistingKeys>,
}

impl TxnKeys {
    pub(super) fn of(table: &Table, w: &Work) -> Result<TxnKeys> {
        let mut seen = HashSet::new();
        for b in w.appended.iter() {
            seen.extend(row_keys(&table.def, b)?);
        }
        if !w.rewritten {
            // The base's keys are cached per version; only this transaction's are new.
            let base = Some(table.existing_keys(&w.base)?);
            return Ok(TxnKeys { seen, base });
        }
        for part in w.files.iter() {
            let path = table.path_of(&part.name);
            for b in super::parquet_io::read_part(&path, &table.def.schema)? {
                seen.extend(row_keys(&table.def, &b?)?);
            }
        }
        for b in w.log.iter() {
            seen.extend(row_keys(&table.def, b)?);
        }
        Ok(TxnKeys { seen, base: None })
    }

    pub(super) fn contains(&self, key: &str) -> bool {
        self.seen.contains(key) || self.base.as_ref().is_some_and(|b| b.contains(key))
    }
}

impl Txn {
    /// `Table::insert_on_conflict` inside the transaction, against the table as it sees it.
    pub fn insert_on_conflict(
        &mut self,
        table: &Arc<Table>,
        batches: &[RecordBatch],
        action: &OnConflict,
    ) -> Result<Option<RecordBatch>> {
        let Some((batch, next_id)) = self.filled(table, batches)? else {
            return Ok(None);
        };
        let w = self.work(table)?;
        w.next_id = next_id;
        let keys = match table.def.unique {
            true => Some(TxnKeys::of(table, w)?),
            false => None,
        };
        let exists = |k: &str| keys.as_ref().is_some_and(|e| e.contains(k));
        let sorted = sort(
            table,
            batch,
            &exists,
            matches!(action, OnConflict::Update(_)),
        )?;
        let mut updated = Vec::new();
        if let OnConflict::Update(merge) = action {
            if !sorted.conflicts.is_empty() {
                let mut step =
                    |b: &RecordBatch| merge_into(table, &sorted, merge.as_ref(), b, &mut updated);
                self.rewrite(table, &mut step)?;
            }
        }
        // Checked again against the rewritten version: an update may have changed a key.
        let inserted = self.append_stored(table, std::slice::from_ref(&sorted.fresh))?;
        stored(table, [inserted.into_iter().collect(), updated].concat())
    }
}

/// The ON CONFLICT action of the INSERT a session is running, for that INSERT's write into
/// the table it names (not for writes a function it calls makes elsewhere). One per session,
/// in its configuration; the session clears it when the statement ends.
#[derive(Debug, Default)]
pub struct ConflictSlot(std::sync::Mutex<Option<(&'static str, OnConflict)>>);

impl ConflictSlot {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<(&'static str, OnConflict)>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set(&self, table: &'static str, action: OnConflict) {
        *self.lock() = Some((table, action));
    }

    pub fn clear(&self) {
        *self.lock() = None;
    }

    /// The action for a write into `table`, taken: it applies once.
    pub(super) fn take_for(&self, table: &str) -> Option<OnConflict> {
        let mut slot = self.lock();
        match slot.as_ref() {
            Some((wanted, _)) if *wanted == table => slot.take().map(|(_, a)| a),
            _ => None,
        }
    }
}
