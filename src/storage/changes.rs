//! What this process's own rewrites (an UPDATE, a DELETE, an upsert, a load replacing rows)
//! did to a table's rows, so that a reader following the table (steps.rs) can follow a
//! rewrite too instead of starting over: the rows it removed (the old images of rows deleted
//! or changed) and the rows it added (the new images, and rows inserted with it).
//!
//! Kept in memory only, for the latest steps: the manifest's steps keep no file holding an
//! erased row, and this keeps none either. A rewrite made by another process, before a
//! restart, by an ALTER, or of more than MAX_ROWS rows is not told, and its reader starts over.

use super::steps::KEPT;
use crate::error::Result;
use datafusion::arrow::array::{RecordBatch, UInt32Array};
use datafusion::arrow::compute::take_record_batch;
use datafusion::arrow::row::{RowConverter, SortField};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Rows of one rewrite beyond which it is not told: a reader would start over anyway, and the
/// memory a told rewrite holds stays small.
pub const MAX_ROWS: usize = 10_000;

/// The rows a rewrite removed and added, while they are few enough to tell.
#[derive(Debug, Clone, Default)]
pub struct Diff {
    pub removed: Vec<RecordBatch>,
    pub added: Vec<RecordBatch>,
    rows: usize,
    /// Too many rows, or rows the comparison cannot read: not told.
    untold: bool,
}

impl Diff {
    /// Rows inserted.
    pub fn add(&mut self, rows: &[RecordBatch]) {
        for b in rows {
            self.keep(None, Some(b.clone()));
        }
    }

    /// A batch `old` that a rewrite replaced with `new`: the rows of each the other does not
    /// have (as multisets, so a row changed and back is no change).
    pub fn compare(&mut self, old: &RecordBatch, new: &RecordBatch) {
        if self.untold {
            return;
        }
        match differences(old, new) {
            Ok((removed, added)) => self.keep(Some(removed), Some(added)),
            Err(_) => self.untold = true,
        }
    }

    /// Rows a rewrite removed and put nothing in place of.
    pub fn removed(&mut self, rows: RecordBatch) {
        self.keep(Some(rows), None);
    }

    /// Nothing can be told of this rewrite (every row replaced, a change of shape).
    pub fn untold(&mut self) {
        self.untold = true;
        self.removed.clear();
        self.added.clear();
    }

    fn keep(&mut self, removed: Option<RecordBatch>, added: Option<RecordBatch>) {
        if self.untold {
            return;
        }
        for (b, to) in [(removed, &mut self.removed), (added, &mut self.added)] {
            if let Some(b) = b.filter(|b| b.num_rows() > 0) {
                self.rows += b.num_rows();
                to.push(b);
            }
        }
        if self.rows > MAX_ROWS {
            self.untold();
        }
    }
}

/// The rows of `old` not in `new`, and of `new` not in `old`.
fn differences(old: &RecordBatch, new: &RecordBatch) -> Result<(RecordBatch, RecordBatch)> {
    let fields = old
        .schema()
        .fields()
        .iter()
        .map(|f| SortField::new(f.data_type().clone()))
        .collect();
    let converter = RowConverter::new(fields)?;
    let before = converter.convert_columns(old.columns())?;
    let after = converter.convert_columns(new.columns())?;
    let mut count: HashMap<_, usize> = HashMap::new();
    for row in before.iter() {
        *count.entry(row).or_default() += 1;
    }
    let mut added = Vec::new();
    for (i, row) in after.iter().enumerate() {
        match count.get_mut(&row) {
            Some(c) if *c > 0 => *c -= 1,
            _ => added.push(i as u32),
        }
    }
    // What is left counted are the rows `new` lacks.
    let mut removed = Vec::new();
    for (i, row) in before.iter().enumerate() {
        if let Some(c) = count.get_mut(&row).filter(|c| **c > 0) {
            *c -= 1;
            removed.push(i as u32);
        }
    }
    Ok((
        take_record_batch(old, &UInt32Array::from(removed))?,
        take_record_batch(new, &UInt32Array::from(added))?,
    ))
}

/// A told rewrite: the manifest version its commit made, where the log it replaced ended
/// (a reader must have read that log to its end; None when the step keeps the log) and what
/// it did.
#[derive(Debug)]
struct Told {
    version: u64,
    log_end: Option<u64>,
    diff: Diff,
}

/// The latest told rewrites of one table object.
#[derive(Debug, Default)]
pub(super) struct Rewrites(Mutex<VecDeque<Told>>);

impl Rewrites {
    /// Records the rewrite whose commit made `version` (once that commit is on disk).
    pub(super) fn record(&self, version: u64, log_end: Option<u64>, diff: Diff) {
        if diff.untold {
            return;
        }
        let mut told = self.0.lock().unwrap_or_else(|p| p.into_inner());
        told.push_back(Told {
            version,
            log_end,
            diff,
        });
        while told.len() > KEPT {
            told.pop_front();
        }
    }

    /// What the rewrite that made `version` did, for a reader that read the log it replaced
    /// up to `offset`; None when it is not told or the reader missed rows of that log.
    pub(super) fn of(&self, version: u64, offset: u64) -> Option<Diff> {
        let told = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let t = told.iter().find(|t| t.version == version)?;
        match t.log_end {
            Some(end) if end != offset => None,
            _ => Some(t.diff.clone()),
        }
    }
}
