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

use super::ast::{binary, call, number};
use datafusion::sql::sqlparser::ast::helpers::attached_token::AttachedToken;
use datafusion::sql::sqlparser::ast::{
    BinaryOperator, CaseWhen, Expr, Ident, Query, SelectItem, SetExpr, Statement, TableAlias,
    TableAliasColumnDef, TableFactor, TableWithJoins, Value, VisitMut, VisitorMut,
};
use datafusion_postgres::datafusion_pg_catalog::sql::rules::SqlStatementRewriteRule;
use std::ops::ControlFlow;

#[derive(Debug)]
pub struct InSubqueryInProjection;

/// `SELECT <expr> FROM (<sub>) AS __cip_in(c)`.
fn over(sub: &Query, expr: Expr) -> Expr {
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
                    name: Ident::new("__cip_in"),
                    columns: vec![TableAliasColumnDef::from_name("c")],
                    at: None,
                }),
                sample: None,
            },
            joins: vec![],
        }];
    }
    Expr::Subquery(Box::new(query))
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

struct Visitor;

impl VisitorMut for Visitor {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        let SetExpr::Select(select) = query.body.as_mut() else {
            return ControlFlow::Continue(());
        };
        for item in &mut select.projection {
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
}
