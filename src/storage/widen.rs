//! Tables that gained columns: a table's definition may end in nullable columns its older
//! files do not have (a column added by a newer cip, or ALTER TABLE … ADD COLUMN). Parts and
//! logged batches written before keep their width on disk; they are read at the table's
//! width, the new columns NULL. Nothing is rewritten to add a column.
//!
//! Likewise a column whose type a newer definition changed (member_scores' quintiles went
//! from UInt64 to Int64, the type PostgreSQL clients get as bigint): older rows are read
//! through a cast to the table's type, which must keep every value (a value that does not fit
//! is corruption, not a NULL).

use crate::error::{CipError, Result};
use datafusion::arrow::array::{new_null_array, ArrayRef};
use datafusion::arrow::compute::{cast_with_options, CastOptions};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;

/// `batch` at the table's `schema`: as it is when it has every column, with NULLs for the
/// trailing nullable columns it lacks and older column types cast; anything else is corrupt.
pub fn widen(batch: RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    let have = batch.num_columns();
    let fields = schema.fields();
    let same_prefix = have <= fields.len()
        && batch
            .schema()
            .fields()
            .iter()
            .zip(fields.iter())
            .all(|(a, b)| a.name() == b.name() && fits(a.data_type(), b.data_type()));
    let rest_nullable = fields.iter().skip(have).all(|f| f.is_nullable());
    let unfit = || {
        CipError::Corrupt(format!(
            "stored rows with columns ({}) do not fit the table's ({})",
            names(&batch.schema()),
            names(schema)
        ))
    };
    if !same_prefix || !rest_nullable {
        return Err(unfit());
    }
    let strict = CastOptions {
        safe: false,
        ..Default::default()
    };
    let mut columns = batch
        .columns()
        .iter()
        .zip(fields.iter())
        .map(|(c, f)| match c.data_type() == f.data_type() {
            true => Ok(c.clone()),
            false => cast_with_options(c, f.data_type(), &strict).map_err(|_| unfit()),
        })
        .collect::<Result<Vec<ArrayRef>>>()?;
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

/// Whether a stored column of type `stored` reads as `table`: the same type, or a number
/// type a newer definition changed it to.
fn fits(stored: &DataType, table: &DataType) -> bool {
    stored == table || (stored.is_integer() && table.is_integer())
}

fn names(schema: &SchemaRef) -> String {
    schema
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Array, Int64Array, StringArray, UInt64Array};
    use datafusion::arrow::datatypes::{Field, Schema};
    use std::sync::Arc;

    fn stored(column: ArrayRef) -> RecordBatch {
        let schema = Schema::new(vec![Field::new("n", column.data_type().clone(), true)]);
        RecordBatch::try_new(Arc::new(schema), vec![column]).expect("batch")
    }

    fn table() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, true),
            Field::new("added", DataType::Utf8, true),
        ]))
    }

    #[test]
    fn an_integer_column_whose_type_changed_is_read_through_a_cast() {
        let old = stored(Arc::new(UInt64Array::from(vec![Some(1), Some(5), None])));
        let read = widen(old, &table()).expect("widened");
        let n = read.column(0).as_any().downcast_ref::<Int64Array>();
        assert_eq!(
            n.map(|a| a.iter().collect::<Vec<_>>()),
            Some(vec![Some(1), Some(5), None])
        );
        assert_eq!(read.column(1).null_count(), 3);
    }

    #[test]
    fn a_value_the_new_type_cannot_hold_or_another_kind_of_type_is_corrupt() {
        let too_big = stored(Arc::new(UInt64Array::from(vec![u64::MAX])));
        assert!(matches!(
            widen(too_big, &table()),
            Err(CipError::Corrupt(_))
        ));
        let text = stored(Arc::new(StringArray::from(vec!["1"])));
        assert!(matches!(widen(text, &table()), Err(CipError::Corrupt(_))));
    }
}
