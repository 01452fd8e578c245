//! The DataFusion face of a table: scans read the latest committed state at execution
//! planning time (never a state captured when a view was created) and pin it until they end;
//! INSERT goes through the durable log, UPDATE / DELETE rewrite the affected parts when the
//! statement executes. Inside a transaction (a `TxnSlot` in the session's configuration
//! holding one) all of it goes through the transaction instead.

use super::def::ColumnDefault;
use super::dml::{dml_exec, DmlOp};
use super::on_conflict::ConflictSlot;
use super::part_pruning::Pruning;
use super::pinned_exec::PinnedExec;
use super::table::Table;
use super::txn::TxnSlot;
use crate::error::to_df;
use async_trait::async_trait;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{Constraint, Constraints, DataFusionError, Result, ScalarValue};
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::sink::{DataSink, DataSinkExec};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use datafusion::physical_plan::union::UnionExec;
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan};
use datafusion::prelude::SessionConfig;
use futures::StreamExt;
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Debug, Clone)]
pub struct CipTable {
    table: Arc<Table>,
    /// The constant defaults a CREATE TABLE declared, read in their columns' types.
    defaults: Vec<(&'static str, Expr)>,
    /// The key as a primary key when it is enforced (the catalog lists it; the planner may
    /// rely on it).
    constraints: Option<Constraints>,
}

impl CipTable {
    pub fn new(table: Arc<Table>) -> Self {
        let defaults = constant_defaults(&table.def);
        let def = &table.def;
        let key: Option<Vec<usize>> = def
            .key
            .iter()
            .map(|k| def.schema.index_of(k).ok())
            .collect();
        let constraints =
            match key {
                Some(key) if def.unique && !key.is_empty() => Some(Constraints::new_unverified(
                    vec![Constraint::PrimaryKey(key)],
                )),
                _ => None,
            };
        CipTable {
            table,
            defaults,
            constraints,
        }
    }

    /// The table's definition (the catalog lists its defaults; RETURNING names its table).
    pub fn def(&self) -> &super::def::TableDef {
        &self.table.def
    }

    /// The committed rows whose column `column` equals `value`, in the columns `projection`,
    /// read without a scan (point_read.rs) — when `column` is the key of a table laid out
    /// for point reads (its parts sorted by it) and the session is outside a transaction
    /// block; None otherwise: plan a scan.
    pub async fn read_key(
        &self,
        config: &SessionConfig,
        column: usize,
        value: ScalarValue,
        projection: Vec<usize>,
    ) -> Option<Result<RecordBatch>> {
        let def = &self.table.def;
        let keyed = def.layout == super::def::Layout::PointReads
            && def.key.len() == 1
            && def.schema.index_of(def.key[0]).ok() == Some(column);
        let in_block =
            (config.get_extension::<TxnSlot>()).is_some_and(|slot| slot.lock().is_some());
        if !keyed || in_block {
            return None;
        }
        let table = self.table.clone();
        let read =
            tokio::task::spawn_blocking(move || table.read_key(column, &value, &projection)).await;
        Some(match read {
            Ok(rows) => rows.map_err(to_df),
            Err(e) => Err(DataFusionError::External(Box::new(e))),
        })
    }
}

/// `def`'s constant defaults as literals; one its column's type cannot read (a definition
/// changed by hand) is left out, so the column defaults to NULL.
fn constant_defaults(def: &super::def::TableDef) -> Vec<(&'static str, Expr)> {
    def.defaults
        .iter()
        .filter_map(|(column, d)| {
            let ColumnDefault::Literal(text) = d else {
                return None;
            };
            let field = def.schema.field_with_name(column).ok()?;
            let value = ScalarValue::try_from_string(text.to_string(), field.data_type()).ok()?;
            Some((*column, Expr::Literal(value, None)))
        })
        .collect()
}

#[async_trait]
impl TableProvider for CipTable {
    fn schema(&self) -> SchemaRef {
        self.table.def.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn constraints(&self) -> Option<&Constraints> {
        self.constraints.as_ref()
    }

    fn get_column_default(&self, column: &str) -> Option<&Expr> {
        self.defaults
            .iter()
            .find(|(c, _)| *c == column)
            .map(|(_, e)| e)
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        // Parquet prunes row groups with them; a filter above still checks every row.
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let table = self.table.clone();
        let slot = state.config().get_extension::<TxnSlot>();
        let schema = self.schema();
        let pruning = Pruning::of(state, &schema, filters);
        let (paths, rows, pin) = tokio::task::spawn_blocking(move || {
            let (parts, rows, pin) = match slot
                .as_ref()
                .and_then(|s| s.lock().as_mut().map(|txn| txn.view(&table)))
            {
                Some(v) => {
                    let v = v?;
                    (v.parts, v.rows, v.pin)
                }
                None => {
                    let (snap, pin) = table.pinned_snapshot()?;
                    (
                        table.part_paths(&snap),
                        snap.wal_batches.to_vec(),
                        Arc::new(pin),
                    )
                }
            };
            // Footers are read here, off the statement's thread, the first time a part is seen.
            let parts = table.part_stats.prune(pruning.as_ref(), parts);
            Ok((parts, rows, pin))
        })
        .await
        .map_err(|e| DataFusionError::External(Box::new(e)))?
        .map_err(to_df)?;
        let mut inputs: Vec<Arc<dyn ExecutionPlan>> = Vec::new();
        if !paths.is_empty() {
            let urls = paths
                .iter()
                .map(|p| ListingTableUrl::parse(p.to_string_lossy()))
                .collect::<Result<Vec<_>>>()?;
            let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
                .with_file_extension(".parquet");
            let config = ListingTableConfig::new_with_multi_paths(urls)
                .with_listing_options(options)
                .with_schema(schema.clone());
            // Parts never change under their names, so their statistics (read from each
            // footer to plan the scan) are kept between statements.
            let statistics = state.runtime_env().cache_manager.get_file_statistic_cache();
            let listing = ListingTable::try_new(config)?.with_cache(statistics);
            inputs.push(listing.scan(state, projection, filters, limit).await?);
        }
        if !rows.is_empty() || inputs.is_empty() {
            inputs.push(MemorySourceConfig::try_new_exec(
                &[rows],
                schema,
                projection.cloned(),
            )?);
        }
        let scan = UnionExec::try_new(inputs)?;
        Ok(Arc::new(PinnedExec::new(scan, pin)))
    }

    async fn insert_into(
        &self,
        state: &dyn Session,
        input: Arc<dyn ExecutionPlan>,
        insert_op: InsertOp,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if insert_op != InsertOp::Append {
            return Err(DataFusionError::NotImplemented(format!(
                "{insert_op} into {}: use DELETE and INSERT, or `cip load --upsert`",
                self.table.name()
            )));
        }
        let sink = LogSink {
            table: self.table.clone(),
            slot: state.config().get_extension::<TxnSlot>(),
            returned: state.config().get_extension::<StoredRows>(),
            conflict: state.config().get_extension::<ConflictSlot>(),
            schema: self.table.input_schema.clone(),
        };
        Ok(Arc::new(DataSinkExec::new(input, Arc::new(sink), None)))
    }

    async fn delete_from(
        &self,
        state: &dyn Session,
        filters: Vec<Expr>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(Arc::new(dml_exec(
            self.table.clone(),
            DmlOp::Delete { filters },
            state.execution_props().clone(),
            state.config().get_extension::<TxnSlot>(),
            state.config().get_extension::<StoredRows>(),
        )))
    }

    async fn update(
        &self,
        state: &dyn Session,
        assignments: Vec<(String, Expr)>,
        filters: Vec<Expr>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(Arc::new(dml_exec(
            self.table.clone(),
            DmlOp::Update {
                assignments,
                filters,
            },
            state.execution_props().clone(),
            state.config().get_extension::<TxnSlot>(),
            state.config().get_extension::<StoredRows>(),
        )))
    }

    async fn truncate(&self, state: &dyn Session) -> Result<Arc<dyn ExecutionPlan>> {
        Ok(Arc::new(dml_exec(
            self.table.clone(),
            DmlOp::Delete { filters: vec![] },
            state.execution_props().clone(),
            state.config().get_extension::<TxnSlot>(),
            None,
        )))
    }
}

/// Collects an INSERT's rows and appends them as one durable log frame, so the statement is
/// atomic: all its rows or none.
#[derive(Debug)]
struct LogSink {
    table: Arc<Table>,
    slot: Option<Arc<TxnSlot>>,
    returned: Option<Arc<StoredRows>>,
    /// Where an INSERT … ON CONFLICT leaves its action.
    conflict: Option<Arc<ConflictSlot>>,
    /// The table's columns, all nullable: storage fills defaults (a serial id left out is
    /// NULL here) and then checks NOT NULL itself, naming the column as PostgreSQL does.
    schema: SchemaRef,
}

impl DisplayAs for LogSink {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "CipLogSink: table={}", self.table.name())
    }
}

#[async_trait]
impl DataSink for LogSink {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    async fn write_all(
        &self,
        mut data: SendableRecordBatchStream,
        _context: &Arc<TaskContext>,
    ) -> Result<u64> {
        let mut batches = Vec::new();
        while let Some(b) = data.next().await {
            batches.push(b?);
        }
        let (table, slot) = (self.table.clone(), self.slot.clone());
        let conflict = (self.conflict.as_ref()).and_then(|c| c.take_for(self.table.name()));
        let stored = tokio::task::spawn_blocking(move || {
            if let Some(slot) = slot {
                if let Some(txn) = slot.lock().as_mut() {
                    return match &conflict {
                        Some(action) => txn.insert_on_conflict(&table, &batches, action),
                        None => txn.append_stored(&table, &batches),
                    };
                }
            }
            match &conflict {
                Some(action) => table.insert_on_conflict(&batches, action),
                None => table.append_stored(&batches),
            }
        })
        .await
        .map_err(|e| DataFusionError::External(Box::new(e)))?
        .map_err(to_df)?;
        let rows = stored.as_ref().map_or(0, |b| b.num_rows() as u64);
        if let Some(returned) = &self.returned {
            returned.keep_all(self.table.name(), stored);
        }
        Ok(rows)
    }
}

/// Where a statement's rows are left while it asks for them (… RETURNING): those an INSERT
/// stored (ids and defaults filled), an UPDATE wrote or a DELETE removed — in the table the
/// statement names only, not in the tables a function it calls writes to. One per session,
/// in its configuration.
#[derive(Debug, Default)]
pub struct StoredRows(Mutex<Option<(&'static str, Vec<RecordBatch>)>>);

impl StoredRows {
    fn lock(&self) -> MutexGuard<'_, Option<(&'static str, Vec<RecordBatch>)>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// From now on, writes to `table` keep their rows.
    pub fn start(&self, table: &'static str) {
        *self.lock() = Some((table, Vec::new()));
    }

    /// What writes kept since `start`; stops keeping.
    pub fn take(&self) -> Vec<RecordBatch> {
        self.lock().take().map(|(_, rows)| rows).unwrap_or_default()
    }

    /// Whether a statement asked for the rows written to `table`: a writer without one
    /// need not gather them.
    pub(super) fn wants(&self, table: &str) -> bool {
        self.lock()
            .as_ref()
            .is_some_and(|(wanted, _)| *wanted == table)
    }

    /// Keeps `rows` written to `table` if a statement asked for them.
    pub(super) fn keep_all(&self, table: &str, rows: impl IntoIterator<Item = RecordBatch>) {
        if let Some((wanted, kept)) = self.lock().as_mut() {
            if *wanted == table {
                kept.extend(rows.into_iter().filter(|b| b.num_rows() > 0));
            }
        }
    }
}
