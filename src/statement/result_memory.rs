//! Result batches charged to the session's memory from the moment they are computed until the
//! client side takes them (engine.statement_memory_limit, session_memory.rs).
//!
//! DataFusion's pool sees operator state, not the batches a plan yields: a projection of
//! large values, or batches queued for a client that reads slowly, were memory nobody
//! counted. The queue ahead of the client is short (runtime::BATCHES), so this rarely holds
//! more than a few batches; a batch that alone does not fit ends the statement with 53200.

use datafusion::arrow::array::Array;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryPool, MemoryReservation};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::StreamExt;
use std::sync::Arc;

/// `stream` computed by `compute` (which moves it to the statement runtime), each batch
/// charged to `pool` from when it is computed until it leaves `compute`'s output.
pub fn charged(
    pool: &Arc<dyn MemoryPool>,
    stream: SendableRecordBatchStream,
    compute: impl FnOnce(SendableRecordBatchStream) -> SendableRecordBatchStream,
) -> SendableRecordBatchStream {
    let held = Arc::new(MemoryConsumer::new("result rows").register(pool));
    let schema = stream.schema();
    let producer = held.clone();
    let produced = stream.map(move |b| {
        let b = b?;
        producer.try_grow(bytes(&b))?;
        Ok(b)
    });
    let computed = compute(Box::pin(RecordBatchStreamAdapter::new(
        schema.clone(),
        produced,
    )));
    let taken = computed.map(move |b| {
        if let Ok(b) = &b {
            release(&held, bytes(b));
        }
        b
    });
    Box::pin(RecordBatchStreamAdapter::new(schema, taken))
}

fn release(held: &MemoryReservation, n: usize) {
    held.shrink(n.min(held.size()));
}

/// The memory a batch's rows occupy (a slice counts its part of the shared buffers).
pub(crate) fn bytes(b: &RecordBatch) -> usize {
    b.columns()
        .iter()
        .map(|c| {
            c.to_data()
                .get_slice_memory_size()
                .unwrap_or_else(|_| c.get_array_memory_size())
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::StringArray;
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::execution::memory_pool::GreedyMemoryPool;

    fn batches(n: usize, value: &str) -> SendableRecordBatchStream {
        let schema = Arc::new(Schema::new(vec![Field::new("v", DataType::Utf8, false)]));
        let b = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(StringArray::from(vec![value; 100]))],
        )
        .expect("batch");
        let items = futures::stream::iter((0..n).map(move |_| Ok(b.clone())));
        Box::pin(RecordBatchStreamAdapter::new(schema, items))
    }

    #[tokio::test]
    async fn batches_are_held_until_taken_and_a_batch_too_large_fails() {
        let pool: Arc<dyn MemoryPool> = Arc::new(GreedyMemoryPool::new(64 << 10));
        let mut s = charged(&pool, batches(50, "abcdefgh"), |s| s);
        let mut n = 0;
        while let Some(b) = s.next().await {
            b.expect("fits");
            // Taken: nothing is left charged.
            assert_eq!(pool.reserved(), 0);
            n += 1;
        }
        assert_eq!(n, 50);
        let big = "x".repeat(1 << 10);
        let mut s = charged(&pool, batches(1, &big), |s| s);
        let e = s
            .next()
            .await
            .expect("an item")
            .expect_err("100 KiB > 64 KiB");
        assert!(e.to_string().contains("Resources exhausted"), "{e}");
    }
}
