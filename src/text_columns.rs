//! A batch with some of its columns replaced by their text: how COPY writes booleans, views
//! and date-times (statement/copy.rs), and how result rows sent as text get PostgreSQL's
//! date-times (pg/respond.rs).

use crate::error::Result;
use datafusion::arrow::array::{ArrayRef, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use std::sync::Arc;

/// `batch` with each column that `text(index, column)` gives text for replaced by it (a Utf8
/// column); the batch as it is when it gives none.
pub fn with_text_columns(
    batch: &RecordBatch,
    text: impl Fn(usize, &ArrayRef) -> Result<Option<ArrayRef>>,
) -> Result<RecordBatch> {
    let texts = (batch.columns().iter().enumerate())
        .map(|(i, column)| text(i, column))
        .collect::<Result<Vec<_>>>()?;
    if texts.iter().all(Option::is_none) {
        return Ok(batch.clone());
    }
    let schema = batch.schema();
    let (fields, columns): (Vec<Field>, Vec<ArrayRef>) = (schema.fields().iter())
        .zip(batch.columns())
        .zip(texts)
        .map(|((field, column), text)| match text {
            Some(t) => (
                Field::new(field.name(), DataType::Utf8, field.is_nullable()),
                t,
            ),
            None => (field.as_ref().clone(), column.clone()),
        })
        .unzip();
    Ok(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?)
}
