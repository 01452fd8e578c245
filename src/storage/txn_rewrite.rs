//! UPDATE / DELETE in a transaction: the parts a rewrite changes are written as staged files
//! the commit makes the table's, the rows in memory are rewritten in place (txn.rs keeps the
//! transaction's version of each table).

use super::parquet_io::read_part;
use super::part_out::{Outcome, PartOut, HOLD_BYTES};
use super::table::{next_id_after, Table};
use super::txn::{discard_staged, staged_name, Txn};
use super::write::{RewriteFn, Tally};
use crate::error::Result;
use std::sync::Arc;

impl Txn {
    /// UPDATE / DELETE in the transaction: parts `f` changes are written as staged files, the
    /// rows in memory are rewritten in place. Returns the count `f` reported.
    pub fn rewrite(&mut self, table: &Arc<Table>, f: &mut RewriteFn<'_>) -> Result<u64> {
        let (id, mut n) = (self.id.clone(), self.next_file);
        let w = self.work(table)?;
        // The block's own new rows are told as added, whatever the rewrite does to them.
        let mut diff = w.diff.clone();
        diff.add(&w.appended);
        let mut tally = Tally::after(diff);
        let mut files = Vec::new();
        let mut staged = Vec::new();
        for file in &w.files {
            let path = table.path_of(&file.name);
            let mut out = PartOut::new(table, &path, HOLD_BYTES);
            let mut name = || {
                n += 1;
                staged_name(&id, n - 1)
            };
            for b in read_part(&path, &table.def.schema)? {
                let b = b?;
                match tally.apply(&table.def, f(&b)?, &b)? {
                    None => out.push(b, false, &mut name)?,
                    Some(rows) => out.push(rows, true, &mut name)?,
                }
            }
            match out.finish()? {
                Outcome::Kept => files.push(file.clone()),
                Outcome::Rewritten(part) => {
                    if let Some(part) = part {
                        staged.push(table.path_of(&part.name));
                        files.push(part);
                    }
                }
            }
        }
        let mut log = Vec::new();
        for b in w.log.iter().chain(w.appended.iter()) {
            let rows = tally.apply(&table.def, f(b)?, b)?;
            log.push(rows.unwrap_or_else(|| b.clone()));
        }
        if tally.rekeyed {
            // Before the work takes the new rows: a refused UPDATE leaves the block's as they
            // were, and the files it staged go.
            if let Err(e) = table.check_unique_parts(&files, &log) {
                discard_staged(&staged);
                return Err(e);
            }
        }
        w.rewritten_as(files, log);
        w.diff = tally.diff;
        w.next_id = next_id_after(&table.def, &w.log, w.next_id)?;
        self.next_file = n;
        self.staged.extend(staged);
        Ok(tally.changed)
    }
}
