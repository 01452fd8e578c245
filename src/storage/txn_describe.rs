//! COMMENT ON a table created at run time or one of its columns, in a transaction: the
//! description is part of the table's definition (a new object for the same folder, as an
//! index), so it is durable, seen by others at COMMIT and gone with the table or column.

use super::created::SavedTable;
use super::def::Description;
use super::table::Table;
use super::txn::Txn;
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use std::sync::Arc;

impl Txn {
    /// Sets (`text` Some) or removes the description of `table` or of its `column`.
    pub fn describe(
        &mut self,
        table: &str,
        column: Option<&str>,
        text: Option<&str>,
    ) -> Result<Arc<Table>> {
        let old = self.run_time(table, "commented on")?;
        if let Some(c) = column {
            if old.def.schema.index_of(c).is_err() {
                return Err(CipError::invalid(
                    sqlstate::UNDEFINED_COLUMN,
                    format!("column \"{c}\" of relation \"{table}\" does not exist"),
                ));
            }
        }
        let mut saved = SavedTable::of_def(table, &old.def);
        let descriptions = &mut saved.declared.descriptions;
        descriptions.retain(|d| d.column.as_deref() != column);
        if let Some(text) = text.filter(|t| !t.is_empty()) {
            descriptions.push(Description {
                column: column.map(str::to_string),
                text: text.to_string(),
            });
        }
        self.replace_def(old, saved)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Declared, Store, StoreOptions};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    /// Descriptions are kept across reopening, follow a renamed column and go with a dropped
    /// one; an empty text removes one, as PostgreSQL's.
    #[test]
    fn descriptions_are_kept_renamed_and_dropped() {
        use super::super::txn_reshape::ColumnChange;
        let dir = tempfile::tempdir().expect("dir");
        let opts = StoreOptions::default();
        let store = Store::open(dir.path(), opts.clone(), vec![]).expect("open");
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Int64, true),
            Field::new("v", DataType::Utf8, true),
        ]));
        store
            .create_table("t", &schema, &Declared::default())
            .expect("create");
        let mut txn = store.begin();
        txn.describe("t", None, Some("the table")).expect("table");
        txn.describe("t", Some("v"), Some("a value"))
            .expect("column");
        txn.describe("t", Some("k"), Some("gone soon"))
            .expect("column");
        txn.describe("t", Some("k"), Some("")).expect("removed");
        let e = txn
            .describe("t", Some("nope"), Some("x"))
            .expect_err("no column");
        assert_eq!(e.sqlstate(), "42703");
        txn.commit().expect("commit");
        drop(store);
        let store = Store::open(dir.path(), opts, vec![]).expect("reopen");
        let texts = |store: &Store| -> Vec<(Option<String>, String)> {
            let t = store.table("t").expect("t");
            let mut d: Vec<_> = (t.def.descriptions.iter())
                .map(|d| (d.column.clone(), d.text.clone()))
                .collect();
            d.sort();
            d
        };
        assert_eq!(
            texts(&store),
            [
                (None, "the table".into()),
                (Some("v".into()), "a value".into())
            ]
        );
        let mut txn = store.begin();
        let renamed = ColumnChange::Rename {
            from: "v".into(),
            to: "w".into(),
        };
        txn.alter_columns("t", &[renamed]).expect("rename");
        txn.commit().expect("commit");
        assert_eq!(texts(&store)[1], (Some("w".into()), "a value".into()));
        let mut txn = store.begin();
        txn.alter_columns("t", &[ColumnChange::Drop("w".into())])
            .expect("drop");
        txn.commit().expect("commit");
        assert_eq!(texts(&store), [(None, "the table".into())]);
    }
}
