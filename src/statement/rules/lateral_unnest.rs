//! `FROM t CROSS JOIN unnest(t.v) AS x(c)` (or `FROM t, unnest(t.v) x`): an UNNEST that reads
//! the relation before it, which PostgreSQL joins laterally without being told. DataFusion
//! plans no lateral table factor ("Physical plan does not support logical expression
//! OuterReferenceColumn"); ADBC's get_objects lists constraint columns this way. The pair
//! becomes one derived table under t's name, `(SELECT t.*, unnest(t.v) AS c FROM t) AS t`:
//! the same rows (an unnest in a select list repeats its row per element and drops rows whose
//! array is empty or NULL, as the join does), and `x.c` elsewhere in the query is read as
//! `t.c`. Only a one-array UNNEST without ORDINALITY that reads a column is changed.

use super::ast::{call, last_name, template_query};
use datafusion::sql::sqlparser::ast::{
    visit_expressions_mut, Expr, Ident, JoinConstraint, JoinOperator, ObjectName, Query, Select,
    SelectItem, SelectItemQualifiedWildcardKind, SetExpr, Statement, TableAlias, TableFactor,
    TableWithJoins,
};
use datafusion_postgres::datafusion_pg_catalog::sql::rules::SqlStatementRewriteRule;
use std::ops::ControlFlow;

#[derive(Debug)]
pub struct LateralUnnest;

/// The UNNEST's array, its alias and its column, when `factor` is one this rule rewrites.
fn unnest_parts(factor: &TableFactor) -> Option<(&Expr, Option<&TableAlias>, Ident)> {
    let TableFactor::UNNEST {
        alias,
        array_exprs,
        with_offset: false,
        with_ordinality: false,
        ..
    } = factor
    else {
        return None;
    };
    let [array] = array_exprs.as_slice() else {
        return None;
    };
    let mut reads_column = false;
    let _ = datafusion::sql::sqlparser::ast::visit_expressions(array, |e| {
        if matches!(e, Expr::Identifier(_) | Expr::CompoundIdentifier(_)) {
            reads_column = true;
        }
        ControlFlow::<()>::Continue(())
    });
    if !reads_column {
        return None;
    }
    let column = match alias {
        Some(a) => a
            .columns
            .first()
            .map(|c| c.name.clone())
            .unwrap_or_else(|| a.name.clone()),
        None => Ident::new("unnest"),
    };
    Some((array, alias.as_ref(), column))
}

/// The name `factor`'s columns are qualified with: its alias, or a table's own name.
fn relation_name(factor: &TableFactor) -> Option<Ident> {
    match factor {
        TableFactor::Table { alias: Some(a), .. } | TableFactor::Derived { alias: Some(a), .. } => {
            Some(a.name.clone())
        }
        TableFactor::Table {
            name, alias: None, ..
        } => last_name(name).map(Ident::new),
        _ => None,
    }
}

/// `(SELECT base.*, unnest(array) AS column FROM factor) AS base`.
fn merged(factor: TableFactor, base: Ident, array: Expr, column: Ident) -> Option<TableFactor> {
    let mut query: Query = template_query("SELECT b.*, unnest(NULL) AS c FROM b")?;
    let SetExpr::Select(select) = query.body.as_mut() else {
        return None;
    };
    if let Some(SelectItem::QualifiedWildcard(SelectItemQualifiedWildcardKind::ObjectName(n), _)) =
        select.projection.first_mut()
    {
        *n = ObjectName::from(vec![base.clone()]);
    }
    select.projection[1] = SelectItem::ExprWithAlias {
        expr: call("unnest", vec![array]),
        alias: column,
    };
    select.from[0].relation = factor;
    Some(TableFactor::Derived {
        lateral: false,
        subquery: Box::new(query),
        alias: Some(TableAlias {
            explicit: true,
            name: base,
            columns: vec![],
            at: None,
        }),
        sample: None,
    })
}

fn cross(op: &JoinOperator) -> bool {
    matches!(
        op,
        JoinOperator::CrossJoin(JoinConstraint::None)
            | JoinOperator::Inner(JoinConstraint::None)
            | JoinOperator::Join(JoinConstraint::None)
    )
}

/// Rewrites the first pair in `from`; returns the UNNEST's alias and the base's name.
fn merge_one(from: &mut Vec<TableWithJoins>) -> Option<(Option<Ident>, Ident)> {
    for i in 0..from.len() {
        let Some(base) = relation_name(&from[i].relation) else {
            continue;
        };
        // `t CROSS JOIN unnest(…)` as the first join of t.
        if let Some(first) = from[i].joins.first() {
            if cross(&first.join_operator) {
                if let Some((array, alias, column)) = unnest_parts(&first.relation) {
                    let (array, alias) = (array.clone(), alias.map(|a| a.name.clone()));
                    let relation = from[i].relation.clone();
                    from[i].relation = merged(relation, base.clone(), array, column)?;
                    from[i].joins.remove(0);
                    return Some((alias, base));
                }
            }
        }
        // `t, unnest(…)`: the next FROM item.
        if from[i].joins.is_empty() && from.get(i + 1).is_some_and(|n| n.joins.is_empty()) {
            if let Some((array, alias, column)) = unnest_parts(&from[i + 1].relation) {
                let (array, alias) = (array.clone(), alias.map(|a| a.name.clone()));
                let item = from.remove(i);
                from[i].relation = merged(item.relation, base.clone(), array, column)?;
                return Some((alias, base));
            }
        }
    }
    None
}

/// `alias.c` read as `base.c` in the select's own expressions.
fn requalify(select: &mut Select, alias: &Ident, base: &Ident) {
    let _ = visit_expressions_mut(select, |e| {
        if let Expr::CompoundIdentifier(parts) = e {
            if parts.len() == 2 && parts[0].value.eq_ignore_ascii_case(&alias.value) {
                parts[0] = base.clone();
            }
        }
        ControlFlow::<()>::Continue(())
    });
}

/// Each LATERAL unnest in the query's FROM merged with the relation before it.
fn rewrite_query(query: &mut Query) {
    if let SetExpr::Select(select) = query.body.as_mut() {
        while let Some((alias, base)) = merge_one(&mut select.from) {
            if let Some(alias) = alias {
                requalify(select, &alias, &base);
            }
        }
    }
}

impl SqlStatementRewriteRule for LateralUnnest {
    fn rewrite(&self, s: Statement) -> Statement {
        super::ast::each_query(s, rewrite_query)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(sql: &str) -> String {
        LateralUnnest.rewrite(super::super::parse(sql)).to_string()
    }

    #[test]
    fn an_unnest_of_the_relation_before_it_joins_it() {
        assert_eq!(
            rewritten(
                "SELECT con.conname, k.k FROM pg_constraint AS con \
                 CROSS JOIN UNNEST(con.conkey) AS k (k) JOIN pg_class c ON c.oid = con.conrelid"
            ),
            "SELECT con.conname, con.k FROM (SELECT con.*, unnest(con.conkey) AS k \
             FROM pg_constraint AS con) AS con JOIN pg_class c ON c.oid = con.conrelid"
        );
        assert_eq!(
            rewritten("SELECT x FROM members m, unnest(m.tags) x"),
            "SELECT x FROM (SELECT m.*, unnest(m.tags) AS x FROM members m) AS m"
        );
        // Not lateral (no column read), several arrays, ordinality: left as they are.
        for sql in [
            "SELECT * FROM t CROSS JOIN UNNEST(ARRAY[1, 2]) AS x (c)",
            "SELECT * FROM t CROSS JOIN UNNEST(t.a, t.b) AS x (c, d)",
            "SELECT * FROM t CROSS JOIN UNNEST(t.a) WITH ORDINALITY AS x (c, n)",
        ] {
            assert_eq!(rewritten(sql), sql);
        }
    }
}
