//! Columns added to a table created at run time (ALTER TABLE … ADD COLUMN). Nothing is
//! rewritten: the saved definition gains nullable columns at its end and the files written
//! before read with NULLs in them (widen.rs). The table's object is replaced by one with the
//! new definition; the old one, which sessions may still hold for a statement in flight,
//! reads as before but refuses to write (40001), so no row is written without the new
//! columns once they exist. Both share the readers' pins, so neither removes a file the
//! other's readers use.

use super::created;
use super::table::Table;
use super::Store;
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use datafusion::arrow::datatypes::Field;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// The committed state of a table when columns were added to it: undoing the addition is
/// only safe while nobody has committed rows that may hold values in them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AddedAt {
    version: u64,
    wal_end: u64,
    /// The number of columns before.
    width: usize,
}

impl Store {
    /// Adds nullable `columns` at the end of a table created at run time: 42501 for the
    /// warehouse's own tables, 42701 for a name it has, 0A000 for a column that is not
    /// nullable (existing rows would break it).
    pub fn add_columns(&self, name: &str, columns: &[Field]) -> Result<(Arc<Table>, AddedAt)> {
        let old = self.table(name)?;
        let _g = old.lock_for_write()?;
        let snap = old.snapshot_for_write()?;
        let mut width = 0;
        let table = self.redefine(&old, |saved| {
            width = saved.columns.len();
            for f in columns {
                if !f.is_nullable() {
                    return Err(CipError::invalid(
                        sqlstate::FEATURE_NOT_SUPPORTED,
                        format!(
                            "column \"{}\" must allow NULL: the rows {name} has would have \
                             none; add it, UPDATE it, and check it in your queries",
                            f.name()
                        ),
                    ));
                }
                if saved.columns.iter().any(|(c, _, _)| c == f.name()) {
                    return Err(CipError::invalid(
                        sqlstate::DUPLICATE_COLUMN,
                        format!(
                            "column \"{}\" of relation \"{name}\" already exists",
                            f.name()
                        ),
                    ));
                }
                let column = (f.name().clone(), f.data_type().to_string(), true);
                saved.columns.push(column);
            }
            Ok(())
        })?;
        let Some(table) = table else {
            return Err(CipError::invalid(
                sqlstate::INSUFFICIENT_PRIVILEGE,
                format!(
                    "\"{name}\" is one of the warehouse's tables; its columns are cip's \
                     (create a table of your own with the columns you need)"
                ),
            ));
        };
        let added = AddedAt {
            version: snap.manifest.version,
            wal_end: snap.wal_end,
            width,
        };
        Ok((table, added))
    }

    /// Takes back columns `add_columns` added (a block that added them did not commit), if
    /// nothing was committed to the table since; otherwise they stay (nothing written in them
    /// is lost) and false is returned.
    pub fn remove_added_columns(&self, name: &str, added: AddedAt) -> Result<bool> {
        let old = self.table(name)?;
        let _g = old.lock_for_write()?;
        let snap = old.snapshot_for_write()?;
        if snap.manifest.version != added.version || snap.wal_end != added.wal_end {
            return Ok(false);
        }
        let table = self.redefine(&old, |saved| {
            saved.columns.truncate(added.width);
            Ok(())
        })?;
        Ok(table.is_some())
    }

    /// Gives the run-time table `old` (whose write lock the caller holds) the definition
    /// `change` makes of its saved one: saved durably, then a new object for its folder that
    /// shares its readers' pins takes its place, and `old` refuses writes from then on. None
    /// when `old` was not created at run time.
    fn redefine(
        &self,
        old: &Table,
        change: impl FnOnce(&mut created::SavedTable) -> Result<()>,
    ) -> Result<Option<Arc<Table>>> {
        let mut tables = self.tables.write().unwrap_or_else(|p| p.into_inner());
        let mut run_time = self.run_time.lock().unwrap_or_else(|p| p.into_inner());
        let Some(at) = run_time.iter().position(|t| t.name == old.name()) else {
            return Ok(None);
        };
        let mut next = run_time.clone();
        change(&mut next[at])?;
        let table = Arc::new(old.successor(next[at].def()?));
        let _ = table.parents.set(vec![]);
        created::save(&self.root, &next)?;
        *run_time = next;
        old.stale.store(true, Ordering::SeqCst);
        tables.insert(table.name(), table.clone());
        self.generation.fetch_add(1, Ordering::SeqCst);
        Ok(Some(table))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Array, RecordBatch};
    use datafusion::arrow::datatypes::{DataType, Int64Type, Schema, SchemaRef};

    fn row(schema: &SchemaRef, values: &[Option<i64>]) -> RecordBatch {
        let columns: Vec<ArrayRef> = values
            .iter()
            .map(|v| Arc::new(Int64Array::from(vec![*v])) as ArrayRef)
            .collect();
        RecordBatch::try_new(schema.clone(), columns).expect("batch")
    }

    /// The values of column `i` of every committed row, sorted.
    fn column(table: &Table, i: usize) -> Vec<Option<i64>> {
        let snap = table.snapshot().expect("snapshot");
        let mut out = Vec::new();
        let mut batches: Vec<RecordBatch> = snap.wal_batches.to_vec();
        for f in &snap.manifest.files {
            let part =
                super::super::parquet_io::read_part(&table.path_of(&f.name), &table.def.schema);
            batches.extend(part.expect("part").map(|b| b.expect("batch")));
        }
        for b in &batches {
            let c = b.column(i).as_primitive::<Int64Type>();
            out.extend((0..b.num_rows()).map(|r| c.is_valid(r).then(|| c.value(r))));
        }
        out.sort();
        out
    }

    fn code(e: CipError) -> &'static str {
        e.sqlstate()
    }

    /// Added columns: older rows read NULL, the old object refuses writes (40001), a block
    /// that wrote through the old object continues on the new one, the column survives a
    /// reopen, and taking it back works only while nothing was committed since.
    #[test]
    fn added_columns_are_durable_and_old_objects_cannot_write() {
        let dir = tempfile::tempdir().expect("tempdir");
        let opts = crate::storage::StoreOptions::default();
        let store = Store::open(dir.path(), opts.clone(), vec![]).expect("open");
        let one = Arc::new(Schema::new(vec![Field::new("k", DataType::Int64, true)]));
        let old = store.create_table("grown", &one).expect("create");
        old.append(&[row(&one, &[Some(1)])]).expect("append");
        let mut txn = store.begin();
        txn.append(&old, &[row(&one, &[Some(2)])])
            .expect("block append");

        let extra = Field::new("extra", DataType::Int64, true);
        let (new, at) = store
            .add_columns("grown", std::slice::from_ref(&extra))
            .expect("add");
        let two = new.def.schema.clone();
        assert_eq!(
            code(old.append(&[row(&one, &[Some(9)])]).unwrap_err()),
            "40001"
        );
        assert_eq!(
            code(store.add_columns("grown", &[extra]).unwrap_err()),
            "42701"
        );
        let not_null = Field::new("nn", DataType::Int64, false);
        assert_eq!(
            code(store.add_columns("grown", &[not_null]).unwrap_err()),
            "0A000"
        );
        assert_eq!(code(store.add_columns("nope", &[]).unwrap_err()), "42P01");

        // The block's next use of the table is through the new object: its rows widen.
        txn.append(&new, &[row(&two, &[Some(3), Some(30)])])
            .expect("block append after");
        assert_eq!(
            code(txn.append(&old, &[row(&one, &[Some(4)])]).unwrap_err()),
            "40001"
        );
        txn.commit().expect("commit");
        assert_eq!(column(&new, 0), [Some(1), Some(2), Some(3)]);
        assert_eq!(column(&new, 1), [None, None, Some(30)]);
        // Rows were committed since the ALTER: taking the column back would lose them.
        assert!(!store.remove_added_columns("grown", at).expect("undo"));
        drop(store);

        let store = Store::open(dir.path(), opts, vec![]).expect("reopen");
        let table = store.table("grown").expect("table");
        assert_eq!(table.def.schema, two);
        assert_eq!(column(&table, 1), [None, None, Some(30)]);
        let (_, at) = store
            .add_columns("grown", &[Field::new("more", DataType::Int64, true)])
            .expect("add another");
        assert!(store.remove_added_columns("grown", at).expect("undo"));
        assert_eq!(store.table("grown").expect("table").def.schema, two);
    }
}
