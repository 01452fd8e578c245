//! Column changes of a table created at run time, in a transaction: ALTER TABLE's DROP /
//! RENAME COLUMN and ALTER COLUMN … SET/DROP DEFAULT, SET/DROP NOT NULL, TYPE. A change of the
//! definition alone (a default, allowing NULL) makes a new object for the same folder, as ADD
//! COLUMN does; one that the stored rows must follow (a column gone, renamed or of another
//! type, NOT NULL checked against them) also rewrites every row the transaction sees into
//! staged parts of the new shape, part by part, committed with the new definition as one —
//! the commit fails with 40001 if anyone wrote the table meanwhile, as an UPDATE's does.

use super::created::{field_metadata, DeclaredDefault, SavedTable};
use super::parquet_io::read_part;
use super::table::Table;
use super::txn::Txn;
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use datafusion::arrow::array::{ArrayRef, RecordBatchOptions};
use datafusion::arrow::compute::{can_cast_types, cast_with_options, CastOptions};
use datafusion::arrow::datatypes::{Field, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One change of a table's columns.
#[derive(Debug, Clone)]
pub enum ColumnChange {
    Drop(String),
    Rename {
        from: String,
        to: String,
    },
    /// A new default, or none.
    Default {
        column: String,
        value: Option<DeclaredDefault>,
    },
    Nullable {
        column: String,
        nullable: bool,
    },
    /// To the type of `to` (its data type and metadata; its name is not read).
    Type {
        column: String,
        to: Field,
    },
}

/// A column of the table being reshaped: its name and type after the changes, and the
/// column of the stored rows it is read from.
struct Shaped {
    name: String,
    ty: String,
    nullable: bool,
    metadata: BTreeMap<String, String>,
    from: usize,
}

fn no_column(column: &str, table: &str) -> CipError {
    CipError::invalid(
        sqlstate::UNDEFINED_COLUMN,
        format!("column \"{column}\" of relation \"{table}\" does not exist"),
    )
}

fn find(shape: &[Shaped], column: &str, table: &str) -> Result<usize> {
    shape
        .iter()
        .position(|c| c.name == column)
        .ok_or_else(|| no_column(column, table))
}

impl Txn {
    /// Applies `changes` in order to `name`'s columns; the rows are rewritten when they must
    /// follow. Indexes over a dropped column go with it; the key's columns cannot be dropped
    /// or allow NULL (0A000 / 42P16).
    pub fn alter_columns(&mut self, name: &str, changes: &[ColumnChange]) -> Result<Arc<Table>> {
        let old = self.run_time(name, "altered")?;
        let mut saved = SavedTable::of_def(name, &old.def);
        let mut shape: Vec<Shaped> = saved
            .columns
            .iter()
            .enumerate()
            .map(|(from, (n, ty, nullable))| Shaped {
                name: n.clone(),
                ty: ty.clone(),
                nullable: *nullable,
                metadata: (saved.metadata.iter())
                    .find(|(c, _)| c == n)
                    .map(|(_, m)| m.clone())
                    .unwrap_or_default(),
                from,
            })
            .collect();
        let declared = &mut saved.declared;
        let mut rewrite = false;
        for change in changes {
            match change {
                ColumnChange::Drop(column) => {
                    let at = find(&shape, column, name)?;
                    if declared.key.contains(column) {
                        return Err(CipError::invalid(
                            sqlstate::FEATURE_NOT_SUPPORTED,
                            format!("column \"{column}\" is in the primary key of \"{name}\" and cannot be dropped"),
                        ));
                    }
                    shape.remove(at);
                    declared.defaults.retain(|(c, _)| c != column);
                    declared
                        .indexes
                        .retain(|i| !i.columns.iter().any(|c| &c.name == column));
                    (declared.descriptions).retain(|d| d.column.as_ref() != Some(column));
                    rewrite = true;
                }
                ColumnChange::Rename { from, to } => {
                    let at = find(&shape, from, name)?;
                    if shape.iter().any(|c| &c.name == to) {
                        return Err(CipError::invalid(
                            sqlstate::DUPLICATE_COLUMN,
                            format!("column \"{to}\" of relation \"{name}\" already exists"),
                        ));
                    }
                    shape[at].name = to.clone();
                    let renamed = |c: &mut String| {
                        if c == from {
                            *c = to.clone();
                        }
                    };
                    declared.key.iter_mut().for_each(renamed);
                    declared.defaults.iter_mut().for_each(|(c, _)| renamed(c));
                    for index in declared.indexes.iter_mut() {
                        index.columns.iter_mut().for_each(|c| renamed(&mut c.name));
                    }
                    (declared.descriptions.iter_mut())
                        .filter_map(|d| d.column.as_mut())
                        .for_each(renamed);
                    rewrite = true;
                }
                ColumnChange::Default { column, value } => {
                    find(&shape, column, name)?;
                    declared.defaults.retain(|(c, _)| c != column);
                    if let Some(v) = value {
                        declared.defaults.push((column.clone(), v.clone()));
                    }
                }
                ColumnChange::Nullable { column, nullable } => {
                    let at = find(&shape, column, name)?;
                    if *nullable && declared.key.contains(column) {
                        return Err(CipError::invalid(
                            sqlstate::INVALID_TABLE_DEFINITION,
                            format!("column \"{column}\" is in a primary key"),
                        ));
                    }
                    // Rows are checked (a rewrite) only when NULL stops being allowed.
                    rewrite |= shape[at].nullable && !*nullable;
                    shape[at].nullable = *nullable;
                }
                ColumnChange::Type { column, to } => {
                    let at = find(&shape, column, name)?;
                    let from = old.def.schema.field(shape[at].from).data_type();
                    let (to, metadata) = (to.data_type(), field_metadata(to));
                    if !can_cast_types(from, to) {
                        return Err(CipError::invalid(
                            sqlstate::DATATYPE_MISMATCH,
                            format!(
                                "column \"{column}\" cannot be cast automatically to type {to}"
                            ),
                        ));
                    }
                    shape[at].ty = to.to_string();
                    shape[at].metadata = metadata;
                    rewrite = true;
                }
            }
        }
        if shape.is_empty() {
            return Err(CipError::invalid(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!("\"{name}\" would have no columns; drop the table instead"),
            ));
        }
        saved.columns = shape
            .iter()
            .map(|c| (c.name.clone(), c.ty.clone(), c.nullable))
            .collect();
        saved.metadata = (shape.iter())
            .filter(|c| !c.metadata.is_empty())
            .map(|c| (c.name.clone(), c.metadata.clone()))
            .collect();
        let new = Arc::new(old.successor(saved.def()?));
        let _ = new.parents.set(vec![]);
        if rewrite {
            let from: Vec<usize> = shape.iter().map(|c| c.from).collect();
            self.reshape(&old, &new, &from)?;
        }
        self.record(Some(old), Some(new.clone()));
        self.rebase(&new, false)?;
        Ok(new)
    }

    /// The transaction's version of `old`'s rows, as `new`'s: column i of a row is column
    /// `from[i]` of the stored one, cast to its new type and checked for NULL.
    fn reshape(&mut self, old: &Arc<Table>, new: &Arc<Table>, from: &[usize]) -> Result<()> {
        let schema = new.def.schema.clone();
        let map = |b: &RecordBatch| shaped(b, &schema, from);
        let (id, mut n) = (self.id.clone(), self.next_file);
        let w = self.work(old)?;
        let mut files = Vec::new();
        let mut staged = Vec::new();
        let mut done = || -> Result<()> {
            for file in &w.files {
                let rows = read_part(&old.path_of(&file.name), &old.def.schema)?
                    .map(|b| map(&b?))
                    .collect::<Result<Vec<_>>>()?;
                if rows.iter().any(|b| b.num_rows() > 0) {
                    let name = super::txn::staged_name(&id, n);
                    n += 1;
                    staged.push(new.path_of(&name));
                    files.push(new.write_part(&name, &rows)?);
                }
            }
            Ok(())
        };
        let wrote = done();
        let log = wrote.and_then(|()| {
            w.log
                .iter()
                .chain(w.appended.iter())
                .map(map)
                .collect::<Result<Vec<_>>>()
        });
        let log = match log {
            Ok(log) => log,
            Err(e) => {
                super::txn::discard_staged(&staged);
                return Err(e);
            }
        };
        w.rewritten_as(files, log);
        w.diff.untold();
        w.stored_as.get_or_insert_with(|| old.clone());
        w.table = new.clone();
        self.next_file = n;
        self.staged.extend(staged);
        Ok(())
    }
}

/// `batch` in `schema`'s shape (see Txn::reshape): 22P02 for a value the new type cannot
/// hold, 23502 for a NULL in a column that no longer allows one.
fn shaped(batch: &RecordBatch, schema: &SchemaRef, from: &[usize]) -> Result<RecordBatch> {
    let strict = CastOptions {
        safe: false,
        ..Default::default()
    };
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(from.len());
    for (field, &i) in schema.fields().iter().zip(from) {
        let column = batch.column(i);
        let column = if column.data_type() == field.data_type() {
            column.clone()
        } else {
            cast_with_options(column, field.data_type(), &strict).map_err(|e| {
                CipError::invalid(
                    sqlstate::INVALID_TEXT_REPRESENTATION,
                    format!(
                        "a value of column \"{}\" does not convert to {}: {e}",
                        field.name(),
                        field.data_type()
                    ),
                )
            })?
        };
        if !field.is_nullable() && column.null_count() > 0 {
            return Err(CipError::invalid(
                sqlstate::NOT_NULL_VIOLATION,
                format!("column \"{}\" contains null values", field.name()),
            ));
        }
        columns.push(column);
    }
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    let shaped = RecordBatch::try_new_with_options(schema.clone(), columns, &options)?;
    crate::column_types::conform(schema, shaped)
}

#[cfg(test)]
#[path = "txn_reshape_tests.rs"]
mod tests;
