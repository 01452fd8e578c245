//! `ARRAY(SELECT x … [ORDER BY …])`, which DataFusion does not have, as
//! `(SELECT array_agg(x ORDER BY …) …)` in catalog queries (psql's `\d+`, `\dp`). Over no rows
//! that is NULL where PostgreSQL gives an empty array, which is why user queries are left to
//! DataFusion's own error.

use super::ast::{called, reads_catalog};
use super::subquery::single_output;
use datafusion::sql::sqlparser::ast::{
    visit_expressions_mut, Expr, FunctionArg, FunctionArgExpr, FunctionArgumentClause,
    FunctionArgumentList, FunctionArguments, OrderByKind, Statement, Value,
};
use datafusion_postgres::datafusion_pg_catalog::sql::rules::SqlStatementRewriteRule;
use std::ops::ControlFlow;

#[derive(Debug)]
pub struct ArraySubquery;

fn array_of_subquery(expr: &Expr) -> Option<Expr> {
    let (name, f) = called(expr)?;
    if name != "array" {
        return None;
    }
    let FunctionArguments::Subquery(query) = &f.args else {
        return None;
    };
    let mut query = query.clone();
    let mut order: Vec<_> = match query.order_by.take().map(|o| o.kind) {
        Some(OrderByKind::Expressions(exprs)) => exprs,
        _ => vec![],
    };
    let output = single_output(query.body.as_mut())?;
    // `ORDER BY 1` names the output by position; inside the aggregate it must be spelled out.
    for o in &mut order {
        if let Expr::Value(v) = &o.expr {
            if matches!(&v.value, Value::Number(n, _) if n == "1") {
                o.expr = output.clone();
            }
        }
    }
    let mut clauses = vec![];
    if !order.is_empty() {
        clauses.push(FunctionArgumentClause::OrderBy(order));
    }
    let mut agg = super::ast::call("array_agg", vec![]);
    if let Expr::Function(f) = &mut agg {
        f.args = FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: vec![FunctionArg::Unnamed(FunctionArgExpr::Expr(output.clone()))],
            clauses,
        });
    }
    *output = agg;
    Some(Expr::Subquery(query))
}

impl SqlStatementRewriteRule for ArraySubquery {
    fn rewrite(&self, mut s: Statement) -> Statement {
        // psql asks `array(SELECT …)` over pg_roles and friends; a catalog query either way.
        if !reads_catalog(&s) {
            return s;
        }
        let _ = visit_expressions_mut(&mut s, |expr| {
            if let Some(spelled) = array_of_subquery(expr) {
                *expr = spelled;
            }
            ControlFlow::<()>::Continue(())
        });
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_array_subqueries_become_array_agg() {
        // psql's \dp nests one array(SELECT …) in another's output.
        let s = super::super::parse(
            "SELECT array_to_string(ARRAY(SELECT a.attname || array_to_string(array(\
             SELECT r.rolname FROM pg_catalog.pg_roles r ORDER BY 1), ',') \
             FROM pg_catalog.pg_attribute a), ';')",
        );
        let out = ArraySubquery.rewrite(s).to_string();
        assert!(!out.to_ascii_lowercase().contains("array(select"), "{out}");
        assert_eq!(out.matches("array_agg(").count(), 2, "{out}");
        assert!(
            out.contains("array_agg(r.rolname ORDER BY r.rolname)"),
            "{out}"
        );
    }
}
