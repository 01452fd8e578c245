//! The leaf KeySortExec puts under a DataFusion `SortExec` when it hands a sort over: it
//! yields the batches already read, then the rest of the input, once — so no row is lost or
//! read twice.

use crate::deferred::ActExec;
use datafusion::arrow::array::RecordBatch;
use datafusion::common::internal_err;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{ExecutionPlan, PlanProperties};
use futures::StreamExt;
use std::sync::{Arc, Mutex};

/// `input` is the plan the rows come from: the leaf keeps its properties, so the sort above
/// plans as it did over that plan.
pub fn replay(
    input: &Arc<dyn ExecutionPlan>,
    read: Vec<RecordBatch>,
    rest: Option<SendableRecordBatchStream>,
) -> ActExec {
    let schema = input.schema();
    let properties: Arc<PlanProperties> = input.properties().clone();
    let parts = Mutex::new(Some((read, rest)));
    ActExec::streaming(
        "ReplayExec",
        "rows read by KeySortExec",
        properties,
        Arc::new(move || {
            let Some((read, rest)) = parts.lock().ok().and_then(|mut p| p.take()) else {
                return internal_err!("ReplayExec's stream was already taken");
            };
            let read = futures::stream::iter(read.into_iter().map(Ok));
            let stream = match rest {
                Some(rest) => read.chain(rest).boxed(),
                None => read.boxed(),
            };
            Ok(Box::pin(RecordBatchStreamAdapter::new(
                schema.clone(),
                stream,
            )))
        }),
    )
}
