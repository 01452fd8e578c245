//! One part's rows on their way through a rewrite (rewrite.rs, and txn_rewrite.rs in a block), in
//! bounded memory.
//!
//! The rows are held until a batch changes — a part nothing changes in is kept as it is, not
//! written again. Past `HOLD_BYTES` of unchanged rows the held ones are let go and only
//! counted; if a change comes later, those leading rows are read again from the part (they
//! are unchanged, so the rewrite is not asked again) and everything streams to the part's new
//! file from there. Holding a part whole, rescoring one member held a ten-million-row
//! snapshot in memory (5.6 GB of RSS).

use super::manifest::DataFile;
use super::parquet_io::{read_part, PartWriter};
use super::table::Table;
use crate::error::Result;
use datafusion::arrow::record_batch::RecordBatch;
use std::path::Path;

/// What a part's rows may take in memory before they stream to a file.
pub(super) const HOLD_BYTES: usize = 256 << 20;

pub(super) struct PartOut<'t> {
    table: &'t Table,
    path: &'t Path,
    hold_bytes: usize,
    /// Leading rows let go unchanged; read again from `path` if a change comes.
    let_go: usize,
    held: Vec<RecordBatch>,
    held_bytes: usize,
    writer: Option<PartWriter>,
}

/// How a part came through.
pub(super) enum Outcome {
    /// Nothing changed: the file stays.
    Kept,
    /// Rows changed: the old file goes, and this one (None: no row left) takes its place.
    Rewritten(Option<DataFile>),
}

impl<'t> PartOut<'t> {
    /// The part at `path`, its unchanged rows held up to `hold_bytes` (`HOLD_BYTES` but in
    /// tests).
    pub(super) fn new(table: &'t Table, path: &'t Path, hold_bytes: usize) -> Self {
        PartOut {
            table,
            path,
            hold_bytes,
            let_go: 0,
            held: Vec::new(),
            held_bytes: 0,
            writer: None,
        }
    }

    /// Takes the part's next batch; `changed` when the rewrite changed it. The new file is
    /// named by `name` at the first change (a table's next part, or a transaction's staged
    /// file).
    pub(super) fn push(
        &mut self,
        b: RecordBatch,
        changed: bool,
        name: &mut dyn FnMut() -> String,
    ) -> Result<()> {
        if let Some(w) = self.writer.as_mut() {
            return w.write(&b);
        }
        if !changed {
            self.held_bytes += b.get_array_memory_size();
            self.held.push(b);
            if self.held_bytes > self.hold_bytes {
                self.let_go += self.held.iter().map(RecordBatch::num_rows).sum::<usize>();
                self.held.clear();
                self.held_bytes = 0;
            }
            return Ok(());
        }
        let mut w = self.table.part_writer(&name())?;
        let mut left = self.let_go;
        for again in read_part(self.path, &self.table.def.schema)? {
            if left == 0 {
                break;
            }
            let again = again?;
            let n = again.num_rows().min(left);
            w.write(&again.slice(0, n))?;
            left -= n;
        }
        for h in self.held.drain(..) {
            w.write(&h)?;
        }
        self.held_bytes = 0;
        w.write(&b)?;
        self.writer = Some(w);
        Ok(())
    }

    pub(super) fn finish(self) -> Result<Outcome> {
        match self.writer {
            None => Ok(Outcome::Kept),
            Some(w) if w.rows() > 0 => Ok(Outcome::Rewritten(Some(w.finish()?))),
            Some(w) => {
                w.discard();
                Ok(Outcome::Rewritten(None))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::tests::{files_in, id_and_n, number, numbers_table};
    use crate::storage::{Store, StoreOptions};
    use datafusion::arrow::compute::concat_batches;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let def = numbers_table(&id_and_n(), false);
        let store = Store::open(dir.path(), StoreOptions::default(), vec![def]).expect("open");
        (dir, store)
    }

    /// The table's files left half-written.
    fn temp_files(table: &Table) -> Vec<String> {
        files_in(&table.dir)
            .into_iter()
            .filter(|n| n.ends_with(".tmp"))
            .collect()
    }

    /// Names the new part as a rewrite does.
    fn namer(table: &Table) -> impl FnMut() -> String {
        let mut next = table.snapshot().expect("snapshot").manifest.clone();
        move || crate::storage::manifest::part_name(next.take_file_number())
    }

    /// A part of the rows n = 0..4, one batch each, and those batches.
    fn part(table: &Table) -> (std::path::PathBuf, Vec<RecordBatch>) {
        let batches: Vec<RecordBatch> = (0..4).map(|n| number(&table.def.schema, n)).collect();
        let file = table
            .write_part("part-00000001.parquet", &batches)
            .expect("part");
        (table.path_of(&file.name), batches)
    }

    #[test]
    fn a_part_nothing_changes_in_is_kept_whether_held_or_let_go() {
        let (_dir, store) = store();
        let table = store.table("numbers").expect("table");
        let (path, batches) = part(&table);
        for hold in [usize::MAX, 0] {
            let mut name = namer(&table);
            let mut out = PartOut::new(&table, &path, hold);
            for b in &batches {
                out.push(b.clone(), false, &mut name).expect("push");
            }
            assert!(matches!(out.finish().expect("finish"), Outcome::Kept));
            assert!(temp_files(&table).is_empty(), "hold {hold}");
        }
    }

    #[test]
    fn rows_let_go_before_a_change_are_read_again_into_the_new_part() {
        let (_dir, store) = store();
        let table = store.table("numbers").expect("table");
        let schema = table.def.schema.clone();
        let (path, batches) = part(&table);
        let mut name = namer(&table);
        // One byte: each unchanged batch is let go at once; the third one changes.
        let mut out = PartOut::new(&table, &path, 1);
        let mut expected = Vec::new();
        for (i, b) in batches.iter().enumerate() {
            let (b, changed) = match i {
                2 => (number(&schema, 20), true),
                _ => (b.clone(), false),
            };
            expected.push(b.clone());
            out.push(b, changed, &mut name).expect("push");
        }
        let Outcome::Rewritten(Some(new)) = out.finish().expect("finish") else {
            panic!("a changed part is rewritten with its rows");
        };
        assert_eq!(new.rows, 4);
        let read: Vec<RecordBatch> = read_part(&table.path_of(&new.name), &schema)
            .expect("read")
            .collect::<Result<_>>()
            .expect("rows");
        let read = concat_batches(&schema, &read).expect("concat");
        assert_eq!(read, concat_batches(&schema, &expected).expect("concat"));
        assert!(temp_files(&table).is_empty());
    }

    #[test]
    fn a_changed_part_left_without_rows_has_no_file() {
        let (_dir, store) = store();
        let table = store.table("numbers").expect("table");
        let (path, batches) = part(&table);
        let mut name = namer(&table);
        let mut out = PartOut::new(&table, &path, usize::MAX);
        for b in &batches {
            out.push(b.slice(0, 0), true, &mut name).expect("push");
        }
        assert!(matches!(
            out.finish().expect("finish"),
            Outcome::Rewritten(None)
        ));
        assert!(temp_files(&table).is_empty());
    }
}
