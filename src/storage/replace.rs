//! Replacing every row of a table with rows that arrive as a stream (a query's output larger
//! than memory): they are written to a staged file as they come, and `commit` makes that file
//! the table's one part in one manifest commit, as `replace_all` does with rows in memory.

use super::parquet_io::PartWriter;
use super::rows::{fill_defaults, local_now_micros};
use super::table::{Table, TableVersion};
use super::txn;
use crate::error::Result;
use datafusion::arrow::record_batch::RecordBatch;
use std::sync::Arc;

/// Rows on their way to replacing a table. Dropped without `commit`, the table is unchanged
/// and the staged file goes (or, after a crash, the next open of the table removes it).
pub struct Replacement {
    table: Arc<Table>,
    writer: Option<PartWriter>,
    next_id: i64,
    now: i64,
}

impl Table {
    /// Starts replacing every row of the table: `write` the rows, then `commit`.
    pub fn replacement(self: &Arc<Self>) -> Result<Replacement> {
        let snap = self.snapshot()?;
        let name = txn::staged_name(&txn::new_id(), 0);
        let writer = self.part_writer(&name)?;
        Ok(Replacement {
            table: self.clone(),
            writer: Some(writer),
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
        if let Some(w) = self.writer.as_mut() {
            w.write(&filled)?;
        }
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.writer.as_ref().map_or(0, PartWriter::rows)
    }

    /// Makes the written rows the table's only rows, in one commit, as the table's next
    /// part; returns the version committed.
    pub fn commit(mut self) -> Result<TableVersion> {
        let _g = self.table.lock_for_write()?;
        let snap = self.table.snapshot_for_write()?;
        let written = self.writer.take().map(|w| (w, self.next_id));
        self.table
            .rewrite_locked_with(&snap, None, &[], true, written)
            .map(|(_, v)| v)
    }
}

impl Drop for Replacement {
    fn drop(&mut self) {
        // A writer never finished leaves only its temp file; remove that now rather than at
        // the next open.
        if let Some(w) = self.writer.take() {
            w.discard();
        }
    }
}
