//! What the engine does to rows before they are logged: fill the columns an INSERT left out
//! (AUTO_INCREMENT ids, DEFAULT CURRENT_TIMESTAMP) and enforce NOT NULL and unique keys.

use super::def::{ColumnDefault, TableDef};
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, Int64Array, RecordBatch, TimestampMicrosecondArray,
};
use datafusion::arrow::compute::{cast, cast_with_options, CastOptions};
use datafusion::arrow::datatypes::{
    DataType, Field, Int64Type, TimeUnit, TimestampMicrosecondType,
};
use datafusion::arrow::util::display::array_value_to_string;
use std::collections::HashSet;

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
                let ids = as_ids(&col, field.name())?;
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
                id_column(out, field, def.name)?
            }
            ColumnDefault::Now if col.null_count() > 0 => now_filled(&col, field, now_micros)?,
            ColumnDefault::RandomUuid if col.null_count() > 0 => {
                crate::column_types::random_uuids_in(&col)?
            }
            _ => col,
        };
        columns.push(filled);
    }
    check_not_null(def, &columns)?;
    // Explicit ids move the counter past them.
    let batch = RecordBatch::try_new(schema.clone(), columns)?;
    let batch = crate::column_types::conform(&schema, batch)?;
    let next_id = max_id_after(def, &batch, next_id)?;
    Ok((batch, next_id))
}

/// 23502 for a NULL in a NOT NULL column, naming it as PostgreSQL does.
pub fn check_not_null(def: &TableDef, columns: &[ArrayRef]) -> Result<()> {
    for (field, col) in def.schema.fields().iter().zip(columns) {
        if !field.is_nullable() && col.null_count() > 0 {
            return Err(CipError::invalid(
                sqlstate::NOT_NULL_VIOLATION,
                format!(
                    "null value in column \"{}\" of relation \"{}\" violates not-null constraint",
                    field.name(),
                    def.name
                ),
            ));
        }
    }
    Ok(())
}

/// A timestamp column with NULLs as now: the venue's wall clock for a timestamp without time
/// zone (`now_micros`), the instant itself for one with a zone.
fn now_filled(col: &ArrayRef, field: &Field, now_micros: i64) -> Result<ArrayRef> {
    let DataType::Timestamp(_, zone) = field.data_type() else {
        return Err(CipError::Corrupt(format!(
            "{} is not a timestamp",
            field.name()
        )));
    };
    let now = match zone {
        None => now_micros,
        Some(_) => chrono::Utc::now().timestamp_micros(),
    };
    let micros = DataType::Timestamp(TimeUnit::Microsecond, zone.clone());
    let ts = cast(col, &micros)?;
    let filled = ts
        .as_primitive::<TimestampMicrosecondType>()
        .iter()
        .map(|v| Some(v.unwrap_or(now)))
        .collect::<TimestampMicrosecondArray>()
        .with_timezone_opt(zone.clone());
    Ok(cast(&filled, field.data_type())?)
}

/// The id after the largest in `batch`'s AUTO_INCREMENT column, or `next_id` if larger.
pub fn max_id_after(def: &TableDef, batch: &RecordBatch, next_id: i64) -> Result<i64> {
    let Some(col) = def.auto_id_column() else {
        return Ok(next_id);
    };
    let Some(ids) = batch.column_by_name(col) else {
        return Ok(next_id);
    };
    let ids = as_ids(ids, col)?;
    Ok(match datafusion::arrow::compute::max(&ids) {
        Some(max) => next_id.max(max.saturating_add(1)),
        None => next_id,
    })
}

/// An id column (bigint, integer or smallint: serial's three widths) as bigints.
fn as_ids(col: &ArrayRef, name: &str) -> Result<Int64Array> {
    if !col.data_type().is_integer() {
        return Err(CipError::Corrupt(format!(
            "{name} is not an integer column"
        )));
    }
    let wide = cast(col, &DataType::Int64)?;
    Ok(wide.as_primitive::<Int64Type>().clone())
}

/// Ids back in their column's width; an id past it is PostgreSQL's "reached maximum value of
/// sequence".
fn id_column(ids: Int64Array, field: &Field, table: &str) -> Result<ArrayRef> {
    let options = CastOptions {
        safe: false,
        ..Default::default()
    };
    cast_with_options(&ids, field.data_type(), &options).map_err(|_| {
        CipError::invalid(
            sqlstate::SEQUENCE_GENERATOR_LIMIT_EXCEEDED,
            format!(
                "nextval: reached maximum value of sequence \"{table}_{}_seq\"",
                field.name()
            ),
        )
    })
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

/// Whether a rewrite that turned `before` into `after` may have made a key repeat: an
/// UPDATE (same rows) that changed a key column of a unique table. A DELETE (fewer rows)
/// cannot.
pub fn keys_changed(def: &TableDef, before: &RecordBatch, after: &RecordBatch) -> bool {
    if !def.unique || before.num_rows() != after.num_rows() {
        return false;
    }
    def.key.iter().any(
        |k| match (before.column_by_name(k), after.column_by_name(k)) {
            (Some(b), Some(a)) => b.as_ref() != a.as_ref(),
            _ => true,
        },
    )
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
