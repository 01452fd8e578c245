//! Replacing every row of a table with rows that arrive as a stream (a query's output larger
//! than memory): they are written to staged files as they come, and `commit` makes those files
//! the table's parts in one manifest commit, as `replace_all` does with rows in memory.

use super::capped::CappedParts;
use super::rows::{fill_defaults, local_now_micros};
use super::table::{Table, TableVersion};
use super::txn;
use crate::error::Result;
use datafusion::arrow::record_batch::RecordBatch;
use std::sync::Arc;

/// Rows on their way to replacing a table. Dropped without `commit`, the table is unchanged
/// and the staged files go (or, after a crash, the next open of the table removes them).
pub struct Replacement {
    table: Arc<Table>,
    /// Staged parts; more than one for a table whose parts are capped in rows.
    parts: CappedParts,
    staging: String,
    next_id: i64,
    now: i64,
}

impl Table {
    /// Starts replacing every row of the table: `write` the rows, then `commit`.
    pub fn replacement(self: &Arc<Self>) -> Result<Replacement> {
        let snap = self.snapshot()?;
        Ok(Replacement {
            table: self.clone(),
            parts: CappedParts::new(self.part_rows_cap()),
            staging: txn::new_id(),
            next_id: self.reserve_ids(snap.next_id),
            now: local_now_micros(self.opts.timezone),
        })
    }
}

impl Replacement {
    /// Checks and writes `batch` (defaults filled, constraints checked as for any write).
    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        let (filled, next) = fill_defaults(&self.table.def, batch, self.next_id, self.now)?;
        self.table.check_constraints(&filled)?;
        self.next_id = self.table.reserve_ids(next);
        let (table, staging, parts) = (&self.table, &self.staging, &mut self.parts);
        let mut n = parts.count() as u64;
        let mut new_part = || {
            let name = txn::staged_name(staging, n);
            n += 1;
            table.part_writer(&name)
        };
        parts.write(&filled, &mut new_part)
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.parts.rows()
    }

    /// Makes the written rows the table's only rows, in one commit, as the table's next
    /// parts; returns the version committed.
    pub fn commit(self) -> Result<TableVersion> {
        let _g = self.table.lock_for_write()?;
        let snap = self.table.snapshot_for_write()?;
        let written = (self.parts.into_writers(), self.next_id);
        self.table
            .rewrite_locked_with(&snap, None, None, &[], true, Some(written))
            .map(|(_, v)| v)
    }
}
