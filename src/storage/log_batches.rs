//! The rows of a table's log held in memory: few, large batches rather than one per insert.
//!
//! Each single-row INSERT is one log frame, and was one batch of the table's cached log until
//! the log flushed at 20,000 rows. Every scan hands those batches to DataFusion, whose
//! operators carry each batch with its own arrays and buffers: under 64 clients mixing
//! inserts and scans of a view over the table, the server's memory grew with the log (by
//! ~1.7 GB over seven minutes on a 20,000-member chain) and fell back at each flush.

use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::record_batch::RecordBatch;

/// A merged batch stops growing here: DataFusion's default batch size.
const MERGED_ROWS: usize = 8192;

/// Appends `batch` to `log`, merging the newest batches while the newest has at least the
/// rows of the one before it (and that one is below MERGED_ROWS). As in a binary counter a
/// row is copied about log2(MERGED_ROWS) times at most, and the log holds about
/// rows / MERGED_ROWS + log2(MERGED_ROWS) batches. Batches of different schemas (frames
/// written before the table gained columns) are left apart. Infallible: the rows may be
/// durable already, so a merge that fails leaves the batches as they are.
pub fn push(log: &mut Vec<RecordBatch>, batch: RecordBatch) {
    if batch.num_rows() == 0 {
        return;
    }
    log.push(batch);
    while let [.., before, newest] = log.as_slice() {
        if before.num_rows() >= MERGED_ROWS
            || newest.num_rows() < before.num_rows()
            || before.schema() != newest.schema()
        {
            break;
        }
        let Ok(merged) = concat_batches(&before.schema(), [before, newest]) else {
            break;
        };
        log.truncate(log.len() - 2);
        log.push(merged);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    fn rows(schema: &Arc<Schema>, from: i64, n: i64) -> RecordBatch {
        let values: Int64Array = (from..from + n).collect();
        RecordBatch::try_new(schema.clone(), vec![Arc::new(values)]).expect("batch")
    }

    #[test]
    fn single_rows_end_in_few_batches_in_their_order() {
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
        let mut log = Vec::new();
        let mut next = 0;
        for i in 0..20_000 {
            // Mostly single rows, now and then a ten-row COPY.
            let n = if i % 50 == 0 { 10 } else { 1 };
            push(&mut log, rows(&schema, next, n));
            next += n;
        }
        push(&mut log, rows(&schema, next, 0)); // an empty batch is dropped
        assert!(log.len() <= 2 + 14 + 1, "{} batches", log.len());
        let all: Vec<i64> = log
            .iter()
            .flat_map(|b| {
                let c = b.column(0).as_any().downcast_ref::<Int64Array>().cloned();
                c.map(|c| c.values().to_vec()).unwrap_or_default()
            })
            .collect();
        assert_eq!(all, (0..next).collect::<Vec<_>>());
        assert!(log.iter().all(|b| b.num_rows() < 2 * MERGED_ROWS));
    }

    #[test]
    fn batches_of_another_schema_stay_apart() {
        let narrow = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
        let wide = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, true)]));
        let mut log = Vec::new();
        push(&mut log, rows(&narrow, 0, 1));
        push(&mut log, rows(&wide, 1, 1));
        push(&mut log, rows(&wide, 2, 1));
        let sizes: Vec<usize> = log.iter().map(|b| b.num_rows()).collect();
        assert_eq!(sizes, [1, 2]);
        assert!(log[1].schema().field(0).is_nullable());
    }
}
