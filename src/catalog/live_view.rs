//! A view of live state (the server's sessions, their locks and connections; the reading
//! session's parameters): its rows are built each time a statement scans it, so a reader sees
//! the state as of its own statement.

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::Result;
use datafusion::datasource::{MemTable, TableType};
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use std::sync::Arc;

type Rows = Box<dyn Fn(&dyn Session) -> Result<MemTable> + Send + Sync>;

pub struct LiveView {
    name: &'static str,
    schema: SchemaRef,
    rows: Rows,
}

impl std::fmt::Debug for LiveView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveView")
            .field("name", &self.name)
            .finish()
    }
}

impl LiveView {
    /// The view `name` of `schema`, its rows what `rows` answers when a session scans it.
    pub fn new(
        name: &'static str,
        schema: SchemaRef,
        rows: impl Fn(&dyn Session) -> Result<MemTable> + Send + Sync + 'static,
    ) -> Self {
        LiveView {
            name,
            schema,
            rows: Box::new(rows),
        }
    }
}

#[async_trait::async_trait]
impl TableProvider for LiveView {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        (self.rows)(state)?
            .scan(state, projection, filters, limit)
            .await
    }
}
