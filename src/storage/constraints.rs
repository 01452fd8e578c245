//! CHECK-like domains and foreign keys of the contract's tables (TableDef::domains,
//! TableDef::references), enforced on every write path: INSERT, COPY, loads, rewrites. A
//! tracking event with an unknown status or campaign is refused whole, like PostgreSQL does.

use super::table::Table;
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use std::sync::Arc;

/// The tables a table's foreign keys point at, resolved when the store opens.
pub type Parents = Vec<(&'static str, Arc<Table>)>;

impl Table {
    /// Refuses `batch` if a value is outside its column's domain (23514) or names no row of
    /// the referenced table (23503).
    pub(super) fn check_constraints(&self, batch: &RecordBatch) -> Result<()> {
        self.check_constraints_with(batch, &|_, _| false)
    }

    /// `check_constraints`, where `pending(parent, key)` also counts as an existing parent row
    /// (one a transaction inserted and has not committed yet).
    pub(super) fn check_constraints_with(
        &self,
        batch: &RecordBatch,
        pending: &dyn Fn(&str, &str) -> bool,
    ) -> Result<()> {
        for (column, allowed) in self.def.domains {
            let Some(values) = text_column(batch, column)? else {
                continue;
            };
            let values = values.as_string::<i32>();
            if let Some(bad) = values.iter().flatten().find(|v| !allowed.contains(v)) {
                return Err(CipError::invalid(
                    sqlstate::CHECK_VIOLATION,
                    format!(
                        "{}.{column} {bad:?} is not one of: {}",
                        self.name(),
                        allowed.join(", ")
                    ),
                ));
            }
        }
        let Some(parents) = self.parents.get() else {
            return Ok(());
        };
        for (column, parent) in parents {
            let Some(values) = text_column(batch, column)? else {
                continue;
            };
            let values = values.as_string::<i32>();
            let snap = parent.snapshot()?;
            let keys = parent.existing_keys(&snap)?;
            let found = |v: &str| keys.contains(v) || pending(parent.name(), v);
            if let Some(missing) = values.iter().flatten().find(|v| !found(v)) {
                return Err(CipError::invalid(
                    sqlstate::FOREIGN_KEY_VIOLATION,
                    format!(
                        "{}.{column} {missing:?} is not in {} (insert the {} row first)",
                        self.name(),
                        parent.name(),
                        parent.name()
                    ),
                ));
            }
        }
        Ok(())
    }
}

fn text_column(batch: &RecordBatch, column: &str) -> Result<Option<Arc<dyn Array>>> {
    match batch.column_by_name(column) {
        None => Ok(None),
        Some(c) => Ok(Some(cast(c, &DataType::Utf8)?)),
    }
}
