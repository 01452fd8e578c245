//! Table functions that act when their plan is executed, never when it is planned, described
//! or EXPLAINed: the provider captures the calling session at scan time and runs its action
//! (a model fit, a table refresh, an upgrade run) only in `execute`.

use super::exec::{Act, ActExec};
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{internal_err, Result};
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::{Expr, TableType};
use datafusion::physical_plan::ExecutionPlan;
use futures::future::BoxFuture;
use std::sync::Arc;

/// What runs at execution, given the calling session: one batch of the table's full schema.
pub type Action =
    Arc<dyn Fn(SessionState) -> BoxFuture<'static, Result<RecordBatch>> + Send + Sync>;

pub struct DeferredTable {
    name: String,
    schema: SchemaRef,
    action: Action,
}

impl std::fmt::Debug for DeferredTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DeferredTable({})", self.name)
    }
}

impl DeferredTable {
    pub fn new(name: impl Into<String>, schema: SchemaRef, action: Action) -> Self {
        DeferredTable {
            name: name.into(),
            schema,
            action,
        }
    }
}

/// The table of `function` called with a prepared statement's parameter `id`: it describes
/// the result (Parse and Describe plan it this way) and refuses to run unbound. The statement
/// layer binds the values and plans afresh before executing (statement/params.rs).
pub fn unbound(function: &str, id: &str, schema: SchemaRef) -> Arc<dyn TableProvider> {
    let (name, id_owned) = (function.to_string(), id.to_string());
    let action: Action = Arc::new(move |_| {
        let e =
            cip_udfs::error::invalid_argument(&name, format!("parameter {id_owned} is not bound"));
        Box::pin(async move { Err(e) })
    });
    Arc::new(DeferredTable::new(
        format!("{function}({id})"),
        schema,
        action,
    ))
}

#[async_trait::async_trait]
impl TableProvider for DeferredTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let Some(state) = state.as_any().downcast_ref::<SessionState>() else {
            return internal_err!("{} needs a cip session", self.name);
        };
        let projected = match projection {
            Some(p) => Arc::new(self.schema.project(p)?),
            None => self.schema.clone(),
        };
        let state = Arc::new(state.clone());
        let (action, projection) = (self.action.clone(), projection.cloned());
        let act: Act = Arc::new(move || {
            let run = action((*state).clone());
            let projection = projection.clone();
            Box::pin(async move {
                let batch = run.await?;
                match projection {
                    Some(p) => Ok(batch.project(&p)?),
                    None => Ok(batch),
                }
            })
        });
        Ok(Arc::new(ActExec::new(
            "CipFunctionExec",
            self.name.clone(),
            projected,
            act,
        )))
    }
}
