//! `(a, b) [NOT] IN (SELECT x, y …)`: DataFusion plans IN subqueries of one column only ("Too
//! many columns!"), and dbt's incremental models delete the rows they rebuild with exactly
//! this (`delete from t where (k1, k2) in (select distinct k1, k2 from tmp)`). The row becomes
//! a struct on both sides, which DataFusion compares field by field:
//!
//! ```text
//! struct(a, b) IN (SELECT struct(__cip_row.c1, __cip_row.c2) FROM (sub) AS __cip_row(c1, c2))
//! ```
//!
//! It answers as PostgreSQL does wherever no key is NULL; a row with a NULL field matches a
//! struct with NULL in the same field instead of answering NULL.

use super::ast::call;
use datafusion::sql::sqlparser::ast::{
    Expr, Ident, Query, SelectItem, SetExpr, Statement, TableAlias, TableAliasColumnDef,
    TableFactor, TableWithJoins, VisitMut, VisitorMut,
};
use datafusion_postgres::datafusion_pg_catalog::sql::rules::SqlStatementRewriteRule;
use std::ops::ControlFlow;

#[derive(Debug)]
pub struct RowInSubquery;

const ALIAS: &str = "__cip_row";

/// `SELECT struct(__cip_row.c1, …) FROM (sub) AS __cip_row(c1, …)`, or None when `sub` does
/// not select `width` plain columns.
fn structs_of(sub: &Query, width: usize) -> Option<Query> {
    let SetExpr::Select(select) = sub.body.as_ref() else {
        return None;
    };
    if select.projection.len() != width
        || select.projection.iter().any(|p| {
            !matches!(
                p,
                SelectItem::UnnamedExpr(_) | SelectItem::ExprWithAlias { .. }
            )
        })
    {
        return None;
    }
    let names: Vec<String> = (1..=width).map(|i| format!("c{i}")).collect();
    let fields = names
        .iter()
        .map(|n| Expr::CompoundIdentifier(vec![Ident::new(ALIAS), Ident::new(n)]))
        .collect();
    let mut query = super::ast::template_query("SELECT 1")?;
    let SetExpr::Select(outer) = query.body.as_mut() else {
        return None;
    };
    outer.projection = vec![SelectItem::UnnamedExpr(call("struct", fields))];
    outer.from = vec![TableWithJoins {
        relation: TableFactor::Derived {
            lateral: false,
            subquery: Box::new(sub.clone()),
            alias: Some(TableAlias {
                explicit: true,
                name: Ident::new(ALIAS),
                columns: names.iter().map(TableAliasColumnDef::from_name).collect(),
                at: None,
            }),
            sample: None,
        },
        joins: vec![],
    }];
    Some(query)
}

struct Visitor;

impl VisitorMut for Visitor {
    type Break = ();

    fn post_visit_expr(&mut self, e: &mut Expr) -> ControlFlow<()> {
        let Expr::InSubquery { expr, subquery, .. } = e else {
            return ControlFlow::Continue(());
        };
        let row = match expr.as_ref() {
            Expr::Tuple(items) if items.len() > 1 => items.clone(),
            Expr::Nested(inner) => match inner.as_ref() {
                Expr::Tuple(items) if items.len() > 1 => items.clone(),
                _ => return ControlFlow::Continue(()),
            },
            _ => return ControlFlow::Continue(()),
        };
        if let Some(structs) = structs_of(subquery, row.len()) {
            **expr = call("struct", row);
            **subquery = structs;
        }
        ControlFlow::Continue(())
    }
}

impl SqlStatementRewriteRule for RowInSubquery {
    fn rewrite(&self, mut s: Statement) -> Statement {
        let _ = s.visit(&mut Visitor);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_in_a_subquery_compares_structs() {
        let out = RowInSubquery
            .rewrite(super::super::parse(
                "DELETE FROM t AS d WHERE (a, b) IN (SELECT DISTINCT a, b FROM s AS x)",
            ))
            .to_string();
        assert!(
            out.contains(
                "struct(a, b) IN (SELECT struct(__cip_row.c1, __cip_row.c2) FROM \
                 (SELECT DISTINCT a, b FROM s AS x) AS __cip_row (c1, c2))"
            ),
            "{out}"
        );
    }

    #[test]
    fn one_column_and_mismatched_widths_are_left_alone() {
        for sql in [
            "SELECT 1 FROM t WHERE a IN (SELECT a FROM s)",
            "SELECT 1 FROM t WHERE (a, b) IN (SELECT a FROM s)",
        ] {
            let out = RowInSubquery.rewrite(super::super::parse(sql)).to_string();
            assert!(!out.contains("struct"), "{out}");
        }
    }
}
