//! Catalog queries with correlated scalar subqueries that return one row by construction.
//!
//! SQLAlchemy's column reflection (and other drivers' metadata queries) write
//! `(SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d WHERE d.adrelid = a.attrelid …)`:
//! PostgreSQL runs it row by row, DataFusion only decorrelates aggregated subqueries and refuses
//! it. For statements over pg_catalog / information_schema, such a subquery's single output is
//! wrapped in `max(…)`, which is the same value whenever the subquery has at most one row (as
//! catalog lookups by key do). A WHERE conjunct that reads only the outer query's columns
//! (SQLAlchemy repeats the CASE condition there) is hoisted out as
//! `CASE WHEN cond THEN (subquery) END`, which is the same value (max over no rows is NULL) and
//! which DataFusion can decorrelate. A subquery whose output itself reads outer columns cannot
//! be decorrelated at all; it becomes NULL, as datafusion-pg-catalog does for the subqueries it
//! cannot run (SQLAlchemy's identity-column options: cip has no identity columns, so NULL is
//! also the true answer). The vector columns (pg_index.indkey, pg_constraint.conkey, …) are
//! text here ("1 2"), so `unnest(indkey)` and `generate_subscripts(indkey, 1)` are spelled
//! over `string_to_array`. `pg_class.reloptions`, which datafusion-pg-catalog lacks, reads as
//! NULL (cip tables have no storage options). User queries are never rewritten.

use super::copy_format::api;
use async_trait::async_trait;
use datafusion::common::ParamValues;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::{
    visit_expressions, visit_expressions_mut, visit_relations, BinaryOperator, Expr, GroupByExpr,
    Query, SelectItem, SetExpr, Statement, TableFactor,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion_postgres::hooks::HookClient;
use datafusion_postgres::QueryHook;
use pgwire::api::results::Response;
use pgwire::api::ClientInfo;
use pgwire::error::PgWireResult;
use std::ops::ControlFlow;

const AGGREGATES: &[&str] = &[
    "max(",
    "min(",
    "count(",
    "sum(",
    "avg(",
    "array_agg(",
    "string_agg(",
    "bool_and(",
    "bool_or(",
];

/// Whether the statement reads a catalog relation.
fn reads_catalog(statement: &Statement) -> bool {
    let found = visit_relations(statement, |name| {
        let name = name.to_string().to_lowercase();
        if name.starts_with("pg_catalog.")
            || name.starts_with("information_schema.")
            || name.starts_with("pg_")
        {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    found.is_break()
}

/// The projection of a scalar subquery that is neither aggregated nor grouped, if any.
fn unaggregated_projection(body: &mut SetExpr) -> Option<&mut Expr> {
    let SetExpr::Select(select) = body else {
        return None;
    };
    let grouped = match &select.group_by {
        GroupByExpr::All(_) => true,
        GroupByExpr::Expressions(exprs, _) => !exprs.is_empty(),
    };
    if grouped || select.projection.len() != 1 {
        return None;
    }
    let expr = match &mut select.projection[0] {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => e,
        _ => return None,
    };
    let text = expr.to_string().to_lowercase();
    if AGGREGATES.iter().any(|a| text.contains(a)) {
        return None;
    }
    Some(expr)
}

/// The names a subquery's own relations answer to (alias, full name, last part).
fn inner_names(query: &Query) -> Vec<String> {
    let SetExpr::Select(select) = query.body.as_ref() else {
        return Vec::new();
    };
    let mut names = Vec::new();
    let factors = select
        .from
        .iter()
        .flat_map(|t| std::iter::once(&t.relation).chain(t.joins.iter().map(|j| &j.relation)));
    for factor in factors {
        if let TableFactor::Table { name, alias, .. } = factor {
            let full = name.to_string().to_lowercase();
            if let Some(last) = full.rsplit('.').next() {
                names.push(last.to_string());
            }
            names.push(full);
            if let Some(alias) = alias {
                names.push(alias.name.value.to_lowercase());
            }
        }
    }
    names
}

/// Whether every column `expr` reads is qualified by a relation outside the subquery.
fn reads_only_outer(expr: &Expr, inner: &[String]) -> bool {
    let mut columns = 0;
    let inner_or_bare = visit_expressions(expr, |e| {
        match e {
            Expr::CompoundIdentifier(parts) => {
                columns += 1;
                if inner.contains(&qualifier(parts)) {
                    return ControlFlow::Break(());
                }
            }
            Expr::Identifier(_) | Expr::Subquery(_) | Expr::Exists { .. } => {
                return ControlFlow::Break(())
            }
            _ => {}
        }
        ControlFlow::Continue(())
    });
    columns > 0 && inner_or_bare.is_continue()
}

/// Whether the subquery's single output reads a column of the outer query.
fn output_reads_outer(query: &Query) -> bool {
    let inner = inner_names(query);
    let SetExpr::Select(select) = query.body.as_ref() else {
        return false;
    };
    select.projection.iter().any(|item| match item {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
            visit_expressions(e, |e| match e {
                Expr::CompoundIdentifier(parts) if !inner.contains(&qualifier(parts)) => {
                    ControlFlow::Break(())
                }
                _ => ControlFlow::Continue(()),
            })
            .is_break()
        }
        _ => false,
    })
}

/// NULL, in an expression that still mentions the subquery's parameters: prepared statements
/// number their parameters by position, so dropping `$2` would shift every later one.
fn null_keeping_parameters(query: &Query) -> Expr {
    use datafusion::sql::sqlparser::ast::Value;
    let mut params = Vec::new();
    let mut cast = std::collections::HashSet::new();
    // Pre-order: a cast is seen before the placeholder inside it.
    let _ = visit_expressions(query, |e| {
        match e {
            Expr::Cast { expr, .. } => {
                if let Expr::Value(v) = expr.as_ref() {
                    if let Value::Placeholder(name) = &v.value {
                        cast.insert(name.clone());
                        params.push(e.to_string());
                    }
                }
            }
            Expr::Value(v) => {
                if let Value::Placeholder(name) = &v.value {
                    if !cast.contains(name) {
                        params.push(e.to_string());
                    }
                }
            }
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    let null = Expr::value(Value::Null);
    if params.is_empty() {
        return null;
    }
    let tests: Vec<String> = params.iter().map(|p| format!("{p} IS NULL")).collect();
    parse_expr(&format!("CASE WHEN {} THEN NULL END", tests.join(" AND "))).unwrap_or(null)
}

fn qualifier(parts: &[datafusion::sql::sqlparser::ast::Ident]) -> String {
    parts[..parts.len().saturating_sub(1)]
        .iter()
        .map(|p| p.value.to_lowercase())
        .collect::<Vec<_>>()
        .join(".")
}

fn conjuncts(expr: Expr, out: &mut Vec<Expr>) {
    match expr {
        Expr::BinaryOp {
            left,
            op: BinaryOperator::And,
            right,
        } => {
            conjuncts(*left, out);
            conjuncts(*right, out);
        }
        Expr::Nested(inner)
            if matches!(
                inner.as_ref(),
                Expr::BinaryOp {
                    op: BinaryOperator::And,
                    ..
                }
            ) =>
        {
            conjuncts(*inner, out)
        }
        other => out.push(other),
    }
}

fn and_all(mut exprs: Vec<Expr>) -> Option<Expr> {
    let first = if exprs.is_empty() {
        return None;
    } else {
        exprs.remove(0)
    };
    Some(exprs.into_iter().fold(first, |l, r| Expr::BinaryOp {
        left: Box::new(l),
        op: BinaryOperator::And,
        right: Box::new(r),
    }))
}

/// Takes the conjuncts that read only outer columns out of the subquery's WHERE.
fn hoist_outer_conjuncts(query: &mut Query) -> Option<Expr> {
    let inner = inner_names(query);
    let SetExpr::Select(select) = query.body.as_mut() else {
        return None;
    };
    let selection = select.selection.take()?;
    let mut parts = Vec::new();
    conjuncts(selection, &mut parts);
    let (outer, own): (Vec<Expr>, Vec<Expr>) =
        parts.into_iter().partition(|e| reads_only_outer(e, &inner));
    select.selection = and_all(own);
    and_all(outer)
}

fn parse_expr(sql: &str) -> Result<Expr, datafusion::sql::sqlparser::parser::ParserError> {
    Parser::new(&PostgreSqlDialect {})
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_expr())
}

/// Catalog columns PostgreSQL types as int2vector / oidvector and datafusion-pg-catalog stores
/// as space-separated text.
const VECTOR_COLUMNS: &[&str] = &[
    "indkey",
    "indclass",
    "indcollation",
    "indoption",
    "conkey",
    "confkey",
    "conpfeqop",
    "conppeqop",
    "conffeqop",
    "conexclop",
    "proargtypes",
    "stxkeys",
];

/// `unnest(v)` / `generate_subscripts(v, 1)` over a vector column, spelled for text storage.
fn vector_function(expr: &Expr) -> Option<Expr> {
    let Expr::Function(f) = expr else {
        return None;
    };
    let name = f.name.to_string().to_lowercase();
    let name = name.trim_start_matches("pg_catalog.");
    if name != "unnest" && name != "generate_subscripts" {
        return None;
    }
    let args = f.args.to_string();
    let mut args = args
        .trim_start_matches('(')
        .trim_end_matches(')')
        .split(',');
    let column = args.next()?.trim().to_string();
    let dimension = args.next().unwrap_or("1").trim().to_string();
    let last = column.rsplit('.').next()?.to_lowercase();
    if !VECTOR_COLUMNS.contains(&last.as_str()) {
        return None;
    }
    let parts = format!("string_to_array({column}, ' ')");
    let sql = if name == "unnest" {
        format!("unnest(CAST({parts} AS SMALLINT[]))")
    } else {
        // A vector has one dimension: subscripts 1..n for dimension 1, none for any other.
        // The dimension stays in the statement: it may be a parameter, and parameters are
        // numbered by position.
        format!(
            "unnest(range(1, CASE WHEN {dimension} = 1 \
             THEN CAST(array_length({parts}, 1) AS BIGINT) + 1 ELSE 1 END))"
        )
    };
    parse_expr(&sql).ok()
}

/// The statement with every unaggregated scalar subquery's output wrapped in `max(…)`, or None
/// when there is nothing to change (or it is not a catalog query).
pub fn rewrite(statement: &Statement) -> Option<Statement> {
    if !matches!(statement, Statement::Query(_)) || !reads_catalog(statement) {
        return None;
    }
    let mut statement = statement.clone();
    let mut changed = false;
    let _ = visit_expressions_mut(&mut statement, |expr| {
        if let Expr::CompoundIdentifier(parts) = expr {
            if parts
                .last()
                .is_some_and(|p| p.value.eq_ignore_ascii_case("reloptions"))
            {
                if let Ok(null) = parse_expr("CAST(NULL AS TEXT[])") {
                    *expr = null;
                    changed = true;
                }
                return ControlFlow::Continue(());
            }
        }
        if let Some(spelled) = vector_function(expr) {
            *expr = spelled;
            changed = true;
            return ControlFlow::Continue(());
        }
        if let Expr::Subquery(query) = expr {
            if output_reads_outer(query) {
                *expr = null_keeping_parameters(query);
                changed = true;
                return ControlFlow::Continue(());
            }
            let has_limit = query.limit_clause.is_some();
            if let Some(output) = unaggregated_projection(query.body.as_mut()) {
                let wrapped = parse_expr(&format!("max({output})"));
                if let Ok(wrapped) = wrapped {
                    *output = wrapped;
                    changed = true;
                    if has_limit {
                        // An aggregate is one row already; DataFusion cannot plan LIMIT there.
                        query.limit_clause = None;
                    }
                    if let Some(condition) = hoist_outer_conjuncts(query) {
                        let case = parse_expr(&format!("CASE WHEN {condition} THEN {expr} END"));
                        if let Ok(case) = case {
                            *expr = case;
                        }
                    }
                }
            }
        }
        ControlFlow::<()>::Continue(())
    });
    if changed {
        tracing::debug!("catalog query rewritten: {statement}");
    }
    changed.then_some(statement)
}

/// Plans and runs rewritten catalog queries; hands everything else on.
pub struct CatalogSubqueryHook;

#[async_trait]
impl QueryHook for CatalogSubqueryHook {
    async fn handle_simple_query(
        &self,
        statement: &Statement,
        ctx: &SessionContext,
        _client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        let rewritten = rewrite(statement)?;
        let run = async {
            let df = ctx.sql(&rewritten.to_string()).await.map_err(api)?;
            let format = pgwire::api::portal::Format::UnifiedText;
            let resp =
                datafusion_postgres::arrow_pg::datatypes::df::encode_dataframe(df, &format, None)
                    .await?;
            Ok(Response::Query(resp))
        };
        Some(run.await)
    }

    async fn handle_extended_parse_query(
        &self,
        statement: &Statement,
        ctx: &SessionContext,
        _client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireResult<LogicalPlan>> {
        let rewritten = rewrite(statement)?;
        let state = ctx.state();
        let plan = state.statement_to_plan(datafusion::sql::parser::Statement::Statement(
            Box::new(rewritten),
        ));
        Some(plan.await.map_err(api))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(sql: &str) -> Statement {
        Parser::parse_sql(&PostgreSqlDialect {}, sql)
            .expect("test SQL parses")
            .remove(0)
    }

    #[test]
    fn wraps_catalog_subqueries_only() {
        let s = parse(
            "SELECT a.attname, CASE WHEN a.atthasdef THEN (SELECT pg_get_expr(d.adbin, d.adrelid) \
             FROM pg_catalog.pg_attrdef d WHERE d.adrelid = a.attrelid LIMIT 1) END \
             FROM pg_catalog.pg_attribute a",
        );
        let out = rewrite(&s).expect("rewritten").to_string();
        assert!(
            out.contains("max(pg_get_expr(d.adbin, d.adrelid))"),
            "{out}"
        );
        assert!(!out.contains("LIMIT"), "{out}");
        // The outer-only conjunct moved out in front of the subquery.
        let s = parse(
            "SELECT (SELECT d.adbin FROM pg_catalog.pg_attrdef d WHERE a.atthasdef \
             AND d.adrelid = a.attrelid) FROM pg_catalog.pg_attribute a",
        );
        let out = rewrite(&s).expect("rewritten").to_string();
        assert!(
            out.contains("CASE WHEN a.atthasdef THEN (SELECT max(d.adbin) FROM pg_catalog.pg_attrdef AS d WHERE d.adrelid = a.attrelid) END"),
            "{out}"
        );
        // Already aggregated: left alone.
        let s = parse(
            "SELECT (SELECT count(*) FROM pg_class c WHERE c.oid = a.attrelid) FROM pg_attribute a",
        );
        assert!(rewrite(&s).is_none());
        // Not a catalog query: left alone, DataFusion's own error stands.
        let s = parse(
            "SELECT (SELECT b.rank FROM tier_rules b WHERE b.tier = a.tier) FROM tier_rules a",
        );
        assert!(rewrite(&s).is_none());
    }
}
