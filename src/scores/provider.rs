//! The table `member_scores` as users see it: the stored snapshot when it is current for the
//! session, the snapshot and the live view member_scores_live side by side while it catches
//! up with new rows, the live view's rows otherwise, in the table's columns (answer.rs). A
//! lookup of one member then reads a page of the snapshot instead of scoring the population.
//! EXPLAIN shows which: a scan of member_scores' Parquet parts, the view's plan, or a union of
//! both. Writes go to the stored table (and make it stale).

use super::answer::{self, Source};
use crate::storage::Store;
use crate::warehouse::Guarded;
use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{plan_datafusion_err, Column, DataFusionError, Result, ScalarValue};
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::{lit, Expr, TableProviderFilterPushDown, TableType};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionConfig;
use std::sync::Arc;

pub struct Scores {
    /// The relation's name, and the view computing it live.
    pub(super) name: &'static str,
    pub(super) live: &'static str,
    /// The stored snapshot, and which of its columns this relation shows (all, or those of
    /// customer_segments).
    pub(super) stored: Arc<Guarded>,
    pub(super) columns: Vec<usize>,
    pub(super) schema: SchemaRef,
    /// The table itself takes writes (they make it stale); a view over it does not.
    pub(super) writable: bool,
    /// What information_schema.views shows for the view.
    pub(super) definition: String,
    pub(super) store: Arc<Store>,
}

impl std::fmt::Debug for Scores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl Scores {
    /// The rows of one member read from the snapshot without a scan, when the snapshot
    /// answers for them (answer.rs); None otherwise: plan a scan, which computes live.
    pub async fn read_key(
        &self,
        config: &SessionConfig,
        column: usize,
        value: ScalarValue,
        projection: Vec<usize>,
    ) -> Option<Result<RecordBatch>> {
        let name = Column::new_unqualified(self.schema.field(column).name());
        let asked = Expr::Column(name).eq(lit(value.clone()));
        match answer::source_for(config, &self.store, &[asked]).await {
            Ok(Source::Snapshot) => {}
            Ok(_) => return None,
            Err(e) => return Some(Err(e)),
        }
        let stored: Vec<usize> = projection.iter().map(|&i| self.columns[i]).collect();
        let rows = match (self.stored)
            .read_key(config, self.columns[column], value, stored)
            .await?
        {
            Ok(rows) => rows,
            Err(e) => return Some(Err(e)),
        };
        // In this relation's names and types (the same as the snapshot's, by construction).
        let schema = Arc::new(self.schema.project(&projection).ok()?);
        RecordBatch::try_new(schema, rows.columns().to_vec())
            .ok()
            .map(Ok)
    }

    fn writable(&self) -> Result<()> {
        if self.writable {
            Ok(())
        } else {
            Err(DataFusionError::NotImplemented(format!(
                "{} is a view: write to the tables it reads",
                self.name
            )))
        }
    }
}

async fn live_view(state: &dyn Session, live: &str) -> Result<Arc<dyn TableProvider>> {
    let state = state
        .as_any()
        .downcast_ref::<SessionState>()
        .ok_or_else(|| plan_datafusion_err!("{live} needs a cip session"))?;
    state
        .schema_for_ref(live)?
        .table(live)
        .await?
        .ok_or_else(|| plan_datafusion_err!("the view {live} (queries/) is missing"))
}

#[async_trait]
impl TableProvider for Scores {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        if self.writable {
            TableType::Base
        } else {
            TableType::View
        }
    }

    fn get_table_definition(&self) -> Option<&str> {
        (!self.writable).then_some(self.definition.as_str())
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        // Inexact: the snapshot's Parquet prunes pages with them, the filter above checks
        // every row either way.
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let source = answer::source(state, &self.store, filters).await?;
        if let Source::Snapshot = source {
            let stored: Vec<usize> = match projection {
                Some(p) => p.iter().map(|&i| self.columns[i]).collect(),
                None => self.columns.clone(),
            };
            return self.stored.scan(state, Some(&stored), filters, limit).await;
        }
        let session = state
            .as_any()
            .downcast_ref::<SessionState>()
            .ok_or_else(|| plan_datafusion_err!("{} needs a cip session", self.name))?;
        let rows = answer::Rows {
            state: session,
            target: self.schema(),
            stored: self.stored.clone(),
            live: live_view(state, self.live).await?,
            projection,
            filters,
        };
        match &source {
            Source::Mixed(members) => rows.plan(Some(members)).await,
            _ => rows.plan(None).await,
        }
    }

    async fn insert_into(
        &self,
        state: &dyn Session,
        input: Arc<dyn ExecutionPlan>,
        insert_op: InsertOp,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.writable()?;
        self.stored.insert_into(state, input, insert_op).await
    }

    async fn delete_from(
        &self,
        state: &dyn Session,
        filters: Vec<Expr>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.writable()?;
        self.stored.delete_from(state, filters).await
    }

    async fn update(
        &self,
        state: &dyn Session,
        assignments: Vec<(String, Expr)>,
        filters: Vec<Expr>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.writable()?;
        self.stored.update(state, assignments, filters).await
    }

    async fn truncate(&self, state: &dyn Session) -> Result<Arc<dyn ExecutionPlan>> {
        self.writable()?;
        self.stored.truncate(state).await
    }
}
