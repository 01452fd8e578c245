//! What the engine does to rows before they are logged: fill the columns an INSERT left out
//! (AUTO_INCREMENT ids, DEFAULT CURRENT_TIMESTAMP) and enforce NOT NULL and unique keys.

use super::def::{ColumnDefault, TableDef};
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use datafusion::arrow::array::{
    Array, ArrayRef, Int64Array, RecordBatch, TimestampMicrosecondArray,
};
use datafusion::arrow::util::display::array_value_to_string;
use std::collections::HashSet;
use std::sync::Arc;

/// The venue's current local wall-clock time, as microseconds since the epoch.
pub fn local_now_micros(tz: chrono_tz::Tz) -> i64 {
    chrono::Utc::now()
        .with_timezone(&tz)
        .naive_local()
        .and_utc()
        .timestamp_micros()
}

/// Fills defaults in place of NULLs and checks NOT NULL. Returns the batch and the next id.
pub fn fill_defaults(
    def: &TableDef,
    batch: &RecordBatch,
    mut next_id: i64,
    now_micros: i64,
) -> Result<(RecordBatch, i64)> {
    let schema = def.schema.clone();
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
    for (i, field) in schema.fields().iter().enumerate() {
        let col = batch.column(i).clone();
        let filled: ArrayRef = match def.default_of(field.name()) {
            ColumnDefault::AutoId if col.null_count() > 0 => {
                let ids = col
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .ok_or_else(|| CipError::Corrupt(format!("{} is not bigint", field.name())))?;
                let out: Int64Array = ids
                    .iter()
                    .map(|v| {
                        Some(v.unwrap_or_else(|| {
                            let id = next_id;
                            next_id += 1;
                            id
                        }))
                    })
                    .collect();
                Arc::new(out)
            }
            ColumnDefault::Now if col.null_count() > 0 => {
                let ts = col
                    .as_any()
                    .downcast_ref::<TimestampMicrosecondArray>()
                    .ok_or_else(|| {
                        CipError::Corrupt(format!("{} is not a timestamp", field.name()))
                    })?;
                let out: TimestampMicrosecondArray =
                    ts.iter().map(|v| Some(v.unwrap_or(now_micros))).collect();
                Arc::new(out)
            }
            _ => col,
        };
        if !field.is_nullable() && filled.null_count() > 0 {
            return Err(CipError::invalid(
                sqlstate::NOT_NULL_VIOLATION,
                format!(
                    "null value in column \"{}\" of relation \"{}\" violates not-null constraint",
                    field.name(),
                    def.name
                ),
            ));
        }
        columns.push(filled);
    }
    // Explicit ids move the counter past them.
    if let Some(col) = def.auto_id_column() {
        if let Some(ids) = batch_column::<Int64Array>(&schema, &columns, col) {
            if let Some(max) = datafusion::arrow::compute::max(ids) {
                next_id = next_id.max(max.saturating_add(1));
            }
        }
    }
    Ok((RecordBatch::try_new(schema, columns)?, next_id))
}

fn batch_column<'a, T: 'static>(
    schema: &datafusion::arrow::datatypes::SchemaRef,
    columns: &'a [ArrayRef],
    name: &str,
) -> Option<&'a T> {
    let i = schema.index_of(name).ok()?;
    columns[i].as_any().downcast_ref::<T>()
}

/// The key of every row, as one string per row (columns joined by a unit separator).
pub fn row_keys(def: &TableDef, batch: &RecordBatch) -> Result<Vec<String>> {
    let idx: Vec<usize> = def
        .key
        .iter()
        .map(|k| def.schema.index_of(k))
        .collect::<std::result::Result<_, _>>()?;
    let mut keys = Vec::with_capacity(batch.num_rows());
    for row in 0..batch.num_rows() {
        let mut k = String::new();
        for (n, &i) in idx.iter().enumerate() {
            if n > 0 {
                k.push('\u{1f}');
            }
            k.push_str(&array_value_to_string(batch.column(i), row)?);
        }
        keys.push(k);
    }
    Ok(keys)
}

/// Refuses a batch whose keys repeat among themselves or already exist.
pub fn check_unique(
    def: &TableDef,
    batch: &RecordBatch,
    exists: &dyn Fn(&str) -> bool,
) -> Result<()> {
    let mut seen = HashSet::new();
    for k in row_keys(def, batch)? {
        if exists(&k) || !seen.insert(k.clone()) {
            return Err(CipError::invalid(
                sqlstate::UNIQUE_VIOLATION,
                format!(
                    "duplicate key value violates unique constraint \"{}_pkey\": ({})=({})",
                    def.name,
                    def.key.join(", "),
                    k.replace('\u{1f}', ", ")
                ),
            ));
        }
    }
    Ok(())
}
