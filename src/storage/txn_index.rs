//! CREATE INDEX and DROP INDEX of a table created at run time, in a transaction: the table's
//! definition gains or loses the index (a new object for the same folder, as ADD COLUMN
//! makes; no row is read or written), which the transaction's commit makes everyone's.
//! Index names are unique among the tables that share a name's qualifier (`schema.` — the
//! layer above's schemas), checked here and again at commit (table_set.rs), as two
//! transactions may each take a name.

use super::created::SavedTable;
use super::def::IndexDef;
use super::table::Table;
use super::txn::Txn;
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use std::sync::Arc;

/// The part of a table's name before its last `.`, which its indexes' names share.
pub(super) fn qualifier(table: &str) -> &str {
    table.rsplit_once('.').map(|(q, _)| q).unwrap_or("")
}

/// The table among `tables` that holds an index `index` under `table`'s qualifier (the
/// layer above asks with any name in the schema it means).
pub fn index_holder<'a>(
    tables: impl IntoIterator<Item = &'a Arc<Table>>,
    table: &str,
    index: &str,
) -> Option<&'a Arc<Table>> {
    let q = qualifier(table);
    tables
        .into_iter()
        .find(|t| qualifier(t.name()) == q && t.def.indexes.iter().any(|i| i.name == index))
}

pub(super) fn index_taken(index: &str) -> CipError {
    CipError::invalid(
        sqlstate::DUPLICATE_TABLE,
        format!("relation \"{index}\" already exists"),
    )
}

impl Txn {
    /// The tables this transaction sees.
    fn tables_now(&self) -> Vec<Arc<Table>> {
        let overlay = self.overlay();
        let mut now: Vec<Arc<Table>> = match &self.set {
            Some(set) => set
                .read()
                .iter()
                .filter(|(n, _)| !overlay.contains_key(*n))
                .map(|(_, t)| t.clone())
                .collect(),
            None => Vec::new(),
        };
        now.extend(overlay.into_values().flatten());
        now
    }

    /// CREATE INDEX: `table` (created at run time) gains `index`. 42P07 when a table under
    /// the same qualifier holds an index so named.
    pub fn create_index(&mut self, table: &str, index: IndexDef) -> Result<Arc<Table>> {
        let old = self.run_time(table, "indexed")?;
        if index_holder(&self.tables_now(), table, &index.name).is_some() {
            return Err(index_taken(&index.name));
        }
        let mut saved = SavedTable::of_def(table, &old.def);
        saved.declared.indexes.push(index);
        self.replace_def(old, saved)
    }

    /// DROP INDEX: `table` loses its index `index` (42704 when it has none so named).
    pub fn drop_index(&mut self, table: &str, index: &str) -> Result<Arc<Table>> {
        let old = self.run_time(table, "altered")?;
        let mut saved = SavedTable::of_def(table, &old.def);
        let before = saved.declared.indexes.len();
        saved.declared.indexes.retain(|i| i.name != index);
        if saved.declared.indexes.len() == before {
            return Err(CipError::invalid(
                sqlstate::UNDEFINED_OBJECT,
                format!("index \"{index}\" does not exist"),
            ));
        }
        self.replace_def(old, saved)
    }

    /// ALTER INDEX … RENAME TO: `table`'s index `from` is named `to` (42P07 when taken).
    pub fn rename_index(&mut self, table: &str, from: &str, to: &str) -> Result<Arc<Table>> {
        let old = self.run_time(table, "altered")?;
        if index_holder(&self.tables_now(), table, to).is_some() {
            return Err(index_taken(to));
        }
        let mut saved = SavedTable::of_def(table, &old.def);
        let Some(index) = saved.declared.indexes.iter_mut().find(|i| i.name == from) else {
            return Err(CipError::invalid(
                sqlstate::UNDEFINED_OBJECT,
                format!("index \"{from}\" does not exist"),
            ));
        };
        index.name = to.to_string();
        self.replace_def(old, saved)
    }

    /// `old` gives way to an object for the same folder with `saved`'s definition.
    pub(super) fn replace_def(&mut self, old: Arc<Table>, saved: SavedTable) -> Result<Arc<Table>> {
        let new = Arc::new(old.successor(saved.def()?));
        let _ = new.parents.set(vec![]);
        self.record(Some(old), Some(new.clone()));
        self.rebase(&new, false)?;
        Ok(new)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Declared, Store, StoreOptions};
    use super::*;
    use crate::storage::IndexColumn;
    use datafusion::arrow::array::{Int64Array, RecordBatch};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};

    fn index(name: &str) -> IndexDef {
        IndexDef {
            name: name.into(),
            columns: vec![IndexColumn {
                name: "k".into(),
                descending: true,
                nulls_first: true,
            }],
            unique: false,
            method: "btree".into(),
        }
    }

    /// Index names are taken once per qualifier, also by two transactions racing for one;
    /// a block that wrote a table commits after another's index DDL on it; indexes survive
    /// a reopen as declared.
    #[test]
    fn indexes_are_kept_and_their_names_taken_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path(), StoreOptions::default(), vec![]).expect("open");
        let schema = Arc::new(Schema::new(vec![Field::new("k", DataType::Int64, true)]));
        for name in ["a", "s.b", "s.c"] {
            store
                .create_table(name, &schema, &Declared::default())
                .expect("create");
        }
        let (mut first, mut second) = (store.begin(), store.begin());
        first.create_index("s.b", index("taken")).expect("first");
        second.create_index("s.c", index("taken")).expect("second");
        first.commit().expect("commit first");
        let e = second.commit().expect_err("the name was taken meanwhile");
        assert_eq!(e.sqlstate(), "42P07");
        let mut again = store.begin();
        let e = again
            .create_index("s.c", index("taken"))
            .expect_err("taken");
        assert_eq!(e.sqlstate(), "42P07");
        again
            .create_index("a", index("taken"))
            .expect("another qualifier");
        again.commit().expect("commit");

        let b = store.table("s.b").expect("s.b");
        let rows = RecordBatch::try_new(schema.clone(), vec![Arc::new(Int64Array::from(vec![7]))])
            .expect("batch");
        let mut writer = store.begin();
        writer.pin_all().expect("pin");
        writer.append(&b, &[rows]).expect("block append");
        // A table the block only pinned is replaced by another under its name (dbt's swap of
        // a table model): nothing of the block's to follow, its commit is unaffected.
        let mut swap = store.begin();
        swap.drop_table("s.c").expect("drop");
        swap.create_table("s.c", &schema, &Declared::default())
            .expect("create again");
        swap.commit().expect("swap");
        let mut dropper = store.begin();
        let e = dropper.drop_index("s.b", "nope").expect_err("unknown");
        assert_eq!(e.sqlstate(), "42704");
        dropper.drop_index("s.b", "taken").expect("drop");
        dropper.commit().expect("commit drop");
        writer
            .commit()
            .expect("the block follows the table's new definition");
        drop(store);

        let store = Store::open(dir.path(), StoreOptions::default(), vec![]).expect("reopen");
        assert_eq!(store.table("a").expect("a").def.indexes, [index("taken")]);
        let b = store.table("s.b").expect("s.b");
        assert!(b.def.indexes.is_empty());
        let snap = b.snapshot().expect("snapshot");
        let rows: u64 = snap.manifest.files.iter().map(|f| f.rows).sum();
        assert_eq!(rows, 1, "the block's row");
    }
}
