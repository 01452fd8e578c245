//! Rows an operator holds whole first own only the text they show. A string-view column (what
//! DataFusion's string functions and casts produce) that came out of a join still points at
//! every data buffer of the rows it was taken from, and arrow's concat appends each input's
//! buffer list, so a join whose build side came out of another join lists the same buffers
//! once per batch it concatenated — in every row batch it emits. Nothing is copied, but the
//! lists grow, and every memory estimate that adds up a column's buffers counts them once per
//! listing: at 3M members DataFusion's ExternalSorter asked the pool for 8.2 TB for one batch
//! of member_scores_live and the refresh failed with 53200. `CompactViewsRule` puts
//! `CompactViewsExec` under full sorts and join build sides: a batch whose view column lists
//! more than twice the bytes it shows is copied into buffers of its own (arrow's `gc`); any
//! other batch passes as it is.

use datafusion::arrow::array::{Array, ArrayRef, BinaryViewArray, RecordBatch, StringViewArray};
use datafusion::arrow::buffer::Buffer;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::Result;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::joins::{CrossJoinExec, HashJoinExec, NestedLoopJoinExec};
use datafusion::physical_plan::sorts::sort::SortExec;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties};
use futures::StreamExt;
use std::sync::Arc;

/// Below this many bytes of listed buffers a column is left alone: copying saves nothing.
const SMALL: usize = 1 << 20;

/// `batch` with each string- or binary-view column that lists more than twice the bytes its
/// rows show (and over SMALL) copied into buffers of its own; `batch` itself when none does.
pub fn compact(batch: RecordBatch) -> Result<RecordBatch> {
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    let mut changed = false;
    for column in columns.iter_mut() {
        let any = column.as_any();
        let compacted: Option<ArrayRef> = if let Some(a) = any.downcast_ref::<StringViewArray>() {
            wasteful(a.data_buffers(), a.total_buffer_bytes_used()).then(|| Arc::new(a.gc()) as _)
        } else if let Some(a) = any.downcast_ref::<BinaryViewArray>() {
            wasteful(a.data_buffers(), a.total_buffer_bytes_used()).then(|| Arc::new(a.gc()) as _)
        } else {
            None
        };
        if let Some(c) = compacted {
            *column = c;
            changed = true;
        }
    }
    if !changed {
        return Ok(batch);
    }
    Ok(RecordBatch::try_new(batch.schema(), columns)?)
}

/// Whether `plan`'s rows have a string- or binary-view column.
fn has_views(plan: &Arc<dyn ExecutionPlan>) -> bool {
    plan.schema()
        .fields()
        .iter()
        .any(|f| matches!(f.data_type(), DataType::Utf8View | DataType::BinaryView))
}

fn wasteful(buffers: &[Buffer], shown: usize) -> bool {
    let listed: usize = buffers.iter().map(|b| b.capacity()).sum();
    listed > SMALL && listed > 2 * shown
}

/// Passes its input's batches through `compact`; same schema, order and partitioning.
#[derive(Debug)]
pub struct CompactViewsExec {
    input: Arc<dyn ExecutionPlan>,
}

impl CompactViewsExec {
    pub fn new(input: Arc<dyn ExecutionPlan>) -> Self {
        CompactViewsExec { input }
    }
}

impl DisplayAs for CompactViewsExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "CompactViewsExec")
    }
}

impl ExecutionPlan for CompactViewsExec {
    fn name(&self) -> &str {
        "CompactViewsExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        vec![false]
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn with_new_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        match (children.pop(), children.is_empty()) {
            (Some(input), true) => Ok(Arc::new(CompactViewsExec::new(input))),
            _ => datafusion::common::internal_err!("CompactViewsExec takes one input"),
        }
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let input = self.input.execute(partition, context)?;
        let schema = input.schema();
        let compacted = input.map(|b| b.and_then(compact));
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, compacted)))
    }
}

/// Puts a `CompactViewsExec` under what an operator holds whole: the input of a full sort (a
/// sort with a LIMIT keeps its top rows and copies them itself) and the build side of a join,
/// which is concatenated — where the buffer lists multiply. Only inputs with a view column.
/// Runs before KeySortRule, whose sort then reads through it.
#[derive(Debug, Default)]
pub struct CompactViewsRule;

impl PhysicalOptimizerRule for CompactViewsRule {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            let holds_first_input = match node.downcast_ref::<SortExec>() {
                Some(sort) => sort.fetch().is_none(),
                None => {
                    node.is::<HashJoinExec>()
                        || node.is::<NestedLoopJoinExec>()
                        || node.is::<CrossJoinExec>()
                }
            };
            let Some(first) = node.children().first().map(|c| (*c).clone()) else {
                return Ok(Transformed::no(node));
            };
            if !holds_first_input || first.is::<CompactViewsExec>() || !has_views(&first) {
                return Ok(Transformed::no(node));
            }
            let mut children: Vec<Arc<dyn ExecutionPlan>> =
                node.children().into_iter().cloned().collect();
            children[0] = Arc::new(CompactViewsExec::new(first));
            #[allow(deprecated)]
            let node = node.clone().with_new_children(children)?;
            Ok(Transformed::yes(node))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "compact_views"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::compact;
    use datafusion::arrow::array::{Array, ArrayRef, RecordBatch, StringViewArray};
    use datafusion::arrow::compute::concat;
    use std::sync::Arc;

    fn listed(a: &StringViewArray) -> usize {
        a.data_buffers().iter().map(|b| b.capacity()).sum()
    }

    #[test]
    fn a_column_listing_shared_buffers_many_times_is_copied_once() {
        // 2 MiB of long strings, then 50 one-row slices concatenated: each slice lists the
        // whole buffer, so the result lists it 50 times for 50 strings.
        let long: Vec<String> = (0..20_000).map(|i| format!("member-{i:0>90}")).collect();
        let source = StringViewArray::from_iter_values(long.iter());
        let slices: Vec<ArrayRef> = (0..50)
            .map(|i| Arc::new(source.slice(i * 7, 1)) as _)
            .collect();
        let refs: Vec<&dyn Array> = slices.iter().map(|a| a.as_ref()).collect();
        let joined = concat(&refs).expect("concat");
        let joined_view = joined
            .as_any()
            .downcast_ref::<StringViewArray>()
            .expect("view");
        assert!(listed(joined_view) > 50 * (1 << 20));
        let batch = RecordBatch::try_from_iter([("t", joined.clone())]).expect("batch");
        let out = compact(batch).expect("compact");
        let out_view = out
            .column(0)
            .as_any()
            .downcast_ref::<StringViewArray>()
            .expect("view");
        assert!(listed(out_view) < 64 * 1024, "{}", listed(out_view));
        let before: Vec<_> = joined_view.iter().collect();
        let after: Vec<_> = out_view.iter().collect();
        assert_eq!(before, after);
    }

    #[test]
    fn a_compact_batch_passes_as_it_is() {
        let a: ArrayRef = Arc::new(StringViewArray::from(vec![
            Some("a long enough string to leave the view"),
            None,
            Some("short"),
        ]));
        let batch = RecordBatch::try_from_iter([("t", a)]).expect("batch");
        let out = compact(batch.clone()).expect("compact");
        assert!(Arc::ptr_eq(batch.column(0), out.column(0)));
    }
}
