//! A batch's rows as PostgreSQL data rows. arrow-pg encodes each value, but its interval
//! encoder does not look at the validity buffer: a NULL interval went out as `00:00:00`
//! (`SELECT CAST(NULL AS interval)` answered zero through psql, psycopg2 read
//! `timedelta(0)`). A NULL cell is SQL NULL whatever its type, so it is written as one here
//! and only the values are arrow-pg's to encode.

use datafusion::arrow::array::{Array, RecordBatch};
use datafusion_postgres::arrow_pg::encoder::{encode_value, Encoder};
use pgwire::api::results::{DataRowEncoder, FieldInfo};
use pgwire::error::PgWireResult;
use pgwire::messages::data::DataRow;
use std::sync::Arc;

/// Each row of `batch`, its columns described by `fields`.
pub fn encode(
    fields: Arc<Vec<FieldInfo>>,
    batch: RecordBatch,
) -> impl Iterator<Item = PgWireResult<DataRow>> {
    let mut encoder = DataRowEncoder::new(fields.clone());
    (0..batch.num_rows()).map(move |row| {
        let schema = batch.schema_ref();
        for (i, column) in batch.columns().iter().enumerate() {
            let (arrow, field) = (schema.field(i), &fields[i]);
            // A NullArray keeps no validity buffer: arrow-pg writes its values as NULL.
            if column.is_null(row) {
                Encoder::encode_field(&mut encoder, &None::<i8>, field)?;
            } else {
                encode_value(&mut encoder, column, row, arrow, field)?;
            }
        }
        Ok(encoder.take_row())
    })
}
