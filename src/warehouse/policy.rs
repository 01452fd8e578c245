//! Who may do what to a table, around storage's provider: writes need a role that writes
//! (an analyst gets 42501), and an analyst reads the masked columns (members' names and
//! phones) only through their masking functions — in every view, filter, join and export.

use super::mask;
use crate::identity::{Actor, Role};
use crate::storage::provider::CipTable;
use crate::storage::TableDef;
use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{Constraints, Result, ScalarValue};
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionConfig;
use std::sync::Arc;

#[derive(Debug)]
pub struct Guarded {
    inner: CipTable,
    name: &'static str,
    masked: Vec<(&'static str, &'static str)>,
}

/// The definition behind a provider of one of cip's stored tables, guarded or not; None for
/// views, temporary tables and the rest.
pub fn stored_definition(provider: &Arc<dyn TableProvider>) -> Option<&TableDef> {
    if let Some(t) = provider.downcast_ref::<CipTable>() {
        return Some(t.def());
    }
    provider.downcast_ref::<Guarded>().map(|g| g.inner.def())
}

impl Guarded {
    pub fn new(table: Arc<crate::storage::Table>) -> Guarded {
        let name = table.name();
        Guarded {
            inner: CipTable::new(table),
            name,
            masked: super::tables::masked(name),
        }
    }

    /// The rows of one key read without a scan (CipTable::read_key); None when the session
    /// sees masked columns (an analyst: the mask is applied by the scan) or the table cannot.
    pub async fn read_key(
        &self,
        config: &SessionConfig,
        column: usize,
        value: ScalarValue,
        projection: Vec<usize>,
    ) -> Option<Result<RecordBatch>> {
        if !self.masked.is_empty() && Actor::of_config(config).role == Role::Analyst {
            return None;
        }
        self.inner.read_key(config, column, value, projection).await
    }

    fn require_write(&self, state: &dyn Session, what: &str) -> Result<()> {
        Actor::of(state).require_write(&format!("{what} on {}", self.name))
    }
}

#[async_trait]
impl TableProvider for Guarded {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    fn table_type(&self) -> TableType {
        self.inner.table_type()
    }

    fn constraints(&self) -> Option<&Constraints> {
        self.inner.constraints()
    }

    fn get_column_default(&self, column: &str) -> Option<&Expr> {
        self.inner.get_column_default(column)
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        self.inner.supports_filters_pushdown(filters)
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if self.masked.is_empty() || !mask::is_analyst(state) {
            return self.inner.scan(state, projection, filters, limit).await;
        }
        // Pruning with filters on raw values would answer questions about them.
        let plan = self.inner.scan(state, projection, &[], limit).await?;
        mask::mask(state, &self.masked, plan)
    }

    async fn insert_into(
        &self,
        state: &dyn Session,
        input: Arc<dyn ExecutionPlan>,
        insert_op: InsertOp,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.require_write(state, "INSERT")?;
        self.inner.insert_into(state, input, insert_op).await
    }

    async fn delete_from(
        &self,
        state: &dyn Session,
        filters: Vec<Expr>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.require_write(state, "DELETE")?;
        self.inner.delete_from(state, filters).await
    }

    async fn update(
        &self,
        state: &dyn Session,
        assignments: Vec<(String, Expr)>,
        filters: Vec<Expr>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.require_write(state, "UPDATE")?;
        self.inner.update(state, assignments, filters).await
    }

    async fn truncate(&self, state: &dyn Session) -> Result<Arc<dyn ExecutionPlan>> {
        self.require_write(state, "TRUNCATE")?;
        self.inner.truncate(state).await
    }
}
