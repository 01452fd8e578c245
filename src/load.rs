//! `cip load TABLE FILE`: imports a CSV (with a header) or Parquet file, all or nothing.
//!
//! Every value is checked against the table's schema first; the first bad value is reported
//! by line and column and nothing of the file is loaded. With `--upsert`, rows whose key
//! already exists replace the old rows (a daily CRM sync), in the same atomic commit.

use crate::engine::Engine;
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use crate::storage::Rewrite;
use crate::storage::{ColumnDefault, TableDef};
use datafusion::arrow::array::{new_null_array, Array, ArrayRef, RecordBatch, StringArray};
use datafusion::arrow::compute::{cast_with_options, CastOptions};
use datafusion::arrow::csv::ReaderBuilder;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::util::display::array_value_to_string;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::collections::HashSet;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

pub async fn load_file(engine: &Engine, table: &str, path: &Path, upsert: bool) -> Result<u64> {
    let table = engine.store.table(table)?;
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        let batches = read_file(&table.def, &path)?;
        let rows: u64 = batches.iter().map(|b| b.num_rows() as u64).sum();
        if upsert {
            upsert_rows(&table, &batches)?;
        } else {
            table.rewrite(None, &batches)?;
        }
        Ok(rows)
    })
    .await
    .map_err(|e| CipError::Corrupt(format!("load failed: {e}")))?
}

fn upsert_rows(table: &crate::storage::Table, batches: &[RecordBatch]) -> Result<()> {
    let def = &table.def;
    if def.key.is_empty() {
        return Err(CipError::invalid(
            sqlstate::INVALID_COLUMN_REFERENCE,
            format!(
                "{} has no key, so it cannot be upserted; load it without --upsert",
                def.name
            ),
        ));
    }
    let mut keys = HashSet::new();
    for b in batches {
        crate::storage::schema_check_unique(def, b, &|k| keys.contains(k))?;
        keys.extend(crate::storage::row_keys(def, b)?);
    }
    let mut replace = |b: &RecordBatch| -> Result<Rewrite> {
        let ks = crate::storage::row_keys(def, b)?;
        let gone: datafusion::arrow::array::BooleanArray =
            ks.iter().map(|k| Some(keys.contains(k))).collect();
        Ok(Rewrite::Remove(gone))
    };
    table.rewrite(Some(&mut replace), batches)?;
    Ok(())
}

/// Reads and checks a whole file against the table's schema.
pub fn read_file(def: &TableDef, path: &Path) -> Result<Vec<RecordBatch>> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "csv" => read_csv(def, path),
        "parquet" => read_parquet(def, path),
        _ => Err(CipError::invalid(
            sqlstate::INVALID_PARAMETER_VALUE,
            format!("{}: expected a .csv or .parquet file", path.display()),
        )),
    }
}

fn open(path: &Path) -> Result<File> {
    File::open(path).map_err(|e| CipError::io(format!("open {}", path.display()), e))
}

fn read_csv(def: &TableDef, path: &Path) -> Result<Vec<RecordBatch>> {
    let mut header = String::new();
    {
        use std::io::BufRead;
        std::io::BufReader::new(open(path)?)
            .read_line(&mut header)
            .map_err(|e| CipError::io(format!("read {}", path.display()), e))?;
    }
    let names: Vec<String> = header
        .trim_end_matches(['\r', '\n'])
        .split(',')
        .map(|s| s.trim().trim_matches('"').to_string())
        .collect();
    // Read every column as text, then convert with our own checks, so a bad value is
    // reported by line and column name.
    let text_schema: SchemaRef = Arc::new(Schema::new(
        names
            .iter()
            .map(|n| Field::new(n, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ));
    let reader = ReaderBuilder::new(text_schema.clone())
        .with_header(true)
        .with_batch_size(64 * 1024)
        .build(open(path)?)?;
    let mut out = Vec::new();
    let mut first_line = 2u64; // line 1 is the header
    for b in reader {
        let b = b.map_err(|e| {
            CipError::invalid(
                sqlstate::BAD_COPY_FILE_FORMAT,
                format!("{}: {e}", path.display()),
            )
        })?;
        out.push(conform(def, &b, first_line, path)?);
        first_line += b.num_rows() as u64;
    }
    Ok(out)
}

fn read_parquet(def: &TableDef, path: &Path) -> Result<Vec<RecordBatch>> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(open(path)?)?
        .with_batch_size(64 * 1024)
        .build()?;
    let mut out = Vec::new();
    let mut first_row = 1u64;
    for b in reader {
        let b = b?;
        out.push(conform(def, &b, first_row, path)?);
        first_row += b.num_rows() as u64;
    }
    Ok(out)
}

/// Maps a file's columns onto the table's by name and converts them, refusing unknown
/// columns, missing required ones and values that do not convert.
pub(crate) fn conform(
    def: &TableDef,
    b: &RecordBatch,
    first_line: u64,
    path: &Path,
) -> Result<RecordBatch> {
    let src = b.schema();
    for f in src.fields() {
        if def.schema.index_of(f.name()).is_err() {
            return Err(CipError::invalid(
                sqlstate::UNDEFINED_COLUMN,
                format!(
                    "{}: column \"{}\" is not in table {} (its columns: {})",
                    path.display(),
                    f.name(),
                    def.name,
                    def.schema
                        .fields()
                        .iter()
                        .map(|f| f.name().as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
    }
    let mut columns: Vec<ArrayRef> = Vec::new();
    for field in def.schema.fields() {
        let col = match src.index_of(field.name()) {
            Ok(i) => convert(b.column(i), field, first_line, path)?,
            Err(_) => {
                let filled_later = def.default_of(field.name()) != ColumnDefault::None;
                if !field.is_nullable() && !filled_later {
                    return Err(CipError::invalid(
                        sqlstate::NOT_NULL_VIOLATION,
                        format!(
                            "{}: required column \"{}\" is missing",
                            path.display(),
                            field.name()
                        ),
                    ));
                }
                new_null_array(field.data_type(), b.num_rows())
            }
        };
        if !field.is_nullable()
            && col.null_count() > 0
            && def.default_of(field.name()) == ColumnDefault::None
        {
            let row = (0..col.len()).find(|&i| col.is_null(i)).unwrap_or(0);
            return Err(CipError::invalid(
                sqlstate::NOT_NULL_VIOLATION,
                format!(
                    "{}: line {}, column \"{}\": a value is required",
                    path.display(),
                    first_line + row as u64,
                    field.name()
                ),
            ));
        }
        columns.push(col);
    }
    Ok(RecordBatch::try_new(def.schema.clone(), columns)?)
}

fn convert(col: &ArrayRef, field: &Field, first_line: u64, path: &Path) -> Result<ArrayRef> {
    // Empty CSV fields are NULL.
    let col: ArrayRef = match col.as_any().downcast_ref::<StringArray>() {
        Some(s) => Arc::new(
            s.iter()
                .map(|v| v.filter(|x| !x.is_empty()))
                .collect::<StringArray>(),
        ),
        None => col.clone(),
    };
    if col.data_type() == field.data_type() {
        return Ok(col);
    }
    let safe = CastOptions {
        safe: true,
        ..Default::default()
    };
    let out = cast_with_options(&col, field.data_type(), &safe)?;
    if out.null_count() > col.null_count() {
        let row = (0..col.len())
            .find(|&i| out.is_null(i) && !col.is_null(i))
            .unwrap_or(0);
        return Err(CipError::invalid(
            sqlstate::INVALID_TEXT_REPRESENTATION,
            format!(
                "{}: line {}, column \"{}\": cannot read {:?} as {}",
                path.display(),
                first_line + row as u64,
                field.name(),
                array_value_to_string(&col, row).unwrap_or_default(),
                field.data_type()
            ),
        ));
    }
    Ok(out)
}
