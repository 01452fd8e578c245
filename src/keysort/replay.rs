//! `ReplayExec`: a leaf that yields batches already read from a stream, then the rest of that
//! stream, once. KeySortExec puts it under a DataFusion `SortExec` when it falls back, so no
//! row it has read is lost or read twice.

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::{internal_err, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use futures::StreamExt;
use std::sync::{Arc, Mutex};

type Parts = (Vec<RecordBatch>, Option<SendableRecordBatchStream>);

pub struct ReplayExec {
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
    parts: Mutex<Option<Parts>>,
}

impl ReplayExec {
    /// `properties` are those of the plan the stream came from, so the sort above it plans
    /// as it did over that plan.
    pub fn new(
        schema: SchemaRef,
        properties: Arc<PlanProperties>,
        read: Vec<RecordBatch>,
        rest: Option<SendableRecordBatchStream>,
    ) -> Self {
        ReplayExec {
            schema,
            properties,
            parts: Mutex::new(Some((read, rest))),
        }
    }
}

impl std::fmt::Debug for ReplayExec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ReplayExec")
    }
}

impl DisplayAs for ReplayExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "ReplayExec")
    }
}

impl ExecutionPlan for ReplayExec {
    fn name(&self) -> &str {
        "ReplayExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn with_new_children(
        self: Arc<Self>,
        _children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn execute(
        &self,
        _partition: usize,
        _context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let taken = self.parts.lock().ok().and_then(|mut p| p.take());
        let Some((read, rest)) = taken else {
            return internal_err!("ReplayExec's stream was already taken");
        };
        let read = futures::stream::iter(read.into_iter().map(Ok));
        let stream = match rest {
            Some(rest) => read.chain(rest).boxed(),
            None => read.boxed(),
        };
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema.clone(),
            stream,
        )))
    }
}
