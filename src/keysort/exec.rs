//! `KeySortExec`: a full sort (no LIMIT) that packs each row's sort key into one integer and
//! sorts integers (see keys.rs and order.rs). It stands in for a DataFusion `SortExec` and
//! hands the rows it has read to that `SortExec` when the key does not pack or memory runs
//! short, so it never fails where the usual sort would have succeeded (or spilled).

use super::keys;
use super::order::order;
use super::parallel::parallel;
use super::replay::replay;
use datafusion::arrow::array::{ArrayRef, RecordBatch, UInt32Array};
use datafusion::arrow::compute::{concat_batches, take_record_batch};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::common::utils::memory::RecordBatchMemoryCounter;
use datafusion::common::{DataFusionError, Result};
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::{LexOrdering, PhysicalExpr};
use datafusion::physical_plan::metrics::{
    BaselineMetrics, Count, ExecutionPlanMetricsSet, MetricBuilder, MetricsSet,
};
use datafusion::physical_plan::sorts::sort::SortExec;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, InputDistributionRequirements, PlanProperties,
};
use futures::{StreamExt, TryStreamExt};
use std::sync::Arc;

#[derive(Debug)]
pub struct KeySortExec {
    /// The sort this one stands for: its input, order and properties, and the fallback.
    sort: Arc<SortExec>,
    metrics: ExecutionPlanMetricsSet,
}

/// Memory per row beyond the batches and their sorted copy: the key, then two copies of
/// (key, row) while sorting.
const BYTES_PER_ROW: usize = 16 + 2 * 32;

const ROWS_PER_THREAD: usize = 32_768;

impl KeySortExec {
    pub fn new(sort: Arc<SortExec>) -> Self {
        KeySortExec {
            sort,
            metrics: ExecutionPlanMetricsSet::new(),
        }
    }
}

impl DisplayAs for KeySortExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(
            f,
            "KeySortExec: expr=[{}], preserve_partitioning=[{}]",
            self.sort.expr(),
            self.sort.preserve_partitioning()
        )
    }
}

impl ExecutionPlan for KeySortExec {
    fn name(&self) -> &str {
        "KeySortExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.sort.properties()
    }

    fn input_distribution_requirements(&self) -> InputDistributionRequirements {
        self.sort.input_distribution_requirements()
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        vec![false]
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![self.sort.input()]
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        #[allow(deprecated)]
        let sort = self.sort.clone().with_new_children(children)?;
        match sort.downcast_ref::<SortExec>() {
            Some(s) => Ok(Arc::new(KeySortExec::new(Arc::new(s.clone())))),
            None => Ok(sort),
        }
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        self.sort.apply_expressions(f)
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let input = self.sort.input().execute(partition, context.clone())?;
        let run = Run {
            sort: self.sort.clone(),
            partition,
            context,
            metrics: BaselineMetrics::new(&self.metrics, partition),
            fell_back: MetricBuilder::new(&self.metrics).counter("fell_back", partition),
            reservation: None,
        };
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.schema(),
            futures::stream::once(run.sort_all(input)).try_flatten(),
        )))
    }
}

/// One partition's sort.
struct Run {
    sort: Arc<SortExec>,
    partition: usize,
    context: Arc<TaskContext>,
    metrics: BaselineMetrics,
    /// 1 when this partition was handed to DataFusion's sort (shown by EXPLAIN ANALYZE).
    fell_back: Count,
    /// Registered with the first rows (sort_all).
    reservation: Option<MemoryReservation>,
}

impl Run {
    async fn sort_all(
        mut self,
        mut input: SendableRecordBatchStream,
    ) -> Result<SendableRecordBatchStream> {
        let mut batches = Vec::new();
        // Buffers already counted: an aggregation emits its groups as slices of one batch,
        // and each slice's own size is the whole buffer's.
        let mut retained = RecordBatchMemoryCounter::new();
        while let Some(batch) = input.next().await {
            let batch = batch?;
            if batch.num_rows() == 0 {
                continue;
            }
            // The buffers it keeps alive (each once), then its sorted copy: its own rows.
            let size = retained.count_batch(&batch)
                + crate::statement::result_memory::bytes(&batch)
                + batch.num_rows() * BYTES_PER_ROW;
            // Spillable in the pool's eyes: past its share it hands over to SortExec, which
            // spills. Registered when rows arrive, not at execute(): a fair pool divides itself
            // among the spillable consumers registered, and every sort of a plan is executed
            // before any row flows, so an aggregation under three waiting sorts (RFM quintiles)
            // got a fraction of the pool and spilled early.
            let partition = self.partition;
            let pool = self.context.memory_pool();
            let reservation = self.reservation.get_or_insert_with(|| {
                MemoryConsumer::new(format!("KeySortExec[{partition}]"))
                    .with_can_spill(true)
                    .register(pool)
            });
            if reservation.try_grow(size).is_err() {
                batches.push(batch);
                return self.fall_back(batches, Some(input));
            }
            batches.push(batch);
        }
        drop(input);
        let expr = self.sort.expr().clone();
        // Sorts of several partitions run side by side: each gets its share of the cores.
        let partitions = self
            .sort
            .properties()
            .output_partitioning()
            .partition_count();
        let threads = (self.context.session_config().target_partitions() / partitions).max(1);
        let timer = self.metrics.elapsed_compute().clone();
        let schema = self.sort.schema();
        let outcome = tokio::task::spawn_blocking(move || {
            let _t = timer.timer();
            sorted(schema, batches, &expr, threads)
        })
        .await
        .map_err(|e| DataFusionError::External(Box::new(e)))??;
        match outcome {
            Outcome::Sorted(runs) => Ok(self.emit(runs)),
            Outcome::Unpacked(batches) => self.fall_back(batches, None),
        }
    }

    /// Hands the rows read so far, then the rest of the input, to the usual sort.
    fn fall_back(
        self,
        batches: Vec<RecordBatch>,
        rest: Option<SendableRecordBatchStream>,
    ) -> Result<SendableRecordBatchStream> {
        drop(self.reservation);
        self.fell_back.add(1);
        let replayed = replay(self.sort.input(), batches, rest);
        let sort = SortExec::new(self.sort.expr().clone(), Arc::new(replayed))
            .with_preserve_partitioning(self.sort.preserve_partitioning());
        let sorted = sort.execute(self.partition, self.context)?;
        // EXPLAIN ANALYZE counts the rows here too.
        let metrics = self.metrics;
        let counted = sorted.inspect(move |b| {
            if let Ok(b) = b {
                metrics.record_output(b.num_rows());
            }
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            self.sort.schema(),
            counted,
        )))
    }

    /// Streams the sorted runs a session batch at a time (slices, no copy).
    fn emit(self, runs: Vec<RecordBatch>) -> SendableRecordBatchStream {
        let size = self.context.session_config().batch_size().max(1);
        let Run {
            sort,
            metrics,
            reservation,
            ..
        } = self;
        let slices: Vec<RecordBatch> = runs
            .iter()
            .flat_map(|run| {
                (0..run.num_rows())
                    .step_by(size)
                    .map(move |at| run.slice(at, size.min(run.num_rows() - at)))
            })
            .collect();
        drop(runs);
        let stream = futures::stream::iter(slices).map(move |batch| {
            let _keep = &reservation;
            metrics.record_output(batch.num_rows());
            Ok(batch)
        });
        Box::pin(RecordBatchStreamAdapter::new(sort.schema(), stream))
    }
}

enum Outcome {
    /// The rows in order, in one run per thread.
    Sorted(Vec<RecordBatch>),
    /// The key does not pack: the batches as read, for the usual sort.
    Unpacked(Vec<RecordBatch>),
}

/// Packs the keys, orders the rows, and gathers them in order (each thread a share).
fn sorted(
    schema: SchemaRef,
    batches: Vec<RecordBatch>,
    expr: &LexOrdering,
    threads: usize,
) -> Result<Outcome> {
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    if rows == 0 {
        return Ok(Outcome::Sorted(Vec::new()));
    }
    if rows > u32::MAX as usize {
        return Ok(Outcome::Unpacked(batches));
    }
    let mut columns: Vec<Vec<ArrayRef>> = vec![Vec::with_capacity(batches.len()); expr.len()];
    for batch in &batches {
        for (c, e) in expr.iter().enumerate() {
            columns[c].push(e.expr.evaluate(batch)?.into_array(batch.num_rows())?);
        }
    }
    let options: Vec<_> = expr.iter().map(|e| e.options).collect();
    // A thread per share of at least ROWS_PER_THREAD rows: below that, starting one costs more
    // than it saves.
    let threads = threads.clamp(1, rows / ROWS_PER_THREAD + 1);
    let Some(packed) = keys::pack(&columns, &options, threads) else {
        return Ok(Outcome::Unpacked(batches));
    };
    drop(columns);
    let order = order(&packed.keys, packed.bits, threads);
    drop(packed);
    let all = concat_batches(&schema, &batches)?;
    drop(batches);
    let share = order.len().div_ceil(threads).max(1);
    let all = &all;
    let runs = parallel(order.chunks(share).collect(), |part| {
        take_record_batch(all, &UInt32Array::from(part.to_vec()))
    })
    .into_iter()
    .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(Outcome::Sorted(runs))
}
