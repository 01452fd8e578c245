//! Tables that gained columns: a table's definition may end in nullable columns its older
//! files do not have (a column added by a newer cip, or ALTER TABLE … ADD COLUMN). Parts and
//! logged batches written before keep their width on disk; they are read at the table's
//! width, the new columns NULL. Nothing is rewritten to add a column.

use crate::error::{CipError, Result};
use datafusion::arrow::array::new_null_array;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;

/// `batch` at the table's `schema`: as it is when it has every column, with NULLs for the
/// trailing nullable columns it lacks; anything else is corrupt.
pub fn widen(batch: RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    let have = batch.num_columns();
    let fields = schema.fields();
    let same_prefix = have <= fields.len()
        && batch
            .schema()
            .fields()
            .iter()
            .zip(fields.iter())
            .all(|(a, b)| a.name() == b.name() && a.data_type() == b.data_type());
    let rest_nullable = fields.iter().skip(have).all(|f| f.is_nullable());
    if !same_prefix || !rest_nullable {
        return Err(CipError::Corrupt(format!(
            "stored rows with columns ({}) do not fit the table's ({})",
            names(&batch.schema()),
            names(schema)
        )));
    }
    let mut columns = batch.columns().to_vec();
    for f in fields.iter().skip(have) {
        columns.push(new_null_array(f.data_type(), batch.num_rows()));
    }
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

/// The narrower schemas a table's older files may have: its first k columns, for each k
/// whose dropped columns are all nullable, widest first.
pub fn narrower(schema: &SchemaRef) -> Vec<SchemaRef> {
    let n = schema.fields().len();
    (1..n)
        .rev()
        .take_while(|k| schema.field(*k).is_nullable())
        .map(|k| {
            let projection: Vec<usize> = (0..k).collect();
            std::sync::Arc::new(
                schema
                    .project(&projection)
                    .unwrap_or_else(|_| (**schema).clone()),
            )
        })
        .collect()
}

fn names(schema: &SchemaRef) -> String {
    schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
