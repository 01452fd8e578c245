//! The table `member_scores` as users see it: the stored snapshot when it is current for the
//! session (freshness.rs), else the rows of the view member_scores_live computed now, in the
//! table's columns. A lookup of one member then reads a page of the snapshot instead of
//! scoring the population. EXPLAIN shows which: a scan of member_scores' Parquet parts, or the
//! view's plan under a projection. Writes go to the stored table (and make it stale).

use super::freshness;
use super::AS_OF;
use crate::error::to_df;
use crate::settings::CipOptions;
use crate::storage::{Store, TxnSlot};
use crate::warehouse::Guarded;
use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{plan_datafusion_err, DataFusionError, Result, ScalarValue};
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use datafusion::physical_expr::expressions::{cast, col, lit};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::ExecutionPlan;
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
    /// Whether this session may answer from the snapshot.
    async fn current(&self, state: &dyn Session) -> Result<bool> {
        // A transaction block sees its own uncommitted writes, which no snapshot holds.
        if let Some(slot) = state.config().get_extension::<TxnSlot>() {
            if slot.lock().is_some() {
                return Ok(false);
            }
        }
        let options = CipOptions::of(state.config_options());
        freshness::answers_for(&self.store, &options)
            .await
            .map_err(to_df)
    }

    /// The live view's rows in the table's columns (`projection` of them).
    async fn live(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let view = live_view(state, self.live).await?;
        let target = self.schema();
        let wanted: Vec<usize> = projection
            .cloned()
            .unwrap_or_else(|| (0..target.fields().len()).collect());
        let view_schema = view.schema();
        let mut from_view = Vec::new();
        for &i in &wanted {
            let name = target.field(i).name();
            if name != AS_OF {
                from_view.push(view_schema.index_of(name)?);
            }
        }
        let input = view.scan(state, Some(&from_view), &[], None).await?;
        let input_schema = input.schema();
        let as_of = CipOptions::of(state.config_options()).as_of_date()?;
        let days = (as_of - chrono::NaiveDate::default()).num_days() as i32;
        let exprs = wanted
            .iter()
            .map(|&i| {
                let field = target.field(i);
                let expr: Arc<dyn PhysicalExpr> = if field.name() == AS_OF {
                    lit(ScalarValue::Date32(Some(days)))
                } else {
                    cast(
                        col(field.name(), &input_schema)?,
                        &input_schema,
                        field.data_type().clone(),
                    )?
                };
                Ok((expr, field.name().clone()))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Arc::new(ProjectionExec::try_new(exprs, input)?))
    }
}

impl Scores {
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
        if self.current(state).await? {
            let stored: Vec<usize> = match projection {
                Some(p) => p.iter().map(|&i| self.columns[i]).collect(),
                None => self.columns.clone(),
            };
            self.stored.scan(state, Some(&stored), filters, limit).await
        } else {
            self.live(state, projection).await
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
