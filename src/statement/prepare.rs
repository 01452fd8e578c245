//! Preparing a statement: planning it (or recognising it as one cip runs itself) and
//! describing it — its parameters' types and its result's columns — without acting. Parse and
//! Describe of the extended protocol stop here; nothing is written, launched or fitted until
//! Execute.

use super::params;
use super::parse::Parsed;
use super::session::Session;
use super::tag::command_tag;
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::expr::Placeholder;
use datafusion::logical_expr::{lit, Expr, LogicalPlan, LogicalPlanBuilder};
use datafusion::sql::sqlparser::ast::{ObjectType, Statement};
use std::collections::HashMap;
use std::sync::Arc;

/// How many rewrites one statement's planning may go through (see `Session::plan_nested`);
/// the deepest real chain is three (a temporary table's upsert with DEFAULTs).
const MAX_REPLANS: u8 = 8;
/// The columns a statement returns, as described to clients.
pub type Columns = SchemaRef;

/// How a prepared statement runs.
#[derive(Debug, Clone)]
pub(super) enum Kind {
    /// DataFusion's plan; `Some(tag)` for a statement that returns no rows.
    Plan {
        plan: LogicalPlan,
        tag: Option<String>,
    },
    /// A statement whose table functions take parameters: the values are written in as
    /// literals and the statement planned afresh at each execution (params.rs).
    Rebind { tag: Option<String> },
    /// Run by cip itself (transactions, settings, cursors, COPY, …): see execute.rs.
    Command,
    /// … RETURNING: the write, then the RETURNING list over the rows it wrote
    /// (returning.rs).
    Returning(Box<super::returning::Plans>),
}

#[derive(Debug, Clone)]
pub struct Prepared {
    pub parsed: Parsed,
    pub(super) kind: Kind,
    params: Vec<Option<DataType>>,
    /// The types written in `$n::type` casts, by position (1-based).
    written: std::collections::HashMap<usize, String>,
    columns: Option<Columns>,
}

impl Prepared {
    /// The types of `$1…$n` the statement needs (None: whatever the client sends).
    pub fn params(&self) -> &[Option<DataType>] {
        &self.params
    }

    /// The type written in a `$n::type` cast of parameter `n` (1-based), lower-cased.
    pub fn written_type(&self, n: usize) -> Option<&str> {
        self.written.get(&n).map(String::as_str)
    }

    /// The result's columns; None for a statement that returns no rows.
    pub fn columns(&self) -> Option<&Columns> {
        self.columns.as_ref()
    }

    pub fn statement(&self) -> Option<&Statement> {
        match &self.parsed {
            Parsed::Sql(s) => Some(s),
            Parsed::Fetch(_) | Parsed::DataFusion(_) => None,
        }
    }
}

/// One text column named `name` (SHOW's result).
pub(super) fn text_columns(names: &[&str]) -> Columns {
    Arc::new(Schema::new(
        names
            .iter()
            .map(|n| Field::new(*n, DataType::Utf8, true))
            .collect::<Vec<_>>(),
    ))
}

impl Session {
    /// Plans `parsed` without acting.
    pub(super) async fn prepare_here(
        &self,
        parsed: Parsed,
        declared: &[Option<String>],
    ) -> Result<Prepared> {
        // Views saved by other sessions since the last statement are planned against.
        self.sync_shared_objects().await?;
        let command = |columns: Option<Columns>| Prepared {
            parsed: parsed.clone(),
            kind: Kind::Command,
            params: vec![],
            written: Default::default(),
            columns,
        };
        let statement = match &parsed {
            Parsed::Fetch(f) => {
                let columns = if f.move_only {
                    None
                } else {
                    self.cursor_schema(&f.cursor)
                };
                return Ok(command(columns));
            }
            Parsed::Sql(s) => s.as_ref(),
            Parsed::DataFusion(s) => {
                let plan = self.ctx().state().statement_to_plan((**s).clone()).await?;
                super::external::check(&plan, self.ctx(), &self.engine.config)?;
                return Ok(Prepared {
                    params: params::types(&plan)?,
                    written: Default::default(),
                    parsed: parsed.clone(),
                    kind: Kind::Plan {
                        plan,
                        tag: Some("CREATE TABLE".into()),
                    },
                    columns: None,
                });
            }
        };
        match statement {
            Statement::ShowVariable { variable } => {
                return Ok(command(Some(super::command::show_columns(variable))));
            }
            Statement::StartTransaction { .. }
            | Statement::Commit { .. }
            | Statement::Rollback { .. }
            | Statement::Savepoint { .. }
            | Statement::ReleaseSavepoint { .. }
            | Statement::Set(_)
            | Statement::Reset(_)
            | Statement::Discard { .. }
            | Statement::Deallocate { .. }
            | Statement::Copy { .. }
            | Statement::Declare { .. }
            | Statement::Close { .. }
            | Statement::UNLISTEN { .. } => return Ok(command(None)),
            Statement::AlterTable(a) if super::alter::is_supported(a) => return Ok(command(None)),
            Statement::CreateIndex(_)
            | Statement::AlterIndex { .. }
            | Statement::Comment { .. }
            | Statement::Drop {
                object_type: ObjectType::Index,
                ..
            } => return Ok(command(None)),
            _ => {}
        }
        if let Some(sql) = crate::functions::show_functions_sql(statement) {
            let plan = self.ctx().state().create_logical_plan(&sql).await?;
            let columns = Some(plan.schema().inner().clone());
            return Ok(Prepared {
                parsed,
                kind: Kind::Plan { plan, tag: None },
                params: vec![],
                written: Default::default(),
                columns,
            });
        }
        if let Some((write, select, verb)) = super::returning::split(statement)? {
            let write_plan = self.plan(&write).await?;
            let (target, table) = super::returning::target(&write_plan)?;
            let select_plan = self.plan(&select).await?;
            super::returning::check_per_row(&select_plan)?;
            let columns = super::names::describe(&select, select_plan.schema().inner());
            let mut types = params::types(&write_plan)?;
            for (i, t) in params::types(&select_plan)?.into_iter().enumerate() {
                match types.get_mut(i) {
                    Some(known @ None) => *known = t,
                    Some(Some(_)) => {}
                    None => types.push(t),
                }
            }
            let written = params::written_types(statement);
            return Ok(Prepared {
                params: types,
                written: params::with_declared_types(written, &[&write_plan, &select_plan])?,
                parsed,
                kind: Kind::Returning(Box::new(super::returning::Plans {
                    write: write_plan,
                    select: select_plan,
                    target,
                    table,
                    verb,
                })),
                columns: Some(columns),
            });
        }
        let tag = command_tag(statement);
        let placeholders = params::function_placeholders(statement);
        let plan = self.plan(statement).await?;
        let (kind, plan) = if placeholders.is_empty() {
            let plan = self.typed_as_declared(statement, plan, declared).await?;
            (
                Kind::Plan {
                    plan: plan.clone(),
                    tag: tag.clone(),
                },
                plan,
            )
        } else {
            (
                Kind::Rebind { tag: tag.clone() },
                declare_text(plan, placeholders)?,
            )
        };
        // SQL EXECUTE's plan has no columns of its own: its rows are the prepared statement's,
        // described by the stream when it runs.
        let executes = matches!(
            plan,
            LogicalPlan::Statement(datafusion::logical_expr::Statement::Execute(_))
        );
        let columns = (tag.is_none() && !executes)
            .then(|| super::names::describe(statement, plan.schema().inner()));
        Ok(Prepared {
            params: params::types(&plan)?,
            written: params::with_declared_types(params::written_types(statement), &[&plan])?,
            parsed,
            kind,
            columns,
        })
    }

    /// `plan`, or `statement` planned again with the parameters the plan leaves untyped cast
    /// to the types the client declared (declared.rs).
    async fn typed_as_declared(
        &self,
        statement: &Statement,
        plan: LogicalPlan,
        declared: &[Option<String>],
    ) -> Result<LogicalPlan> {
        if declared.iter().all(Option::is_none) {
            return Ok(plan);
        }
        let inferred = params::types(&plan)?;
        let untyped: HashMap<usize, String> = declared
            .iter()
            .enumerate()
            .filter(|(i, _)| inferred.get(*i).is_none_or(Option::is_none))
            .filter_map(|(i, t)| Some((i + 1, super::declared::sql_type(t.as_deref()?)?)))
            .collect();
        let Some(cast) = super::declared::cast_parameters(statement, &untyped) else {
            return Ok(plan);
        };
        // A refinement only: a statement the casts cannot plan keeps the plan it had.
        Ok(self.plan(&cast).await.unwrap_or(plan))
    }

    /// DataFusion's plan of `statement`.
    pub(super) async fn plan(&self, statement: &Statement) -> Result<LogicalPlan> {
        self.plan_nested(statement, 0).await
    }

    /// `plan` of a statement that planning rewrote `depth` times (a temporary table's plain
    /// form, DEFAULTs filled, ON CONFLICT's parts). A rewrite that never settles would
    /// recurse until the stack overflows, which aborts the process (one did, in development):
    /// past MAX_REPLANS it is an error on this statement instead.
    pub(super) async fn plan_nested(
        &self,
        statement: &Statement,
        depth: u8,
    ) -> Result<LogicalPlan> {
        if depth > MAX_REPLANS {
            tracing::error!("planning rewrote a statement {depth} times: {statement}");
            return Err(CipError::invalid(
                sqlstate::INTERNAL_ERROR,
                format!("planning rewrote this statement more than {MAX_REPLANS} times"),
            ));
        }
        // A temporary CREATE TABLE plans as a plain one (DataFusion refuses the other).
        if let Some(plain) = super::temporary::as_plain(statement) {
            return Box::pin(self.plan_nested(&plain, depth + 1))
                .await
                .map(super::temporary::marked);
        }
        super::table_declared::check_enforceable(statement)?;
        super::on_conflict::check_wrapped(statement)?;
        if let Some(upsert) = self.plan_on_conflict(statement, depth + 1).await? {
            return Ok(upsert);
        }
        if let Some(with_defaults) = self.insert_defaults(statement).await? {
            return Box::pin(self.plan_nested(&with_defaults, depth + 1)).await;
        }
        let state = self.ctx().state();
        let functions = state.table_functions();
        let is_table_function = |name: &str| functions.contains_key(name);
        let statement = super::rules::functions_in_from::rewrite(statement, &is_table_function)
            .unwrap_or_else(|| statement.clone());
        let wrapped = datafusion::sql::parser::Statement::Statement(Box::new(statement.clone()));
        let failed = match state.statement_to_plan(wrapped).await {
            Ok(plan) => match unexecutable_catalog_query(&state, &statement, &plan).await {
                None => return Ok(plan),
                Some(e) => e,
            },
            Err(e) => e,
        };
        let Some(fallback) = super::rules::catalog_fallback::null_subqueries(&statement) else {
            return Err(failed.into());
        };
        tracing::debug!("catalog query planned with NULL subqueries after: {failed}");
        let wrapped = datafusion::sql::parser::Statement::Statement(Box::new(fallback));
        state
            .statement_to_plan(wrapped)
            .await
            .map_err(|_| failed.into())
    }
}

/// Why DataFusion could plan a catalog query with subqueries but not run it (a correlation
/// it cannot decorrelate is found only when the plan is optimized: pgcli's foreign-key query
/// unnests the outer row's confkey inside a subquery's FROM). Such a query then takes the
/// catalog fallback as one that does not plan. Only catalog queries pay for the check.
async fn unexecutable_catalog_query(
    state: &datafusion::execution::SessionState,
    statement: &Statement,
    plan: &LogicalPlan,
) -> Option<datafusion::error::DataFusionError> {
    if !super::rules::ast::reads_catalog(statement) || !has_subquery(plan) {
        return None;
    }
    // Parameters are not known yet: the check plans with NULLs of their types.
    let nulls = params::types(plan)
        .ok()?
        .iter()
        .map(|t| {
            t.as_ref()
                .and_then(|t| ScalarValue::try_from(t).ok())
                .unwrap_or(ScalarValue::Null)
        })
        .collect();
    let bound = plan.clone().with_param_values(param_values(nulls)).ok()?;
    state.create_physical_plan(&bound).await.err()
}

fn has_subquery(plan: &LogicalPlan) -> bool {
    use datafusion::common::tree_node::TreeNodeRecursion;
    let mut found = false;
    let _ = plan.apply_with_subqueries(|p| {
        found |= matches!(p, LogicalPlan::Subquery(_));
        Ok(if found {
            TreeNodeRecursion::Stop
        } else {
            TreeNodeRecursion::Continue
        })
    });
    found
}

/// `plan` under a filter that is always true naming each table-function placeholder as text:
/// how the plan tells Describe the parameters a driver must send.
fn declare_text(plan: LogicalPlan, ids: Vec<String>) -> Result<LogicalPlan> {
    let mut predicate = lit(true);
    for id in ids {
        let field = Arc::new(Field::new(&id, DataType::Utf8, true));
        let p = Expr::Placeholder(Placeholder::new_with_field(id, Some(field)));
        predicate = predicate.or(p.is_null());
    }
    Ok(LogicalPlanBuilder::from(plan).filter(predicate)?.build()?)
}

/// Values of a parameter list as DataFusion's positional parameters.
pub(super) fn param_values(values: Vec<ScalarValue>) -> datafusion::common::ParamValues {
    datafusion::common::ParamValues::List(values.into_iter().map(Into::into).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::engine::Engine;

    #[tokio::test]
    async fn planning_stops_a_rewrite_that_never_settles() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = Config {
            data_dir: dir.path().to_path_buf(),
            queries_dir: std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("queries"),
            ..Config::default()
        };
        let engine = Arc::new(Engine::open(config).await.expect("engine"));
        let session = Session::open(engine).await.expect("session");
        let Some(super::super::parse::Parsed::Sql(statement)) =
            super::super::parse::parse_one("SELECT 1").expect("parse")
        else {
            panic!("one statement");
        };
        assert!(session.plan_nested(&statement, MAX_REPLANS).await.is_ok());
        let e = session
            .plan_nested(&statement, MAX_REPLANS + 1)
            .await
            .expect_err("past the bound");
        assert_eq!(e.sqlstate(), sqlstate::INTERNAL_ERROR, "{e}");
    }
}
