//! `DEALLOCATE name` / `DEALLOCATE ALL` as drivers send them.
//!
//! psycopg names its prepared statements at the protocol level (Parse "_pg3_0") and drops them
//! with a simple-query `DEALLOCATE`, and after a failed transaction with `DEALLOCATE ALL`.
//! DataFusion only knows statements made with SQL PREPARE and reads ALL as a name, so the
//! driver saw an error on ROLLBACK. Here a protocol statement of that name is closed, else the
//! SQL one; ALL is acknowledged (pgwire's statement store cannot be listed: the statements
//! stay until the connection ends, and drivers choose new names after ALL).

use super::copy_format::{api, user_error};
use async_trait::async_trait;
use datafusion::common::ParamValues;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::Statement;
use datafusion_postgres::hooks::HookClient;
use datafusion_postgres::QueryHook;
use pgwire::api::results::{Response, Tag};
use pgwire::api::store::PortalStore;
use pgwire::api::ClientInfo;
use pgwire::error::PgWireResult;

pub struct DeallocateHook;

#[async_trait]
impl QueryHook for DeallocateHook {
    async fn handle_simple_query(
        &self,
        statement: &Statement,
        ctx: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        let Statement::Deallocate { name, .. } = statement else {
            return None;
        };
        if name.quote_style.is_none() && name.value.eq_ignore_ascii_case("all") {
            return Some(Ok(Response::Execution(Tag::new("DEALLOCATE ALL"))));
        }
        let store = client.portal_store();
        if store.get_statement(&name.value).is_some() {
            store.rm_statement(&name.value);
            return Some(Ok(Response::Execution(Tag::new("DEALLOCATE"))));
        }
        let run = async {
            match ctx.sql(&statement.to_string()).await {
                Ok(df) => {
                    df.collect().await.map_err(api)?;
                    Ok(Response::Execution(Tag::new("DEALLOCATE")))
                }
                Err(_) => Err(user_error(
                    "26000",
                    format!("prepared statement \"{}\" does not exist", name.value),
                )),
            }
        };
        Some(run.await)
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
        _statement: &Statement,
        _plan: &LogicalPlan,
        _params: &ParamValues,
        _ctx: &SessionContext,
        _client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        None
    }
}
