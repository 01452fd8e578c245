//! A block's work follows the DDL it runs (DDL acts at once, see statement/ddl.rs): a table
//! renamed, dropped or given new columns in the block.

use super::table::Table;
use super::txn::{Txn, Work};
use super::widen::widen;
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

impl Txn {
    /// ALTER TABLE … RENAME in the block (DDL acts at once): the block's work on the table
    /// follows it to its new name and folder, in the savepoints too.
    pub fn follow_rename(&mut self, from: &str, to: &Arc<Table>) {
        let rekey = |work: &mut BTreeMap<&'static str, Work>| {
            if let Some(mut w) = work.remove(from) {
                w.table = to.clone();
                work.insert(to.name(), w);
            }
        };
        rekey(&mut self.work);
        self.savepoints.iter_mut().for_each(|(w, _)| rekey(w));
        let Some(old_dir) = to.dir.parent().map(|root| root.join(from)) else {
            return;
        };
        for path in self.staged.iter_mut() {
            if let Ok(rest) = path.strip_prefix(&old_dir) {
                *path = to.dir.join(rest);
            }
        }
    }

    /// DROP TABLE in the block: the block's work on it goes with it.
    pub fn forget(&mut self, table: &str) {
        self.work.remove(table);
        self.savepoints.iter_mut().for_each(|(w, _)| {
            w.remove(table);
        });
    }

    /// The table gained (or, undone, lost) columns since the block first used it — ALTER
    /// TABLE in this block or another: the block's work continues on `to`, the object with
    /// the newer definition, its rows in memory widened with NULLs. 40001 when `to` is an
    /// older object than the block's (a statement planned before the change) or another
    /// table under the same name, or the rows do not fit.
    pub fn follow_alter(&mut self, to: &Arc<Table>) -> Result<()> {
        let name = to.name();
        let Some(w) = self.work.get(name) else {
            return Ok(());
        };
        let moved_on = w.table.stale.load(Ordering::SeqCst) && w.table.lineage == to.lineage;
        if !moved_on || to.stale.load(Ordering::SeqCst) {
            return Err(changed(name));
        }
        let schema = to.def.schema.clone();
        let rebase = |work: &mut BTreeMap<&'static str, Work>| -> Result<()> {
            if let Some(w) = work.get_mut(name) {
                w.table = to.clone();
                for b in w.log.iter_mut().chain(w.appended.iter_mut()) {
                    *b = widen(b.clone(), &schema).map_err(|_| changed(name))?;
                }
            }
            Ok(())
        };
        rebase(&mut self.work)?;
        for (w, _) in self.savepoints.iter_mut() {
            rebase(w)?;
        }
        Ok(())
    }
}

fn changed(table: &str) -> CipError {
    CipError::invalid(
        sqlstate::SERIALIZATION_FAILURE,
        format!("{table} was changed by DDL while this transaction used it; retry"),
    )
}
