//! Statement hooks in front of datafusion-postgres's handlers.

use super::copy_format::{api, no_rows_plan, user_error};
use async_trait::async_trait;
use datafusion::common::ParamValues;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::{Set, Statement};
use datafusion_postgres::hooks::HookClient;
use datafusion_postgres::QueryHook;
use pgwire::api::results::{Response, Tag};
use pgwire::api::ClientInfo;
use pgwire::error::{PgWireError, PgWireResult};

/// `SHOW FUNCTIONS [LIKE …]` lists cip's functions (the cip_functions view) rather than
/// DataFusion's built-ins.
pub struct ShowFunctionsHook;

#[async_trait]
impl QueryHook for ShowFunctionsHook {
    async fn handle_simple_query(
        &self,
        statement: &Statement,
        ctx: &SessionContext,
        _client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        let sql = crate::functions::show_functions_sql(statement)?;
        Some(super::copy_format::answer_with(ctx, &sql).await)
    }

    async fn handle_extended_parse_query(
        &self,
        statement: &Statement,
        ctx: &SessionContext,
        _client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireResult<LogicalPlan>> {
        // Planned as the query it stands for; Execute then runs that plan like any query.
        let sql = crate::functions::show_functions_sql(statement)?;
        Some(ctx.state().create_logical_plan(&sql).await.map_err(api))
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

/// Counts every statement for /metrics; handles none.
pub struct CountingHook;

#[async_trait]
impl QueryHook for CountingHook {
    async fn handle_simple_query(
        &self,
        _statement: &Statement,
        _ctx: &SessionContext,
        _client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        crate::metrics::QUERIES.add(1);
        None
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
        crate::metrics::QUERIES.add(1);
        None
    }
}

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

async fn run_counted(ctx: &SessionContext, plan: LogicalPlan, tag: &str) -> PgWireResult<Response> {
    let batches = ctx
        .execute_logical_plan(plan)
        .await
        .map_err(api)?
        .collect()
        .await
        .map_err(api)?;
    let rows = crate::sql::count_of(&batches);
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

/// `SET cip.<name> = …` / `SET datafusion.<name> = …` and `SHOW` of either on this
/// connection's own session. Unlike the generic SET handling (which acknowledges what it
/// cannot apply, and answered SHOW datafusion.* with an empty `unsupported_show_statement`), a
/// bad value or an unknown name is an error (22023 / 42704), and the value really applies —
/// to this connection only.
pub struct CipSettingsHook;

enum SettingStmt {
    Set,
    Show(String),
}

/// Whether a setting's name is one the session holds (ours or DataFusion's).
fn session_setting(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.starts_with("cip.") || name.starts_with("datafusion.")
}

fn setting_statement(statement: &Statement) -> Option<SettingStmt> {
    match statement {
        Statement::Set(Set::SingleAssignment { variable, .. })
            if session_setting(&variable.to_string()) =>
        {
            Some(SettingStmt::Set)
        }
        Statement::ShowVariable { variable } => {
            let name = crate::settings::variable_name(variable);
            session_setting(&name).then_some(SettingStmt::Show(name))
        }
        _ => None,
    }
}

async fn apply_setting(
    statement: &Statement,
    what: SettingStmt,
    ctx: &SessionContext,
) -> PgWireResult<Response> {
    // Settings are one text value: sent as text whatever format the client asked for.
    let format = &pgwire::api::portal::Format::UnifiedText;
    match what {
        SettingStmt::Set => {
            ctx.sql(&statement.to_string())
                .await
                .map_err(api)?
                .collect()
                .await
                .map_err(api)?;
            Ok(Response::Execution(Tag::new("SET")))
        }
        SettingStmt::Show(name) => {
            let batch = match crate::settings::show(ctx, &name) {
                Some(Ok(b)) => b,
                Some(Err(e)) => return Err(PgWireError::ApiError(Box::new(e))),
                None => {
                    return Err(PgWireError::ApiError(
                        format!("not a session setting: {name}").into(),
                    ))
                }
            };
            let df = ctx.read_batch(batch).map_err(api)?;
            let resp =
                datafusion_postgres::arrow_pg::datatypes::df::encode_dataframe(df, format, None)
                    .await?;
            Ok(Response::Query(resp))
        }
    }
}

#[async_trait]
impl QueryHook for CipSettingsHook {
    async fn handle_simple_query(
        &self,
        statement: &Statement,
        ctx: &SessionContext,
        _client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        let what = setting_statement(statement)?;
        Some(apply_setting(statement, what, ctx).await)
    }

    async fn handle_extended_parse_query(
        &self,
        statement: &Statement,
        ctx: &SessionContext,
        _client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireResult<LogicalPlan>> {
        // Parsing must not apply the SET: the plan only describes the result's shape.
        let plan = match setting_statement(statement)? {
            SettingStmt::Set => Ok(no_rows_plan()),
            SettingStmt::Show(name) => match crate::settings::show(ctx, &name) {
                Some(Ok(b)) => ctx.read_batch(b).map(|df| df.logical_plan().clone()),
                Some(Err(e)) => return Some(Err(PgWireError::ApiError(Box::new(e)))),
                None => return None,
            },
        };
        Some(plan.map_err(api))
    }

    async fn handle_extended_query(
        &self,
        statement: &Statement,
        _plan: &LogicalPlan,
        _params: &ParamValues,
        ctx: &SessionContext,
        _client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        let what = setting_statement(statement)?;
        Some(apply_setting(statement, what, ctx).await)
    }
}

/// Writes inside an explicit transaction block (BEGIN … COMMIT) are refused with 25001:
/// cip applies every write at once and durably, so it could not honour a later ROLLBACK.
/// Refusing is the honest answer; autocommit writes (the default of every driver) work.
///
/// This hook also answers BEGIN / COMMIT / ROLLBACK itself and records the block's state on
/// the connection at once, so that `BEGIN; INSERT …` in one simple-query message is caught
/// too (pgwire would only update the state after the whole message).
pub struct NoWritesInTransactionHook;

fn transaction_control(
    client: &mut dyn HookClient,
    statement: &Statement,
) -> Option<PgWireResult<Response>> {
    use pgwire::messages::response::TransactionStatus;
    let status = client.transaction_status();
    match statement {
        Statement::StartTransaction { .. } => Some(match status {
            TransactionStatus::Error => Err(user_error(
                "25P02",
                "current transaction is aborted, commands ignored until end of transaction block",
            )),
            _ => {
                client.set_transaction_status(TransactionStatus::Transaction);
                Ok(Response::TransactionStart(Tag::new("BEGIN")))
            }
        }),
        Statement::Commit { .. } => {
            client.set_transaction_status(TransactionStatus::Idle);
            let tag = if status == TransactionStatus::Error {
                "ROLLBACK"
            } else {
                "COMMIT"
            };
            Some(Ok(Response::TransactionEnd(Tag::new(tag))))
        }
        // Savepoints are accepted (SQLAlchemy and psycopg wrap work in them). Writes are refused
        // inside a block, so there is nothing to undo. Known gap: pgwire 0.41 keeps a failed
        // block failed after ROLLBACK TO SAVEPOINT; only ROLLBACK ends it.
        Statement::Savepoint { .. } => Some(Ok(Response::Execution(Tag::new("SAVEPOINT")))),
        Statement::ReleaseSavepoint { .. } => Some(Ok(Response::Execution(Tag::new("RELEASE")))),
        Statement::Rollback {
            savepoint: Some(_), ..
        } => Some(Ok(Response::Execution(Tag::new("ROLLBACK")))),
        Statement::Rollback { .. } => {
            client.set_transaction_status(TransactionStatus::Idle);
            Some(Ok(Response::TransactionEnd(Tag::new("ROLLBACK"))))
        }
        _ => None,
    }
}

fn write_kind(statement: &Statement) -> Option<&'static str> {
    match statement {
        Statement::Insert(_) => Some("INSERT"),
        Statement::Update { .. } => Some("UPDATE"),
        Statement::Delete(_) => Some("DELETE"),
        Statement::Truncate { .. } => Some("TRUNCATE"),
        Statement::Merge { .. } => Some("MERGE"),
        Statement::Copy { to: false, .. } => Some("COPY FROM"),
        _ => None,
    }
}

fn refuse_in_transaction(
    statement: &Statement,
    status: pgwire::messages::response::TransactionStatus,
) -> Option<PgWireResult<Response>> {
    use pgwire::messages::response::TransactionStatus;
    let kind = write_kind(statement)?;
    if status == TransactionStatus::Idle {
        return None;
    }
    Some(Err(user_error(
        "25001",
        format!(
            "{kind} cannot run inside a transaction block: cip applies writes at once and \
             durably, so ROLLBACK could not undo it; run it outside BEGIN … COMMIT (autocommit)"
        ),
    )))
}

#[async_trait]
impl QueryHook for NoWritesInTransactionHook {
    async fn handle_simple_query(
        &self,
        statement: &Statement,
        _ctx: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        if let Some(r) = transaction_control(client, statement) {
            return Some(r);
        }
        refuse_in_transaction(statement, client.transaction_status())
    }

    async fn handle_extended_parse_query(
        &self,
        statement: &Statement,
        _ctx: &SessionContext,
        _client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireResult<LogicalPlan>> {
        matches!(
            statement,
            Statement::Savepoint { .. } | Statement::ReleaseSavepoint { .. }
        )
        .then(|| Ok(no_rows_plan()))
    }

    async fn handle_extended_query(
        &self,
        statement: &Statement,
        _plan: &LogicalPlan,
        _params: &ParamValues,
        _ctx: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        if let Some(r) = transaction_control(client, statement) {
            return Some(r);
        }
        refuse_in_transaction(statement, client.transaction_status())
    }
}
