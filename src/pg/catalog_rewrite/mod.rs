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
//! over `string_to_array`. `pg_class.reloptions`, which datafusion-pg-catalog lacks, and the
//! access lists (`proacl`, `relacl`, `attacl`, …, text here) read as NULL arrays (cip tables have
//! no storage options; default privileges), `array(SELECT …)` is an `array_agg` subquery,
//! and `pg_get_viewdef` reads information_schema.views. User queries are never rewritten.

use super::copy_format::api;
use async_trait::async_trait;
use datafusion::common::ParamValues;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::{visit_expressions_mut, visit_relations, Expr, Statement};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion_postgres::hooks::HookClient;
use datafusion_postgres::QueryHook;
use pgwire::api::results::Response;
use pgwire::api::ClientInfo;
use pgwire::error::PgWireResult;
use std::ops::ControlFlow;
use subquery::{
    hoist_outer_conjuncts, null_keeping_parameters, output_reads_outer, unaggregated_projection,
};

mod subquery;

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

pub(super) fn parse_expr(
    sql: &str,
) -> Result<Expr, datafusion::sql::sqlparser::parser::ParserError> {
    Parser::new(&PostgreSqlDialect {})
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_expr())
}

/// Array columns psql reads that datafusion-pg-catalog lacks (reloptions) or stores as text
/// (the access lists): NULL arrays, which is what PostgreSQL has for default privileges and
/// no storage options.
const NULL_ARRAY_COLUMNS: &[&str] = &[
    "reloptions",
    "proacl",
    "relacl",
    "nspacl",
    "attacl",
    "datacl",
];

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

/// `array(SELECT x …)`, which DataFusion does not have, as `(SELECT array_agg(x) …)` (psql's
/// `\d+`). Over no rows that is NULL where PostgreSQL gives an empty array.
fn array_of_subquery(expr: &Expr) -> Option<Expr> {
    use datafusion::sql::sqlparser::ast::FunctionArguments;
    let Expr::Function(f) = expr else {
        return None;
    };
    if !f.name.to_string().eq_ignore_ascii_case("array") {
        return None;
    }
    let FunctionArguments::Subquery(query) = &f.args else {
        return None;
    };
    let mut query = query.clone();
    name_unnest_columns(&mut query);
    let output = subquery::single_output(query.body.as_mut())?;
    *output = parse_expr(&format!("array_agg({output})")).ok()?;
    Some(Expr::Subquery(query))
}

/// `pg_get_viewdef(oid [, pretty])`: the view's SQL, which DataFusion keeps in
/// information_schema.views, found by the relation's name.
fn view_definition(expr: &Expr) -> Option<Expr> {
    let Expr::Function(f) = expr else {
        return None;
    };
    let name = f.name.to_string().to_lowercase();
    if name.trim_start_matches("pg_catalog.") != "pg_get_viewdef" {
        return None;
    }
    let args = f.args.to_string();
    let oid = args
        .trim_start_matches('(')
        .trim_end_matches(')')
        .split(',')
        .next()?
        .trim()
        .to_string();
    parse_expr(&format!(
        "(SELECT max(v.definition) FROM information_schema.views v \
         JOIN pg_catalog.pg_class vc ON vc.relname = v.table_name WHERE vc.oid = {oid})"
    ))
    .ok()
}

/// `pg_catalog.pg_proc p` read together with cip's own functions (pg_proc.rs), when it has an
/// alias to keep (psql, JDBC); `pg_catalog.pg_proc.col` references would not survive one.
struct WithCipFunctions {
    changed: bool,
}

impl datafusion::sql::sqlparser::ast::VisitorMut for WithCipFunctions {
    type Break = ();

    fn pre_visit_table_factor(
        &mut self,
        factor: &mut datafusion::sql::sqlparser::ast::TableFactor,
    ) -> ControlFlow<()> {
        use datafusion::sql::sqlparser::ast::{SetExpr, Statement, TableFactor};
        let TableFactor::Table {
            name,
            alias: Some(alias),
            args: None,
            ..
        } = factor
        else {
            return ControlFlow::Continue(());
        };
        let name = name.to_string().to_ascii_lowercase();
        if name != "pg_catalog.pg_proc" && name != "pg_proc" {
            return ControlFlow::Continue(());
        }
        let union = "SELECT * FROM pg_catalog.pg_proc UNION ALL SELECT * FROM cip_pg_proc()";
        let Ok(mut parsed) = Parser::parse_sql(&PostgreSqlDialect {}, union) else {
            return ControlFlow::Continue(());
        };
        let Some(Statement::Query(query)) = parsed.pop() else {
            return ControlFlow::Continue(());
        };
        if !matches!(query.body.as_ref(), SetExpr::SetOperation { .. }) {
            return ControlFlow::Continue(());
        }
        *factor = TableFactor::Derived {
            lateral: false,
            subquery: query,
            alias: Some(alias.clone()),
            sample: None,
        };
        self.changed = true;
        ControlFlow::Continue(())
    }
}

/// `FROM unnest(v) x`: in PostgreSQL x is also the column's name; DataFusion names the column
/// after the call, so the alias gets the column list `x(x)`.
fn name_unnest_columns(query: &mut datafusion::sql::sqlparser::ast::Query) {
    use datafusion::sql::sqlparser::ast::{SetExpr, TableAliasColumnDef, TableFactor};
    let SetExpr::Select(select) = query.body.as_mut() else {
        return;
    };
    for from in &mut select.from {
        if let TableFactor::Table {
            name,
            alias: Some(alias),
            args: Some(_),
            ..
        } = &mut from.relation
        {
            let is_unnest = name
                .0
                .last()
                .is_some_and(|p| p.to_string().eq_ignore_ascii_case("unnest"));
            if is_unnest && alias.columns.is_empty() {
                alias.columns = vec![TableAliasColumnDef::from_name(alias.name.value.clone())];
            }
        }
    }
}

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
    // psql asks `SELECT pg_get_viewdef('16390'::oid, true)` with no FROM at all.
    let catalog = reads_catalog(statement)
        || statement
            .to_string()
            .to_ascii_lowercase()
            .contains("pg_get_viewdef(");
    if !matches!(statement, Statement::Query(_)) || !catalog {
        return None;
    }
    let mut statement = statement.clone();
    let mut functions = WithCipFunctions { changed: false };
    let _ = datafusion::sql::sqlparser::ast::VisitMut::visit(&mut statement, &mut functions);
    let mut changed = functions.changed;
    let _ = visit_expressions_mut(&mut statement, |expr| {
        let column = match expr {
            Expr::CompoundIdentifier(parts) => parts.last().map(|p| p.value.to_ascii_lowercase()),
            Expr::Identifier(ident) => Some(ident.value.to_ascii_lowercase()),
            _ => None,
        };
        if column.is_some_and(|c| NULL_ARRAY_COLUMNS.contains(&c.as_str())) {
            if let Ok(null) = parse_expr("CAST(NULL AS TEXT[])") {
                *expr = null;
                changed = true;
            }
            return ControlFlow::Continue(());
        }
        let spelled = vector_function(expr)
            .or_else(|| array_of_subquery(expr))
            .or_else(|| view_definition(expr));
        if let Some(spelled) = spelled {
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
        Some(super::copy_format::answer_with(ctx, &rewritten.to_string()).await)
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
    fn nested_array_subqueries_become_array_agg() {
        // psql's \\dp nests one array(SELECT …) in another's output.
        let s = parse(
            "SELECT array_to_string(ARRAY(SELECT a.attname || array_to_string(array(\
             SELECT r.rolname FROM pg_catalog.pg_roles r), ',') \
             FROM pg_catalog.pg_attribute a), ';')",
        );
        let out = rewrite(&s).expect("rewritten").to_string();
        assert!(!out.to_ascii_lowercase().contains("array(select"), "{out}");
        assert_eq!(out.matches("array_agg(").count(), 2, "{out}");
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
            out.contains("CASE WHEN a.atthasdef THEN (SELECT max(d.adbin) FROM pg_catalog.pg_attrdef d WHERE d.adrelid = a.attrelid) END"),
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
