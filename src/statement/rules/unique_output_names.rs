//! Select items whose names DataFusion would repeat: unaliased repeats (`SELECT NULL, NULL`,
//! `SELECT 1, 1`), one alias given twice (`SELECT 1 AS a, 2 AS a`) and several items holding
//! subqueries (DataFusion names each `(<subquery>)`). In PostgreSQL two columns may share a
//! name; a DataFusion projection refuses them ("Projections require unique expression
//! names"). The later ones get a synthetic alias that carries the name PostgreSQL gives the
//! column, so clients still see that name (names.rs reads it back), also through a `*` over a
//! derived table.
//!
//! CREATE VIEW and CREATE TABLE … AS are left alone: their column names are stored, and
//! PostgreSQL refuses a name given twice there too.

use super::super::names;
use datafusion::sql::sqlparser::ast::{
    visit_expressions, Expr, Ident, Query, SelectItem, SetExpr, Statement, VisitMut, VisitorMut,
};
use datafusion_postgres::datafusion_pg_catalog::sql::rules::SqlStatementRewriteRule;
use std::ops::ControlFlow;

const PREFIX: &str = "__cip_column_";

/// Whether an alias is one this rule gave.
pub fn is_synthetic_alias(alias: &str) -> bool {
    alias.starts_with(PREFIX)
}

/// The name clients see for a column this rule aliased: `__cip_column_<n>_<name>` → name.
pub fn synthetic_name(alias: &str) -> Option<&str> {
    let rest = alias.strip_prefix(PREFIX)?;
    let (position, name) = rest.split_once('_')?;
    position.bytes().all(|b| b.is_ascii_digit()).then_some(name)
}

/// The alias for the item at `position` (1-based) that clients see as `name`.
pub fn synthetic(position: usize, name: &str) -> Ident {
    // Quoted, so DataFusion keeps the name's case.
    Ident::with_quote('"', format!("{PREFIX}{position}_{name}"))
}

#[derive(Debug)]
pub struct UniqueOutputNames;

struct Visitor;

impl VisitorMut for Visitor {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        alias_repeats(query.body.as_mut());
        ControlFlow::Continue(())
    }
}

fn holds_subquery(expr: &Expr) -> bool {
    visit_expressions(expr, |e| match e {
        Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

fn alias_repeats(body: &mut SetExpr) {
    match body {
        SetExpr::Select(select) => {
            let mut seen: Vec<Expr> = Vec::new();
            let mut aliases: Vec<String> = Vec::new();
            let mut subqueries = false;
            for (i, item) in select.projection.iter_mut().enumerate() {
                match item {
                    SelectItem::UnnamedExpr(expr) => {
                        let repeat = seen.contains(expr);
                        let subquery = holds_subquery(expr);
                        if repeat || (subquery && subqueries) {
                            let name = names::figure(expr).unwrap_or_else(|| "?column?".into());
                            *item = SelectItem::ExprWithAlias {
                                expr: expr.clone(),
                                alias: synthetic(i + 1, &name),
                            };
                        } else {
                            seen.push(expr.clone());
                        }
                        subqueries |= subquery;
                    }
                    SelectItem::ExprWithAlias { alias, .. }
                        if !is_synthetic_alias(&alias.value) =>
                    {
                        let name = names::ident(&alias.value, alias.quote_style.is_some());
                        if aliases.contains(&name) {
                            *alias = synthetic(i + 1, &name);
                        } else {
                            aliases.push(name);
                        }
                    }
                    _ => {}
                }
            }
        }
        SetExpr::SetOperation { left, right, .. } => {
            alias_repeats(left);
            alias_repeats(right);
        }
        _ => {}
    }
}

impl SqlStatementRewriteRule for UniqueOutputNames {
    fn rewrite(&self, mut s: Statement) -> Statement {
        if matches!(s, Statement::CreateView { .. } | Statement::CreateTable(_)) {
            return s;
        }
        let _ = s.visit(&mut Visitor);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(sql: &str) -> String {
        UniqueOutputNames
            .rewrite(super::super::parse(sql))
            .to_string()
    }

    #[test]
    fn repeats_get_an_alias_and_nothing_else_changes() {
        assert_eq!(
            rewritten("SELECT NULL, NULL, 1, a, 1, count(*), count(*)"),
            "SELECT NULL, NULL AS \"__cip_column_2_?column?\", 1, a, \
             1 AS \"__cip_column_5_?column?\", count(*), count(*) AS \"__cip_column_7_count\""
        );
        let same = "SELECT a, b AS a FROM t";
        assert_eq!(rewritten(same), same);
    }

    #[test]
    fn an_alias_given_twice_and_several_subqueries_are_told_apart() {
        assert_eq!(
            rewritten("SELECT 1 AS a, 2 AS A, 3 AS \"A\""),
            "SELECT 1 AS a, 2 AS \"__cip_column_2_a\", 3 AS \"A\""
        );
        assert_eq!(
            rewritten("SELECT (SELECT count(*) FROM x), (SELECT max(y) FROM x), EXISTS (SELECT 1)"),
            "SELECT (SELECT count(*) FROM x), (SELECT max(y) FROM x) AS \"__cip_column_2_max\", \
             EXISTS (SELECT 1) AS \"__cip_column_3_exists\""
        );
        assert_eq!(synthetic_name("__cip_column_12_a_b"), Some("a_b"));
        assert_eq!(synthetic_name("__cip_column_x_a"), None);
        assert_eq!(synthetic_name("count"), None);
    }

    #[test]
    fn stored_column_names_are_left_to_refuse() {
        for sql in [
            "CREATE VIEW v AS SELECT 1 AS a, 2 AS a",
            "CREATE TABLE t AS SELECT 1, 1",
        ] {
            assert_eq!(rewritten(sql), sql);
        }
    }
}
