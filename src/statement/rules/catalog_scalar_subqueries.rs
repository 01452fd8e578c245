//! Catalog queries with scalar subqueries that return one row by construction.
//!
//! SQLAlchemy's column reflection (and other drivers' metadata queries) write
//! `(SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d WHERE d.adrelid = a.attrelid …)`:
//! PostgreSQL runs it row by row, DataFusion only decorrelates aggregated subqueries and refuses
//! it. In statements over pg_catalog / information_schema such a subquery's single output is
//! wrapped in `max(…)`, which is the same value whenever the subquery has at most one row (as
//! catalog lookups by key do). A WHERE conjunct that reads only the outer query's columns
//! (SQLAlchemy repeats the CASE condition there) is hoisted out as
//! `CASE WHEN cond THEN (subquery) END`: the same value (max over no rows is NULL), and one
//! DataFusion can decorrelate. A subquery whose output itself reads outer columns cannot be
//! decorrelated at all, nor one that compares an outer column other than by equality; it
//! becomes NULL (SQLAlchemy's identity-column options, psql's collation lookup: cip has no
//! identity columns or collations, so NULL is also the true answer). User queries are never
//! changed here.

use super::ast::{call, case_when, reads_catalog};
use super::subquery::{
    has_non_equi_correlation, hoist_outer_conjuncts, null_keeping_parameters, output_reads_outer,
    unaggregated_projection,
};
use datafusion::sql::sqlparser::ast::{visit_expressions_mut, Expr, Statement};
use datafusion_postgres::datafusion_pg_catalog::sql::rules::SqlStatementRewriteRule;
use std::ops::ControlFlow;

#[derive(Debug)]
pub struct CatalogScalarSubqueries;

fn rewrite_subquery(expr: &mut Expr) {
    let Expr::Subquery(query) = expr else {
        return;
    };
    if output_reads_outer(query) {
        *expr = null_keeping_parameters(query);
        return;
    }
    let has_limit = query.limit_clause.is_some();
    let non_equi = {
        let mut probe = query.clone();
        hoist_outer_conjuncts(&mut probe);
        has_non_equi_correlation(&probe)
    };
    if non_equi {
        // psql's collation lookup: cip has no collations, so NULL is also the true answer.
        *expr = null_keeping_parameters(query);
        return;
    }
    let Some(output) = unaggregated_projection(query.body.as_mut()) else {
        return;
    };
    *output = call("max", vec![output.clone()]);
    if has_limit {
        // An aggregate is one row already; DataFusion cannot plan LIMIT there.
        query.limit_clause = None;
    }
    if let Some(condition) = hoist_outer_conjuncts(query) {
        *expr = case_when(condition, expr.clone());
    }
}

impl SqlStatementRewriteRule for CatalogScalarSubqueries {
    fn rewrite(&self, mut s: Statement) -> Statement {
        if !matches!(s, Statement::Query(_)) || !reads_catalog(&s) {
            return s;
        }
        let _ = visit_expressions_mut(&mut s, |expr| {
            rewrite_subquery(expr);
            ControlFlow::<()>::Continue(())
        });
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite(sql: &str) -> Option<String> {
        let before = super::super::parse(sql);
        let after = CatalogScalarSubqueries.rewrite(before.clone());
        (after != before).then(|| after.to_string())
    }

    #[test]
    fn wraps_catalog_subqueries_only() {
        let out = rewrite(
            "SELECT a.attname, CASE WHEN a.atthasdef THEN (SELECT pg_get_expr(d.adbin, d.adrelid) \
             FROM pg_catalog.pg_attrdef d WHERE d.adrelid = a.attrelid LIMIT 1) END \
             FROM pg_catalog.pg_attribute a",
        )
        .expect("rewritten");
        assert!(
            out.contains("max(pg_get_expr(d.adbin, d.adrelid))"),
            "{out}"
        );
        assert!(!out.contains("LIMIT"), "{out}");
        // The outer-only conjunct moved out in front of the subquery.
        let out = rewrite(
            "SELECT (SELECT d.adbin FROM pg_catalog.pg_attrdef d WHERE a.atthasdef \
             AND d.adrelid = a.attrelid) FROM pg_catalog.pg_attribute a",
        )
        .expect("rewritten");
        assert!(
            out.contains("CASE WHEN a.atthasdef THEN (SELECT max(d.adbin) FROM pg_catalog.pg_attrdef d WHERE d.adrelid = a.attrelid) END"),
            "{out}"
        );
        // Already aggregated: left alone.
        assert!(rewrite(
            "SELECT (SELECT count(*) FROM pg_class c WHERE c.oid = a.attrelid) FROM pg_attribute a"
        )
        .is_none());
        // A column of the subquery's own derived table is not an outer column (Grafana's
        // table list: in_subquery_in_projection's `array_agg(__cip_in.c)` became NULL).
        assert!(rewrite(
            "SELECT (SELECT array_agg(s.c) FROM (SELECT 'public') AS s (c)) \
             FROM information_schema.tables"
        )
        .is_none());
        // Not a catalog query: left alone, whatever DataFusion makes of it.
        assert!(rewrite(
            "SELECT (SELECT b.rank FROM tier_rules b WHERE b.tier = a.tier) FROM tier_rules a"
        )
        .is_none());
    }
}
