//! Table DDL in a transaction: CREATE TABLE, DROP TABLE, ALTER TABLE … RENAME and ADD COLUMN
//! of tables created at run time. Each is recorded as a change of the table set
//! (table_set.rs) that only the transaction sees — its statements read and write the new
//! objects — and that its commit makes everyone's, with its rows. A created table's folder is
//! made at once and removed again if the transaction does not commit.

use super::created::{Declared, DeclaredDefault, SavedTable};
use super::table::Table;
use super::table_set::TableChange;
use super::txn::{Txn, Work};
use super::widen::widen;
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use datafusion::arrow::datatypes::{Field, Schema};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// The tables a transaction's DDL changed, by name: the new object, or None (dropped or
/// renamed away).
pub type Overlay = BTreeMap<&'static str, Option<Arc<Table>>>;

impl Txn {
    /// What this transaction's DDL changed of the table set (empty when it ran none).
    pub fn overlay(&self) -> Overlay {
        let mut out = Overlay::new();
        for c in &self.ddl {
            if let Some(old) = &c.old {
                out.insert(old.name(), None);
            }
            if let Some(new) = &c.new {
                out.insert(new.name(), Some(new.clone()));
            }
        }
        out
    }

    /// The table `name` as this transaction sees it.
    pub fn table_now(&self, name: &str) -> Option<Arc<Table>> {
        match self.overlay().remove(name) {
            Some(changed) => changed,
            None => self.set.as_ref()?.read().get(name).cloned(),
        }
    }

    /// Whether `name` is, as this transaction sees it, a table created at run time.
    pub fn is_run_time(&self, name: &str) -> bool {
        match self.overlay().get(name) {
            Some(t) => t.is_some(),
            None => self
                .set
                .as_ref()
                .is_some_and(|s| s.created_at_run_time(name)),
        }
    }

    /// A run-time table this transaction may drop, rename or alter: 42P01 when there is
    /// none, 42501 for the warehouse's own.
    pub(super) fn run_time(&self, name: &str, what: &str) -> Result<Arc<Table>> {
        let Some(table) = self.table_now(name) else {
            return Err(CipError::invalid(
                sqlstate::UNDEFINED_TABLE,
                format!("relation \"{name}\" does not exist"),
            ));
        };
        if !self.is_run_time(name) {
            return Err(CipError::invalid(
                sqlstate::INSUFFICIENT_PRIVILEGE,
                format!("\"{name}\" was not created with CREATE TABLE and cannot be {what}"),
            ));
        }
        Ok(table)
    }

    pub(super) fn record(&mut self, old: Option<Arc<Table>>, new: Option<Arc<Table>>) {
        self.ddl.push(TableChange { old, new });
    }

    /// CREATE TABLE: an empty table in a folder of its own, with what it `declared` (its key
    /// columns become NOT NULL); 42P07 if the name is taken.
    pub fn create_table(
        &mut self,
        name: &str,
        schema: &Schema,
        declared: &Declared,
    ) -> Result<Arc<Table>> {
        let Some(set) = self.set.clone() else {
            return Err(CipError::Corrupt(
                "table DDL needs a transaction begun on the store".into(),
            ));
        };
        if self.table_now(name).is_some() {
            return Err(CipError::invalid(
                sqlstate::DUPLICATE_TABLE,
                format!("relation \"{name}\" already exists"),
            ));
        }
        let def = SavedTable {
            declared: declared.clone(),
            ..SavedTable::of(name, &keyed_schema(schema, declared))
        }
        .def()?;
        let dir = set.reserve_folder(name, &self.id)?;
        self.made_dirs.push(dir.clone());
        let table = Arc::new(Table::new(def, dir, set.opts.clone()));
        let _ = table.parents.set(vec![]);
        super::init_table(&table)?;
        self.record(None, Some(table.clone()));
        Ok(table)
    }

    /// DROP TABLE: the transaction's work on it goes with it.
    pub fn drop_table(&mut self, name: &str) -> Result<()> {
        let old = self.run_time(name, "dropped")?;
        self.record(Some(old), None);
        // Savepoints taken before keep theirs: ROLLBACK TO one gives the table back.
        self.work.remove(name);
        Ok(())
    }

    /// ALTER TABLE … RENAME TO: a new object for the same folder under the new name, which the
    /// transaction's work on the table follows; 42P07 if the new name is taken.
    pub fn rename_table(&mut self, from: &str, to: &str) -> Result<Arc<Table>> {
        let old = self.run_time(from, "renamed")?;
        if self.table_now(to).is_some() {
            return Err(CipError::invalid(
                sqlstate::DUPLICATE_TABLE,
                format!("relation \"{to}\" already exists"),
            ));
        }
        let new = Arc::new(old.successor(SavedTable::of_def(to, &old.def).def()?));
        let _ = new.parents.set(vec![]);
        self.record(Some(old), Some(new.clone()));
        if let Some(mut w) = self.work.remove(from) {
            w.table = new.clone();
            self.work.insert(new.name(), w);
        }
        Ok(new)
    }

    /// ALTER TABLE … ADD COLUMN: nullable `columns` at the end; nothing is rewritten (older
    /// rows read NULL in them, widen.rs). 42701 for a name the table has, 0A000 for a column
    /// that is not nullable.
    pub fn add_columns(&mut self, name: &str, columns: &[Field]) -> Result<Arc<Table>> {
        let old = self.run_time(name, "altered")?;
        let mut saved = SavedTable::of_def(name, &old.def);
        for f in columns {
            if !f.is_nullable() {
                return Err(CipError::invalid(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    format!(
                        "column \"{}\" must allow NULL: the rows {name} has would have none; \
                         add it, UPDATE it, and check it in your queries",
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
            saved
                .columns
                .push((f.name().clone(), f.data_type().to_string(), true));
            if !f.metadata().is_empty() {
                (saved.metadata).push((f.name().clone(), super::created::field_metadata(f)));
            }
        }
        let new = Arc::new(old.successor(saved.def()?));
        let _ = new.parents.set(vec![]);
        self.record(Some(old), Some(new.clone()));
        self.rebase(&new, false)?;
        Ok(new)
    }

    /// Another transaction's committed ALTER TABLE gave the table columns since this one
    /// first used it: its work continues on `to`, the object with the newer definition, its
    /// rows in memory widened with NULLs. 40001 when `to` is an
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
        self.rebase(to, true)
    }

    /// The transaction's work on the table continues on `to`, an object with a wider
    /// definition: its rows in memory widen with NULLs. Its savepoints' too when the change
    /// is another's (it stays whatever this transaction rolls back to).
    pub(super) fn rebase(&mut self, to: &Arc<Table>, savepoints: bool) -> Result<()> {
        let (name, schema) = (to.name(), to.def.schema.clone());
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
        if savepoints {
            for (w, _) in self.savepoints.iter_mut() {
                rebase(w)?;
            }
        }
        Ok(())
    }
}

/// `schema` with the key columns NOT NULL, as a primary key makes them — except serial ones,
/// which are filled when a row has none and so stay nullable to the planner (rows.rs).
fn keyed_schema(schema: &Schema, declared: &Declared) -> Schema {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            let serial = declared
                .defaults
                .iter()
                .any(|(c, d)| c == f.name() && *d == DeclaredDefault::Serial);
            let keyed = declared.key.iter().any(|k| k == f.name());
            f.as_ref()
                .clone()
                .with_nullable(serial || (f.is_nullable() && !keyed))
        })
        .collect();
    Schema::new_with_metadata(fields, schema.metadata().clone())
}

fn changed(table: &str) -> CipError {
    CipError::invalid(
        sqlstate::SERIALIZATION_FAILURE,
        format!("{table} was changed by DDL while this transaction used it; retry"),
    )
}

#[cfg(test)]
mod tests {
    use super::super::Store;
    use super::*;
    use datafusion::arrow::array::{Array, ArrayRef, AsArray, Int64Array, RecordBatch};
    use datafusion::arrow::datatypes::{DataType, Int64Type, SchemaRef};

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
    /// reopen. Table DDL in a transaction is its own until commit, and its folders go with
    /// it when it does not commit.
    #[test]
    fn added_columns_are_durable_and_old_objects_cannot_write() {
        let dir = tempfile::tempdir().expect("tempdir");
        let opts = crate::storage::StoreOptions::default();
        let store = Store::open(dir.path(), opts.clone(), vec![]).expect("open");
        let one = Arc::new(Schema::new(vec![Field::new("k", DataType::Int64, true)]));
        let old = store
            .create_table("grown", &one, &Declared::default())
            .expect("create");
        old.append(&[row(&one, &[Some(1)])]).expect("append");
        let mut txn = store.begin();
        txn.append(&old, &[row(&one, &[Some(2)])])
            .expect("block append");

        let extra = Field::new("extra", DataType::Int64, true);
        let new = store
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
        drop(store);

        let store = Store::open(dir.path(), opts.clone(), vec![]).expect("reopen");
        let table = store.table("grown").expect("table");
        assert_eq!(table.def.schema, two);
        assert_eq!(column(&table, 1), [None, None, Some(30)]);
        let mut block = store.begin();
        let more = Field::new("more", DataType::Int64, true);
        let wider = block.add_columns("grown", &[more]).expect("add in a block");
        assert_eq!(wider.def.schema.fields().len(), 3);
        assert_eq!(
            store.table("grown").expect("table").def.schema,
            two,
            "not yet"
        );
        let made = block
            .create_table("fresh", &one, &Declared::default())
            .expect("create in a block");
        block
            .append(&made, &[row(&one, &[Some(7)])])
            .expect("append");
        let renamed = block.rename_table("fresh", "fresh2").expect("rename");
        assert_eq!(code(store.table("fresh").unwrap_err()), "42P01", "not yet");
        drop(block);
        assert!(!made.dir.exists(), "a rolled-back block's folder goes");
        assert_eq!(store.table("grown").expect("table").def.schema, two);

        let mut block = store.begin();
        let made = block
            .create_table("fresh", &one, &Declared::default())
            .expect("create");
        block
            .append(&made, &[row(&one, &[Some(8)])])
            .expect("append");
        block.rename_table("fresh", "fresh2").expect("rename");
        block.drop_table("grown").expect("drop");
        block.commit().expect("commit");
        assert_eq!(code(store.table("grown").unwrap_err()), "42P01");
        assert!(
            !table.dir.exists(),
            "a dropped table's folder goes at commit"
        );
        let fresh = store.table("fresh2").expect("renamed");
        assert_eq!(column(&fresh, 0), [Some(8)]);
        assert_eq!(fresh.dir, made.dir, "a rename keeps the folder");
        drop(renamed);
        drop(store);
        let store = Store::open(dir.path(), opts, vec![]).expect("reopen");
        assert_eq!(
            column(&store.table("fresh2").expect("reopened"), 0),
            [Some(8)]
        );
        assert!(store.table("grown").is_err());
    }
}
