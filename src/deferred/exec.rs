//! An execution plan that acts when it is executed — never when planned, described or
//! EXPLAINed. UPDATE / DELETE / TRUNCATE and the engine's table functions with side effects
//! (model fits, refreshes) are this plan with their own act, returning one batch; the key
//! sort's hand-over (keysort/exec.rs) is this plan replaying a stream.

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::Result;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
};
use futures::future::BoxFuture;
use std::sync::Arc;

/// What runs at each execution; its batch must have the plan's schema.
pub type Act = Arc<dyn Fn() -> BoxFuture<'static, Result<RecordBatch>> + Send + Sync>;

/// Opens the plan's stream at each execution; its batches must have the plan's schema.
pub type Open = Arc<dyn Fn() -> Result<SendableRecordBatchStream> + Send + Sync>;

pub struct ActExec {
    /// The operator's name in plans (e.g. CipDmlExec).
    kind: &'static str,
    /// What it acts on, shown after the name in EXPLAIN.
    label: String,
    properties: Arc<PlanProperties>,
    open: Open,
}

impl ActExec {
    /// A plan whose one batch comes from `act`.
    pub fn new(kind: &'static str, label: impl Into<String>, schema: SchemaRef, act: Act) -> Self {
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Final,
            Boundedness::Bounded,
        ));
        let open: Open = Arc::new(move || {
            Ok(Box::pin(RecordBatchStreamAdapter::new(
                schema.clone(),
                futures::stream::once(act()),
            )))
        });
        ActExec::streaming(kind, label, properties, open)
    }

    /// A plan whose stream `open` gives, with the given properties (partitioning, ordering).
    pub fn streaming(
        kind: &'static str,
        label: impl Into<String>,
        properties: Arc<PlanProperties>,
        open: Open,
    ) -> Self {
        ActExec {
            kind,
            label: label.into(),
            properties,
            open,
        }
    }
}

impl std::fmt::Debug for ActExec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}({})", self.kind, self.label)
    }
}

impl DisplayAs for ActExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.label)
    }
}

impl ExecutionPlan for ActExec {
    fn name(&self) -> &str {
        self.kind
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
        (self.open)()
    }
}
