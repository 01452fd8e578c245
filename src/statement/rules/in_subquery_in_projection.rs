//! `x [NOT] IN (SELECT c …)` among a query's output columns: DataFusion turns an IN subquery
//! into a join only in a WHERE clause and fails to execute it anywhere else ("Physical plan
//! does not support logical expression InSubquery"). Grafana's table list has one in its
//! select list (and, through order_by_subqueries, in its sort key). There it becomes scalar
//! subqueries, which DataFusion plans in a projection, keeping SQL's three-valued answer:
//!
//! ```text
//! CASE WHEN (SELECT count(*) FROM (sub) s) = 0 THEN false
//!      WHEN x IS NULL THEN NULL
//!      WHEN array_has((SELECT array_agg(s.c) FROM (sub) s(c)), x) THEN true
//!      WHEN (SELECT count(*) - count(s.c) FROM (sub) s(c)) > 0 THEN NULL
//!      ELSE false END
//! ```
//!
//! `[NOT] EXISTS (sub)` there fails the same way ("does not support logical expression
//! Exists") and becomes a count of sub's rows `> 0` (`= 0`), still named `exists`.

use super::ast::{binary, call, number};
use datafusion::sql::sqlparser::ast::helpers::attached_token::AttachedToken;
use datafusion::sql::sqlparser::ast::{
    BinaryOperator, CaseWhen, Expr, GroupByExpr, Ident, Query, SelectItem, SetExpr, Statement,
    TableAlias, TableAliasColumnDef, TableFactor, TableWithJoins, Value, VisitMut, VisitorMut,
};
use datafusion_postgres::datafusion_pg_catalog::sql::rules::SqlStatementRewriteRule;
use std::ops::ControlFlow;

#[derive(Debug)]
pub struct InSubqueryInProjection;

/// `SELECT <expr> FROM (<sub>) AS <alias>(<columns>)`.
fn select_from(sub: &Query, expr: Expr, alias: &str, columns: Vec<TableAliasColumnDef>) -> Query {
    let Some(mut query) = super::ast::template_query("SELECT 1") else {
        unreachable!("a constant SELECT parses as a query")
    };
    if let SetExpr::Select(select) = query.body.as_mut() {
        select.projection = vec![SelectItem::UnnamedExpr(expr)];
        select.from = vec![TableWithJoins {
            relation: TableFactor::Derived {
                lateral: false,
                subquery: Box::new(sub.clone()),
                alias: Some(TableAlias {
                    explicit: true,
                    name: Ident::new(alias),
                    columns,
                    at: None,
                }),
                sample: None,
            },
            joins: vec![],
        }];
    }
    query
}

/// `(SELECT <expr> FROM (<sub>) AS __cip_in(c))`.
fn over(sub: &Query, expr: Expr) -> Expr {
    let columns = vec![TableAliasColumnDef::from_name("c")];
    Expr::Subquery(Box::new(select_from(sub, expr, "__cip_in", columns)))
}

fn column() -> Expr {
    Expr::CompoundIdentifier(vec![Ident::new("__cip_in"), Ident::new("c")])
}

fn count_star() -> Expr {
    let mut f = call("count", vec![]);
    if let Expr::Function(func) = &mut f {
        use datafusion::sql::sqlparser::ast::{
            FunctionArg, FunctionArgExpr, FunctionArgumentList, FunctionArguments,
        };
        func.args = FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: vec![FunctionArg::Unnamed(FunctionArgExpr::Wildcard)],
            clauses: vec![],
        });
    }
    f
}

fn when(condition: Expr, result: Expr) -> CaseWhen {
    CaseWhen { condition, result }
}

fn in_as_scalars(x: &Expr, sub: &Query, negated: bool) -> Expr {
    let empty = binary(over(sub, count_star()), BinaryOperator::Eq, number(0));
    let found = call(
        "array_has",
        vec![over(sub, call("array_agg", vec![column()])), x.clone()],
    );
    let nulls = binary(
        over(
            sub,
            binary(
                count_star(),
                BinaryOperator::Minus,
                call("count", vec![column()]),
            ),
        ),
        BinaryOperator::Gt,
        number(0),
    );
    let boolean = |b: bool| Expr::value(Value::Boolean(b));
    let case = Expr::Case {
        case_token: AttachedToken::empty(),
        end_token: AttachedToken::empty(),
        operand: None,
        conditions: vec![
            when(empty, boolean(false)),
            when(Expr::IsNull(Box::new(x.clone())), Expr::value(Value::Null)),
            when(found, boolean(true)),
            when(nulls, Expr::value(Value::Null)),
        ],
        else_result: Some(Box::new(boolean(false))),
    };
    if negated {
        Expr::UnaryOp {
            op: datafusion::sql::sqlparser::ast::UnaryOperator::Not,
            expr: Box::new(Expr::Nested(Box::new(case))),
        }
    } else {
        case
    }
}

/// The subquery counting `sub`'s rows. A plain SELECT (no grouping, DISTINCT, limit or
/// function in its select list, which could change how many rows it has) counts in place,
/// so a correlated one stays decorrelatable (DataFusion cannot reach an outer column through
/// a derived table); any other is counted as `(SELECT count(*) FROM (sub) AS __cip_exists)`.
fn row_count(sub: &Query) -> Query {
    let mut counted = sub.clone();
    if let SetExpr::Select(select) = counted.body.as_mut() {
        let grouped = match &select.group_by {
            GroupByExpr::Expressions(exprs, _) => !exprs.is_empty(),
            GroupByExpr::All(_) => true,
        };
        let calls = select.projection.iter().any(|item| match item {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                datafusion::sql::sqlparser::ast::visit_expressions(e, |e| match e {
                    Expr::Function(_) => ControlFlow::Break(()),
                    _ => ControlFlow::Continue(()),
                })
                .is_break()
            }
            _ => false,
        });
        let limited = sub.limit_clause.is_some() || sub.fetch.is_some();
        if !grouped && !calls && !limited && select.having.is_none() && select.distinct.is_none() {
            select.projection = vec![SelectItem::UnnamedExpr(count_star())];
            counted.order_by = None;
            return counted;
        }
    }
    select_from(sub, count_star(), "__cip_exists", vec![])
}

/// `[NOT] EXISTS (sub)` as `(<count of sub's rows>) > 0` (`= 0`).
fn exists_as_scalar(sub: &Query, negated: bool) -> Expr {
    let op = if negated {
        BinaryOperator::Eq
    } else {
        BinaryOperator::Gt
    };
    binary(Expr::Subquery(Box::new(row_count(sub))), op, number(0))
}

struct Visitor;

impl VisitorMut for Visitor {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        let SetExpr::Select(select) = query.body.as_mut() else {
            return ControlFlow::Continue(());
        };
        for (i, item) in select.projection.iter_mut().enumerate() {
            // A bare EXISTS keeps PostgreSQL's name for it once rewritten.
            if let SelectItem::UnnamedExpr(e @ Expr::Exists { .. }) = item {
                *item = SelectItem::ExprWithAlias {
                    expr: e.clone(),
                    alias: super::unique_output_names::synthetic(i + 1, "exists"),
                };
            }
            let expr = match item {
                SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => e,
                _ => continue,
            };
            let _ = datafusion::sql::sqlparser::ast::visit_expressions_mut(expr, |e| {
                if let Expr::InSubquery {
                    expr: x,
                    subquery,
                    negated,
                } = e
                {
                    *e = in_as_scalars(x, subquery, *negated);
                } else if let Expr::Exists { subquery, negated } = e {
                    *e = exists_as_scalar(subquery, *negated);
                }
                ControlFlow::<()>::Continue(())
            });
        }
        ControlFlow::Continue(())
    }
}

impl SqlStatementRewriteRule for InSubqueryInProjection {
    fn rewrite(&self, mut s: Statement) -> Statement {
        let _ = s.visit(&mut Visitor);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_subqueries_in_the_select_list_become_scalar_subqueries() {
        let out = InSubqueryInProjection
            .rewrite(super::super::parse(
                "SELECT a IN (SELECT b FROM t), a FROM u WHERE a IN (SELECT b FROM t)",
            ))
            .to_string();
        assert!(
            out.contains("array_has((SELECT array_agg(__cip_in.c)"),
            "{out}"
        );
        // The WHERE clause is DataFusion's to decorrelate.
        assert!(out.ends_with("WHERE a IN (SELECT b FROM t)"), "{out}");
    }

    #[test]
    fn exists_in_the_select_list_becomes_a_count() {
        let out = InSubqueryInProjection
            .rewrite(super::super::parse(
                "SELECT EXISTS (SELECT 1, 2 FROM t WHERE t.a = u.a ORDER BY 1), 1 + 1, \
                 NOT EXISTS (SELECT max(b) FROM t) AS n FROM u WHERE EXISTS (SELECT 1 FROM t)",
            ))
            .to_string();
        assert_eq!(
            out,
            "SELECT (SELECT count(*) FROM t WHERE t.a = u.a) > 0 AS \"__cip_column_1_exists\", \
             1 + 1, (SELECT count(*) FROM (SELECT max(b) FROM t) AS __cip_exists) = 0 AS n \
             FROM u WHERE EXISTS (SELECT 1 FROM t)"
        );
    }
}
