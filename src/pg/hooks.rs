//! Statement hooks in front of datafusion-postgres's handlers.

use async_trait::async_trait;
use datafusion::arrow::array::{Array, UInt64Array};
use datafusion::common::ParamValues;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::Statement;
use datafusion_postgres::hooks::HookClient;
use datafusion_postgres::QueryHook;
use pgwire::api::results::{Response, Tag};
use pgwire::api::ClientInfo;
use pgwire::error::{PgWireError, PgWireResult};

/// UPDATE and DELETE answer with their command tag and row count ("UPDATE 3"), as
/// PostgreSQL does, instead of a result set with a count column.
pub struct CommandTagHook;

fn tag_of(statement: &Statement) -> Option<&'static str> {
    match statement {
        Statement::Update { .. } => Some("UPDATE"),
        Statement::Delete(_) => Some("DELETE"),
        _ => None,
    }
}

fn api(e: datafusion::common::DataFusionError) -> PgWireError {
    PgWireError::ApiError(Box::new(e))
}

async fn run_counted(ctx: &SessionContext, plan: LogicalPlan, tag: &str) -> PgWireResult<Response> {
    let batches = ctx
        .execute_logical_plan(plan)
        .await
        .map_err(api)?
        .collect()
        .await
        .map_err(api)?;
    let rows: u64 = batches
        .iter()
        .filter_map(|b| {
            let c = b
                .columns()
                .first()?
                .as_any()
                .downcast_ref::<UInt64Array>()?;
            (!c.is_empty()).then(|| c.value(0))
        })
        .sum();
    Ok(Response::Execution(Tag::new(tag).with_rows(rows as usize)))
}

#[async_trait]
impl QueryHook for CommandTagHook {
    async fn handle_simple_query(
        &self,
        statement: &Statement,
        ctx: &SessionContext,
        _client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        let tag = tag_of(statement)?;
        let plan = ctx
            .state()
            .statement_to_plan(datafusion::sql::parser::Statement::Statement(Box::new(
                statement.clone(),
            )))
            .await;
        Some(match plan {
            Ok(plan) => run_counted(ctx, plan, tag).await,
            Err(e) => Err(api(e)),
        })
    }

    async fn handle_extended_parse_query(
        &self,
        _statement: &Statement,
        _ctx: &SessionContext,
        _client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireResult<LogicalPlan>> {
        None
    }

    async fn handle_extended_query(
        &self,
        statement: &Statement,
        plan: &LogicalPlan,
        params: &ParamValues,
        ctx: &SessionContext,
        _client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        let tag = tag_of(statement)?;
        Some(match plan.clone().replace_params_with_values(params) {
            Ok(plan) => run_counted(ctx, plan, tag).await,
            Err(e) => Err(api(e)),
        })
    }
}
