//! ORDER BY an expression holding a subquery (Grafana's table list orders by
//! `CASE WHEN schema IN (SELECT …) THEN 0 ELSE 1 END`): DataFusion plans subqueries in a
//! projection or filter, not in a sort. The sort keys are computed as extra columns of the
//! query instead, and an outer query orders by them and leaves them out:
//!
//! ```text
//! SELECT a, b FROM t ORDER BY f((SELECT …)), 2
//!   → SELECT * EXCLUDE (__cip_order_1) FROM (SELECT a, b, f((SELECT …)) AS __cip_order_1
//!     FROM t) AS __cip_ordered ORDER BY __cip_order_1, 2
//! ```

use datafusion::sql::sqlparser::ast::{
    visit_expressions, ExcludeSelectItem, Expr, Ident, ObjectName, OrderByKind, Query, Select,
    SelectItem, SetExpr, Statement, TableAlias, TableFactor, TableWithJoins, Value,
    WildcardAdditionalOptions,
};
use datafusion_postgres::datafusion_pg_catalog::sql::rules::SqlStatementRewriteRule;
use std::ops::ControlFlow;

#[derive(Debug)]
pub struct OrderBySubqueries;

fn has_subquery(expr: &Expr) -> bool {
    visit_expressions(expr, |e| match e {
        Expr::Subquery(_) | Expr::InSubquery { .. } | Expr::Exists { .. } => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

/// The name an output column is ordered by, if the ORDER BY item is one.
fn output_name(select: &Select, expr: &Expr) -> Option<String> {
    let Expr::Identifier(i) = expr else {
        return None;
    };
    select.projection.iter().find_map(|item| match item {
        SelectItem::ExprWithAlias { alias, .. } if alias.value == i.value => Some(i.value.clone()),
        _ => None,
    })
}

fn rewrite_query(query: &mut Query) {
    let Some(OrderByKind::Expressions(order)) = query.order_by.as_ref().map(|o| &o.kind) else {
        return;
    };
    if !order.iter().any(|o| has_subquery(&o.expr)) {
        return;
    }
    let SetExpr::Select(select) = query.body.as_ref() else {
        return;
    };
    if select.distinct.is_some()
        || select.projection.iter().any(|i| {
            matches!(
                i,
                SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)
            )
        })
    {
        return;
    }
    let mut inner = query.clone();
    inner.order_by = None;
    inner.limit_clause = None;
    inner.fetch = None;
    let SetExpr::Select(inner_select) = inner.body.as_mut() else {
        return;
    };
    let mut hidden = Vec::new();
    let mut outer_order = order.clone();
    for (i, o) in outer_order.iter_mut().enumerate() {
        let position = match &o.expr {
            Expr::Value(v) => match &v.value {
                Value::Number(n, _) => n.parse::<usize>().ok(),
                _ => None,
            },
            _ => None,
        };
        if position.is_some() || output_name(select, &o.expr).is_some() {
            continue; // names an output column, which the outer query has too
        }
        let name = Ident::new(format!("__cip_order_{}", i + 1));
        inner_select.projection.push(SelectItem::ExprWithAlias {
            expr: o.expr.clone(),
            alias: name.clone(),
        });
        o.expr = Expr::Identifier(name.clone());
        hidden.push(ObjectName::from(vec![name]));
    }
    let mut outer_select = select.as_ref().clone();
    outer_select.projection = vec![SelectItem::Wildcard(WildcardAdditionalOptions {
        opt_exclude: Some(ExcludeSelectItem::Multiple(hidden)),
        ..Default::default()
    })];
    outer_select.from = vec![TableWithJoins {
        relation: TableFactor::Derived {
            lateral: false,
            subquery: Box::new(inner),
            alias: Some(TableAlias {
                explicit: true,
                name: Ident::new("__cip_ordered"),
                columns: vec![],
                at: None,
            }),
            sample: None,
        },
        joins: vec![],
    }];
    outer_select.selection = None;
    outer_select.group_by =
        datafusion::sql::sqlparser::ast::GroupByExpr::Expressions(vec![], vec![]);
    outer_select.having = None;
    outer_select.named_window = vec![];
    outer_select.qualify = None;
    *query.body = SetExpr::Select(Box::new(outer_select));
    if let Some(o) = query.order_by.as_mut() {
        o.kind = OrderByKind::Expressions(outer_order);
    }
}

impl SqlStatementRewriteRule for OrderBySubqueries {
    fn rewrite(&self, s: Statement) -> Statement {
        super::ast::each_query(s, rewrite_query)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_keys_with_subqueries_become_hidden_columns() {
        let out = OrderBySubqueries.rewrite(super::super::parse(
            "SELECT a AS x, b FROM t WHERE b > 0 ORDER BY CASE WHEN a IN (SELECT c FROM u) THEN 0 ELSE 1 END, x, 2 LIMIT 5",
        ));
        assert_eq!(
            out.to_string(),
            "SELECT * EXCLUDE (__cip_order_1) FROM (SELECT a AS x, b, CASE WHEN a IN (SELECT c FROM u) \
             THEN 0 ELSE 1 END AS __cip_order_1 FROM t WHERE b > 0) AS __cip_ordered \
             ORDER BY __cip_order_1, x, 2 LIMIT 5"
        );
        let plain = "SELECT a FROM t ORDER BY a";
        assert_eq!(
            OrderBySubqueries
                .rewrite(super::super::parse(plain))
                .to_string(),
            plain
        );
    }
}
