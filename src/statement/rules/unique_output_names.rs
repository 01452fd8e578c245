//! Select items whose names DataFusion would repeat: unaliased repeats (`SELECT NULL, NULL`,
//! `SELECT 1, 1`), one alias given twice (`SELECT 1 AS a, 2 AS a`) and several items holding
//! subqueries (DataFusion names each `(<subquery>)`). In PostgreSQL two columns may share a
//! name; a DataFusion projection refuses them ("Projections require unique expression
//! names"). The later ones get a synthetic alias that carries the name PostgreSQL gives the
//! column, so clients still see that name (names.rs reads it back), also through a `*` over a
//! derived table.
//!
//! The unaliased items of a derived table or a CTE get PostgreSQL's name as their alias too, so
//! the outer query can use it (`SELECT t.count FROM (SELECT count(*) FROM m) t`) and a `*` over
//! it shows it (`?column?` rather than `Int64(1)`).
//!
//! CREATE VIEW and CREATE TABLE … AS are left alone: their column names are stored, and
//! PostgreSQL refuses a name given twice there too.

use super::super::names;
use datafusion::sql::sqlparser::ast::{
    visit_expressions, visit_expressions_mut, Expr, Ident, Query, SelectItem, SetExpr, Statement,
    TableAlias, TableFactor, VisitMut, VisitorMut,
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
        if let Some(with) = query.with.as_mut() {
            for cte in &mut with.cte_tables {
                if cte.alias.columns.is_empty() {
                    name_items(cte.query.body.as_mut());
                }
            }
        }
        alias_repeats(query.body.as_mut());
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        if let TableFactor::Derived {
            subquery, alias, ..
        } = factor
        {
            if alias
                .as_ref()
                .is_none_or(|a: &TableAlias| a.columns.is_empty())
            {
                name_items(subquery.body.as_mut());
            }
        }
        ControlFlow::Continue(())
    }
}

/// Gives the unaliased computed items of a relation's (first) select PostgreSQL's name as
/// alias; a name already taken by another item gets a synthetic alias carrying it.
fn name_items(body: &mut SetExpr) {
    let select = match body {
        SetExpr::Select(select) => select,
        SetExpr::SetOperation { left, .. } => return name_items(left),
        SetExpr::Query(q) => return name_items(q.body.as_mut()),
        _ => return,
    };
    let mut taken: Vec<String> = select
        .projection
        .iter()
        .filter_map(|item| match item {
            SelectItem::ExprWithAlias { alias, .. } => {
                Some(names::ident(&alias.value, alias.quote_style.is_some()))
            }
            SelectItem::UnnamedExpr(e) if is_column(e) => names::figure(e),
            _ => None,
        })
        .collect();
    for (i, item) in select.projection.iter_mut().enumerate() {
        let SelectItem::UnnamedExpr(expr) = item else {
            continue;
        };
        if is_column(expr) {
            continue;
        }
        let name = names::figure(expr).unwrap_or_else(|| "?column?".into());
        let alias = if taken.contains(&name) {
            synthetic(i + 1, &name)
        } else {
            taken.push(name.clone());
            Ident::with_quote('"', name)
        };
        *item = SelectItem::ExprWithAlias {
            expr: expr.clone(),
            alias,
        };
    }
}

/// A plain column reference, which DataFusion names as PostgreSQL does.
fn is_column(expr: &Expr) -> bool {
    matches!(expr, Expr::Identifier(_) | Expr::CompoundIdentifier(_))
}

fn holds_subquery(expr: &Expr) -> bool {
    visit_expressions(expr, |e| match e {
        Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

/// `expr` with every cast replaced by what it casts. `x AT TIME ZONE z` is one too: DataFusion
/// plans it as a cast of x; so is a typed literal (`TIMESTAMP '…'` is named as its text), and
/// parentheses are no part of a name.
fn without_casts(expr: &Expr) -> Expr {
    let mut out = expr.clone();
    let _ = visit_expressions_mut(&mut out, |e| {
        loop {
            match e {
                Expr::Cast { expr: inner, .. }
                | Expr::AtTimeZone {
                    timestamp: inner, ..
                }
                | Expr::Nested(inner) => *e = (**inner).clone(),
                Expr::TypedString(typed) => *e = Expr::Value(typed.value.clone()),
                _ => break,
            }
        }
        ControlFlow::<()>::Continue(())
    });
    out
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
                        // DataFusion's name of an expression leaves casts out:
                        // `abs(1::int), abs(1::bigint)` are both `abs(Int64(1))`.
                        let key = without_casts(expr);
                        let repeat = seen.contains(&key);
                        let subquery = holds_subquery(expr);
                        if repeat || (subquery && subqueries) {
                            let name = names::figure(expr).unwrap_or_else(|| "?column?".into());
                            *item = SelectItem::ExprWithAlias {
                                expr: expr.clone(),
                                alias: synthetic(i + 1, &name),
                            };
                        } else {
                            seen.push(key);
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
        // Items that differ only in their casts have one name in DataFusion.
        assert_eq!(
            rewritten("SELECT abs(1::INT), abs(CAST(1 AS BIGINT)), abs(2)"),
            "SELECT abs(1::INT), abs(CAST(1 AS BIGINT)) AS \"__cip_column_2_abs\", abs(2)"
        );
        assert_eq!(
            rewritten("SELECT to_timestamp(0) AT TIME ZONE 'UTC', to_timestamp(0)"),
            "SELECT to_timestamp(0) AT TIME ZONE 'UTC', \
             to_timestamp(0) AS \"__cip_column_2_to_timestamp\""
        );
        // A typed literal is named as its text, parentheses as what they hold.
        assert_eq!(
            rewritten("SELECT TIMESTAMP '2026-01-01', (TIMESTAMP '2026-01-01')::TEXT, '2026-01-01'"),
            "SELECT TIMESTAMP '2026-01-01', (TIMESTAMP '2026-01-01')::TEXT AS \"__cip_column_2_text\", \
             '2026-01-01' AS \"__cip_column_3_?column?\""
        );
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
    fn a_derived_table_or_cte_names_its_computed_items_as_postgresql_does() {
        assert_eq!(
            rewritten("SELECT t.count FROM (SELECT count(*), a, 1, 2, b.c FROM x) t"),
            "SELECT t.count FROM (SELECT count(*) AS \"count\", a, 1 AS \"?column?\", \
             2 AS \"__cip_column_4_?column?\", b.c FROM x) t"
        );
        assert_eq!(
            rewritten("WITH c AS (SELECT max(v), 1 AS max FROM x) SELECT * FROM c"),
            "WITH c AS (SELECT max(v) AS \"__cip_column_1_max\", 1 AS max FROM x) SELECT * FROM c"
        );
        // Columns named by the alias are left as they are.
        let named = "SELECT * FROM (SELECT count(*) FROM x) AS t (n)";
        assert_eq!(rewritten(named), named);
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
