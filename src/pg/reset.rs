//! `RESET name`, `RESET ALL` and `DISCARD …`, which connection pools (pgbouncer, Power BI,
//! JDBC pools) send when they hand a connection to a new user. DataFusion knows none of them.
//!
//! RESET puts a `cip.*` setting back to the server's default for new sessions (the config's
//! timezone and day cut-off, today for as_of), `statement_timeout` back to none, a
//! `datafusion.*` option back to DataFusion's default, and forgets any other value a SET
//! stored for the connection. RESET ALL does all of that. DISCARD ALL is RESET ALL plus
//! closing the connection's portals (prepared statements stay: pgwire's store cannot list
//! them, as with DEALLOCATE ALL); DISCARD PLANS / SEQUENCES / TEMP have nothing to drop in cip
//! (no plan cache, sequences or temporary tables) and are acknowledged.

use super::copy_format::{api, no_rows_plan};
use super::timeout::STATEMENT_TIMEOUT_KEY;
use crate::settings::CipOptions;
use async_trait::async_trait;
use datafusion::common::config::{ConfigOptions, ExtensionOptions};
use datafusion::common::ParamValues;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::{DiscardObject, Reset, Statement};
use datafusion_postgres::hooks::HookClient;
use datafusion_postgres::QueryHook;
use pgwire::api::results::{Response, Tag};
use pgwire::api::store::PortalStore;
use pgwire::api::ClientInfo;
use pgwire::error::PgWireResult;

pub struct ResetHook {
    /// The `cip.*` settings a new session starts with.
    pub defaults: CipOptions,
}

impl ResetHook {
    fn handles(statement: &Statement) -> bool {
        matches!(statement, Statement::Reset(_) | Statement::Discard { .. })
    }

    /// The response for a RESET or DISCARD, None for any other statement.
    async fn answer(
        &self,
        statement: &Statement,
        ctx: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        if !Self::handles(statement) {
            return None;
        }
        Some(self.run(statement, ctx, client).await)
    }

    async fn run(
        &self,
        statement: &Statement,
        ctx: &SessionContext,
        client: &mut dyn HookClient,
    ) -> PgWireResult<Response> {
        match statement {
            Statement::Reset(r) => match &r.reset {
                Reset::ALL => {
                    self.reset_all(ctx, client).await?;
                    Ok(Response::Execution(Tag::new("RESET")))
                }
                Reset::ConfigurationParameter(name) => {
                    let name = name.to_string().to_ascii_lowercase();
                    self.reset_one(&name, ctx, client).await?;
                    Ok(Response::Execution(Tag::new("RESET")))
                }
            },
            Statement::Discard { object_type } => {
                if matches!(object_type, DiscardObject::ALL) {
                    self.reset_all(ctx, client).await?;
                    client.portal_store().clear_portals();
                }
                Ok(Response::Execution(Tag::new(&format!(
                    "DISCARD {object_type}"
                ))))
            }
            _ => Ok(Response::Execution(Tag::new("RESET"))),
        }
    }

    async fn reset_all(
        &self,
        ctx: &SessionContext,
        client: &mut dyn HookClient,
    ) -> PgWireResult<()> {
        for entry in self.defaults.entries() {
            self.reset_one(&format!("cip.{}", entry.key), ctx, client)
                .await?;
        }
        client.metadata_mut().remove(STATEMENT_TIMEOUT_KEY);
        Ok(())
    }

    async fn reset_one(
        &self,
        name: &str,
        ctx: &SessionContext,
        client: &mut dyn HookClient,
    ) -> PgWireResult<()> {
        let default = if let Some(field) = name.strip_prefix("cip.") {
            let Some(entry) = self.defaults.entries().into_iter().find(|e| e.key == field) else {
                return Err(super::copy_format::user_error(
                    "42704",
                    format!("unrecognized configuration parameter \"{name}\""),
                ));
            };
            entry.value
        } else if name.starts_with("datafusion.") {
            ConfigOptions::default()
                .entries()
                .into_iter()
                .find(|e| e.key == name)
                .and_then(|e| e.value)
        } else {
            if name == "statement_timeout" {
                client.metadata_mut().remove(STATEMENT_TIMEOUT_KEY);
            } else {
                client.metadata_mut().remove(name);
            }
            return Ok(());
        };
        let value = default.unwrap_or_default();
        let sql = format!("SET {name} = {}", crate::sql::quote_literal(&value));
        ctx.sql(&sql)
            .await
            .map_err(api)?
            .collect()
            .await
            .map_err(api)?;
        Ok(())
    }
}

#[async_trait]
impl QueryHook for ResetHook {
    async fn handle_simple_query(
        &self,
        statement: &Statement,
        ctx: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        self.answer(statement, ctx, client).await
    }

    async fn handle_extended_parse_query(
        &self,
        statement: &Statement,
        _ctx: &SessionContext,
        _client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireResult<LogicalPlan>> {
        // Parsing must not reset anything: the statement acts at Execute.
        Self::handles(statement).then(|| Ok(no_rows_plan()))
    }

    async fn handle_extended_query(
        &self,
        statement: &Statement,
        _plan: &LogicalPlan,
        _params: &ParamValues,
        ctx: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        self.answer(statement, ctx, client).await
    }
}
