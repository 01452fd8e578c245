//! Parameters of table functions from drivers that prepare statements:
//! `SELECT * FROM execute_upgrades($1)` through JDBC, psycopg or node `pg`.
//!
//! DataFusion resolves a table function while planning, before any parameter is bound, and
//! binding later never reaches inside it. So at Parse the statement is planned with its
//! placeholders (the engine's functions accept one and refuse to run it unbound) and the plan
//! declares them as text, so Describe reports the parameters a driver must send. At Execute the
//! bound values are written into the statement as literals and it is planned afresh; it acts
//! then, once, like any other statement.

use super::copy_format::{api, user_error};
use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::common::ParamValues;
use datafusion::logical_expr::expr::Placeholder;
use datafusion::logical_expr::{lit, Expr, LogicalPlan, LogicalPlanBuilder};
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::{
    visit_expressions_mut, FunctionArg, FunctionArgExpr, Statement, TableFactor, Value,
    ValueWithSpan, Visit, Visitor,
};
use datafusion_postgres::hooks::HookClient;
use datafusion_postgres::QueryHook;
use pgwire::api::portal::Portal;
use pgwire::api::results::Response;
use pgwire::api::{ClientInfo, Type};
use pgwire::error::PgWireResult;
use std::ops::ControlFlow;
use std::sync::Arc;

/// The placeholders (`$1`, …) written directly as arguments of a table function.
pub fn function_placeholders(statement: &Statement) -> Vec<String> {
    struct Finder(Vec<String>);
    impl Visitor for Finder {
        type Break = ();
        fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
            if let TableFactor::Table {
                args: Some(args), ..
            } = factor
            {
                for arg in &args.args {
                    let expr = match arg {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => e,
                        FunctionArg::Named {
                            arg: FunctionArgExpr::Expr(e),
                            ..
                        } => e,
                        _ => continue,
                    };
                    if let datafusion::sql::sqlparser::ast::Expr::Value(ValueWithSpan {
                        value: Value::Placeholder(id),
                        ..
                    }) = expr
                    {
                        self.0.push(id.clone());
                    }
                }
            }
            ControlFlow::Continue(())
        }
    }
    let mut finder = Finder(Vec::new());
    let _ = statement.visit(&mut finder);
    finder.0
}

/// Plans statements whose table functions take parameters (see the module docs).
pub struct FunctionParamsHook;

#[async_trait]
impl QueryHook for FunctionParamsHook {
    async fn handle_simple_query(
        &self,
        _statement: &Statement,
        _ctx: &SessionContext,
        _client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        None
    }

    async fn handle_extended_parse_query(
        &self,
        statement: &Statement,
        ctx: &SessionContext,
        _client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireResult<LogicalPlan>> {
        let ids = function_placeholders(statement);
        if ids.is_empty() {
            return None;
        }
        Some(declared(statement, ctx, ids).await)
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

/// The statement's plan, with a filter that is always true naming each function placeholder
/// as text: that is how the plan tells Describe the parameters' types.
async fn declared(
    statement: &Statement,
    ctx: &SessionContext,
    ids: Vec<String>,
) -> PgWireResult<LogicalPlan> {
    let plan = ctx
        .state()
        .statement_to_plan(datafusion::sql::parser::Statement::Statement(Box::new(
            statement.clone(),
        )))
        .await
        .map_err(api)?;
    let mut predicate = lit(true);
    for id in ids {
        let field = Arc::new(Field::new(&id, DataType::Utf8, true));
        let p = Expr::Placeholder(Placeholder::new_with_field(id, Some(field)));
        predicate = predicate.or(p.is_null());
    }
    LogicalPlanBuilder::from(plan)
        .filter(predicate)
        .and_then(|b| b.build())
        .map_err(api)
}

/// `statement` with every placeholder replaced by the portal's bound value as a literal.
pub fn bind<S>(statement: &Statement, portal: &Portal<S>) -> PgWireResult<Statement> {
    let mut bound = statement.clone();
    let mut failure = None;
    let _ = visit_expressions_mut(&mut bound, |expr| {
        if let datafusion::sql::sqlparser::ast::Expr::Value(v) = expr {
            if let Value::Placeholder(id) = &v.value {
                match literal(id, portal) {
                    Ok(value) => v.value = value,
                    Err(e) => {
                        failure = Some(e);
                        return ControlFlow::Break(());
                    }
                }
            }
        }
        ControlFlow::Continue(())
    });
    match failure {
        Some(e) => Err(e),
        None => Ok(bound),
    }
}

fn literal<S>(id: &str, portal: &Portal<S>) -> PgWireResult<Value> {
    let index = id
        .strip_prefix('$')
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|n| *n >= 1 && *n <= portal.parameters.len())
        .ok_or_else(|| {
            user_error(
                "08P01",
                format!(
                    "parameter {id} is not bound ({} given)",
                    portal.parameters.len()
                ),
            )
        })?
        - 1;
    let Some(bytes) = &portal.parameters[index] else {
        return Ok(Value::Null);
    };
    let hint = portal
        .statement
        .parameter_types
        .get(index)
        .cloned()
        .flatten()
        .unwrap_or(Type::UNKNOWN);
    let numeric = [
        Type::INT2,
        Type::INT4,
        Type::INT8,
        Type::FLOAT4,
        Type::FLOAT8,
        Type::NUMERIC,
    ]
    .contains(&hint);
    let text = if portal.parameter_format.is_text(index) {
        std::str::from_utf8(bytes)
            .map_err(|_| user_error("22021", format!("parameter {id} is not UTF-8")))?
            .to_string()
    } else {
        let wrong = || user_error("22P03", format!("parameter {id}: bad binary value"));
        match hint {
            Type::INT2 => {
                i16::from_be_bytes(bytes[..].try_into().map_err(|_| wrong())?).to_string()
            }
            Type::INT4 => {
                i32::from_be_bytes(bytes[..].try_into().map_err(|_| wrong())?).to_string()
            }
            Type::INT8 => {
                i64::from_be_bytes(bytes[..].try_into().map_err(|_| wrong())?).to_string()
            }
            Type::FLOAT4 => {
                f32::from_be_bytes(bytes[..].try_into().map_err(|_| wrong())?).to_string()
            }
            Type::FLOAT8 => {
                f64::from_be_bytes(bytes[..].try_into().map_err(|_| wrong())?).to_string()
            }
            Type::BOOL => return Ok(Value::Boolean(bytes.first().is_some_and(|b| *b != 0))),
            // Text-like types are sent as their UTF-8 bytes in binary format too.
            _ => std::str::from_utf8(bytes).map_err(|_| wrong())?.to_string(),
        }
    };
    if numeric && text.parse::<f64>().is_ok_and(f64::is_finite) {
        return Ok(Value::Number(text, false));
    }
    Ok(Value::SingleQuotedString(text))
}
