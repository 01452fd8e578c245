//! A VALUES list nested inside an INSERT's query (`INSERT INTO t (a) SELECT p0 FROM (VALUES
//! ($1, 0), ($2, 1)) AS s(p0, n) ORDER BY n` — SQLAlchemy 2's ORM writes this for every
//! multi-row insert) is planned by DataFusion against the *target's* columns, meant for the
//! INSERT's own VALUES only, and fails ("Inconsistent data length across values list") or
//! casts the list to the wrong types. Such a nested list is written as the UNION ALL of one
//! SELECT per row, which PostgreSQL defines VALUES to be; its columns keep VALUES's names
//! (column1, column2, …). The branches are joined as a balanced tree so a thousand-row list
//! nests ten deep, not a thousand. The INSERT's own VALUES is left as it is.

use super::ast::template_query;
use datafusion::sql::sqlparser::ast::{
    Expr, Ident, Query, SelectItem, SetExpr, SetOperator, SetQuantifier, Statement, Values,
    VisitMut, VisitorMut,
};
use datafusion_postgres::datafusion_pg_catalog::sql::rules::SqlStatementRewriteRule;
use std::ops::ControlFlow;

#[derive(Debug)]
pub struct NestedValues;

impl SqlStatementRewriteRule for NestedValues {
    fn rewrite(&self, mut s: Statement) -> Statement {
        if let Statement::Insert(insert) = &mut s {
            if let Some(source) = insert.source.as_mut() {
                let _ = source.visit(&mut Nested { depth: 0 });
            }
        }
        s
    }
}

/// Visits the queries of an INSERT's source: the source itself is depth 1.
struct Nested {
    depth: usize,
}

impl VisitorMut for Nested {
    type Break = ();

    fn pre_visit_query(&mut self, _query: &mut Query) -> ControlFlow<()> {
        self.depth += 1;
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        let top = self.depth == 1;
        self.depth -= 1;
        // The INSERT's own VALUES is meant to be planned against the target's columns.
        if !(top && matches!(query.body.as_ref(), SetExpr::Values(_))) {
            rewrite_body(&mut query.body);
        }
        ControlFlow::Continue(())
    }
}

fn rewrite_body(body: &mut SetExpr) {
    match body {
        SetExpr::Values(values) => {
            if let Some(union) = union_of(values) {
                *body = union;
            }
        }
        SetExpr::SetOperation { left, right, .. } => {
            rewrite_body(left);
            rewrite_body(right);
        }
        _ => {}
    }
}

/// The rows of `values` as a UNION ALL of SELECTs; None for a list with no rows, or rows of
/// different lengths (left for DataFusion to refuse as a VALUES list).
fn union_of(values: &Values) -> Option<SetExpr> {
    let width = values.rows.first()?.content.len();
    if values.rows.iter().any(|r| r.content.len() != width) {
        return None;
    }
    let mut selects: Vec<SetExpr> = Vec::with_capacity(values.rows.len());
    for row in &values.rows {
        let mut query = template_query("SELECT 1")?;
        let SetExpr::Select(select) = query.body.as_mut() else {
            return None;
        };
        select.projection = row
            .content
            .iter()
            .enumerate()
            .map(|(i, e)| named(e, i, selects.is_empty()))
            .collect();
        selects.push(*query.body);
    }
    balanced(selects)
}

/// The first row names the columns as VALUES does; later rows need no names.
fn named(expr: &Expr, i: usize, first: bool) -> SelectItem {
    if first {
        SelectItem::ExprWithAlias {
            expr: expr.clone(),
            alias: Ident::new(format!("column{}", i + 1)),
        }
    } else {
        SelectItem::UnnamedExpr(expr.clone())
    }
}

fn balanced(mut branches: Vec<SetExpr>) -> Option<SetExpr> {
    if branches.len() <= 1 {
        return branches.pop();
    }
    let right = branches.split_off(branches.len() / 2);
    Some(SetExpr::SetOperation {
        left: Box::new(balanced(branches)?),
        op: SetOperator::Union,
        set_quantifier: SetQuantifier::All,
        right: Box::new(balanced(right)?),
    })
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use super::*;

    fn rewritten(sql: &str) -> String {
        NestedValues.rewrite(parse(sql)).to_string()
    }

    #[test]
    fn nested_lists_become_unions() {
        assert_eq!(
            rewritten(
                "INSERT INTO t (a) SELECT p0 FROM (VALUES ($1, 0), ($2, 1)) AS s(p0, n) ORDER BY n"
            ),
            "INSERT INTO t (a) SELECT p0 FROM (SELECT $1 AS column1, 0 AS column2 UNION ALL \
             SELECT $2, 1) AS s (p0, n) ORDER BY n"
        );
        assert_eq!(
            rewritten("INSERT INTO t WITH v AS (VALUES (1)) SELECT * FROM v"),
            "INSERT INTO t WITH v AS (SELECT 1 AS column1) SELECT * FROM v"
        );
    }

    #[test]
    fn the_inserts_own_values_stay() {
        let sql = "INSERT INTO t (a, b) VALUES (1, 2), (3, 4)";
        assert_eq!(rewritten(sql), sql);
        let sql = "SELECT * FROM (VALUES (1, 2)) AS v";
        assert_eq!(rewritten(sql), sql);
    }

    #[test]
    fn a_long_list_nests_logarithmically() {
        let rows: Vec<String> = (0..1000).map(|i| format!("({i})")).collect();
        let sql = format!(
            "INSERT INTO t SELECT * FROM (VALUES {}) AS v",
            rows.join(", ")
        );
        let Statement::Insert(insert) = NestedValues.rewrite(parse(&sql)) else {
            panic!("an insert");
        };
        fn depth(e: &SetExpr) -> usize {
            match e {
                SetExpr::SetOperation { left, right, .. } => 1 + depth(left).max(depth(right)),
                SetExpr::Query(q) => depth(&q.body),
                SetExpr::Select(s) => s
                    .from
                    .iter()
                    .map(|f| match &f.relation {
                        datafusion::sql::sqlparser::ast::TableFactor::Derived {
                            subquery, ..
                        } => depth(&subquery.body),
                        _ => 0,
                    })
                    .max()
                    .unwrap_or(0),
                _ => 0,
            }
        }
        let source = insert.source.expect("a source");
        assert_eq!(depth(&source.body), 10);
    }
}
