//! Scalar subqueries of catalog queries: which can be wrapped in an aggregate, which
//! WHERE conjuncts read only the outer query, and the NULL that stands for one that cannot be
//! decorrelated at all. See the parent module for why.

use super::ast::{case_when, has_aggregate, name_parts, null};
use datafusion::sql::sqlparser::ast::{
    visit_expressions, BinaryOperator, Expr, GroupByExpr, Query, SelectItem, SetExpr, TableFactor,
};
use std::ops::ControlFlow;

/// The projection of a scalar subquery that is neither aggregated nor grouped, if any.
pub(super) fn unaggregated_projection(body: &mut SetExpr) -> Option<&mut Expr> {
    let expr = single_output(body)?;
    (!has_aggregate(expr)).then_some(expr)
}

/// The one output of an ungrouped SELECT, aggregated or not (`array(SELECT …)` wraps it in
/// array_agg whatever it holds: psql nests one array(…) inside another's output).
pub(super) fn single_output(body: &mut SetExpr) -> Option<&mut Expr> {
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
    match &mut select.projection[0] {
        SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => Some(e),
        _ => None,
    }
}

/// The names a subquery's own relations answer to (alias, full name, last part).
pub(super) fn inner_names(query: &Query) -> Vec<String> {
    let SetExpr::Select(select) = query.body.as_ref() else {
        return Vec::new();
    };
    let mut names = Vec::new();
    for t in &select.from {
        factor_names(&t.relation, &mut names);
        t.joins
            .iter()
            .for_each(|j| factor_names(&j.relation, &mut names));
    }
    names
}

/// The names columns of `factor` can be qualified with: a table's name and alias, and the
/// alias of a derived table, a function or UNNEST (in_subquery_in_projection reads
/// `__cip_in.c` from a derived table; taken for an outer column, it became NULL).
fn factor_names(factor: &TableFactor, names: &mut Vec<String>) {
    let alias = match factor {
        TableFactor::Table { name, alias, .. } => {
            let parts = name_parts(name);
            if let Some(last) = parts.last() {
                names.push(last.clone());
            }
            names.push(parts.join("."));
            alias
        }
        TableFactor::Derived { alias, .. }
        | TableFactor::TableFunction { alias, .. }
        | TableFactor::Function { alias, .. }
        | TableFactor::UNNEST { alias, .. } => alias,
        TableFactor::NestedJoin {
            table_with_joins,
            alias,
        } => {
            factor_names(&table_with_joins.relation, names);
            table_with_joins
                .joins
                .iter()
                .for_each(|j| factor_names(&j.relation, names));
            alias
        }
        _ => &None,
    };
    if let Some(alias) = alias {
        names.push(alias.name.value.to_lowercase());
    }
}

/// Whether every column `expr` reads is qualified by a relation outside the subquery.
pub(super) fn reads_only_outer(expr: &Expr, inner: &[String]) -> bool {
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
pub(super) fn output_reads_outer(query: &Query) -> bool {
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
pub(super) fn null_keeping_parameters(query: &Query) -> Expr {
    use datafusion::sql::sqlparser::ast::Value;
    let mut params: Vec<Expr> = Vec::new();
    let mut cast = std::collections::HashSet::new();
    // Pre-order: a cast is seen before the placeholder inside it.
    let _ = visit_expressions(query, |e| {
        match e {
            Expr::Cast { expr, .. } => {
                if let Expr::Value(v) = expr.as_ref() {
                    if let Value::Placeholder(name) = &v.value {
                        cast.insert(name.clone());
                        params.push(e.clone());
                    }
                }
            }
            Expr::Value(v) => {
                if let Value::Placeholder(name) = &v.value {
                    if !cast.contains(name) {
                        params.push(e.clone());
                    }
                }
            }
            _ => {}
        }
        ControlFlow::<()>::Continue(())
    });
    let tests: Vec<Expr> = params
        .into_iter()
        .map(|p| Expr::IsNull(Box::new(p)))
        .collect();
    match and_all(tests) {
        Some(all_null) => case_when(all_null, null()),
        None => null(),
    }
}

pub(super) fn qualifier(parts: &[datafusion::sql::sqlparser::ast::Ident]) -> String {
    parts[..parts.len().saturating_sub(1)]
        .iter()
        .map(|p| p.value.to_lowercase())
        .collect::<Vec<_>>()
        .join(".")
}

pub(super) fn conjuncts(expr: Expr, out: &mut Vec<Expr>) {
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

pub(super) fn and_all(mut exprs: Vec<Expr>) -> Option<Expr> {
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
pub(super) fn hoist_outer_conjuncts(query: &mut Query) -> Option<Expr> {
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

/// Whether the subquery's WHERE compares an outer column other than by equality
/// (`a.attcollation <> t.typcollation`): DataFusion decorrelates equality correlations only,
/// and leaves any other to fail at execution.
pub(super) fn has_non_equi_correlation(query: &Query) -> bool {
    let inner = inner_names(query);
    let SetExpr::Select(select) = query.body.as_ref() else {
        return false;
    };
    let Some(selection) = select.selection.clone() else {
        return false;
    };
    let mut parts = Vec::new();
    conjuncts(selection, &mut parts);
    parts.iter().any(|e| {
        let outer = visit_expressions(e, |e| match e {
            Expr::CompoundIdentifier(parts) if !inner.contains(&qualifier(parts)) => {
                ControlFlow::Break(())
            }
            _ => ControlFlow::Continue(()),
        })
        .is_break();
        let equality = matches!(
            e,
            Expr::BinaryOp {
                op: BinaryOperator::Eq,
                ..
            }
        );
        outer && !equality
    })
}
