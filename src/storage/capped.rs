//! Rows written across parts of at most a number of rows each (a table laid out for point
//! reads, Table::part_rows_cap): a replacement of the table and a compaction of its small
//! parts both cut their output so.

use super::parquet_io::PartWriter;
use crate::error::Result;
use datafusion::arrow::record_batch::RecordBatch;

pub(super) struct CappedParts {
    cap: u64,
    /// The parts written, the last one open for more rows.
    writers: Vec<PartWriter>,
}

impl CappedParts {
    /// Parts of at most `cap` rows (None: one part).
    pub(super) fn new(cap: Option<u64>) -> Self {
        CappedParts {
            cap: cap.unwrap_or(u64::MAX).max(1),
            writers: Vec::new(),
        }
    }

    /// Writes `batch`, starting parts from `new_part` as they fill.
    pub(super) fn write(
        &mut self,
        batch: &RecordBatch,
        new_part: &mut dyn FnMut() -> Result<PartWriter>,
    ) -> Result<()> {
        let mut rest = batch.clone();
        while rest.num_rows() > 0 {
            let room = match self.writers.last() {
                Some(w) if w.rows() < self.cap => self.cap - w.rows(),
                _ => {
                    self.writers.push(new_part()?);
                    self.cap
                }
            };
            let n = room.min(rest.num_rows() as u64) as usize;
            if let Some(w) = self.writers.last_mut() {
                w.write(&rest.slice(0, n))?;
            }
            rest = rest.slice(n, rest.num_rows() - n);
        }
        Ok(())
    }

    /// Parts started so far.
    pub(super) fn count(&self) -> usize {
        self.writers.len()
    }

    pub(super) fn rows(&self) -> u64 {
        self.writers.iter().map(PartWriter::rows).sum()
    }

    /// The parts, unfinished: the caller names and finishes them, or discards them.
    pub(super) fn into_writers(mut self) -> Vec<PartWriter> {
        std::mem::take(&mut self.writers)
    }
}

impl Drop for CappedParts {
    fn drop(&mut self) {
        // Parts never finished leave only their temp files; remove those now rather than
        // at the next open.
        for w in self.writers.drain(..) {
            w.discard();
        }
    }
}
