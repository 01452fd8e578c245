//! The last resort for a catalog query DataFusion cannot plan even after the rules: its
//! select list's subqueries become NULL, and it is planned once more (prepare.rs). This is
//! what datafusion-pg-catalog did to every statement; here it applies only to statements over
//! the catalogs, only after planning them as written failed, and it is logged. psql's `\d+`
//! asks for a table's publications with a subquery DataFusion cannot plan
//! (`generate_series` over an outer array); cip has no publications, so NULL is the answer.

use super::ast::{call, called, cast, plain_args, reads_catalog};
use super::subquery::null_keeping_parameters;
use datafusion::sql::sqlparser::ast::{
    visit_expressions_mut, ArrayElemTypeDef, DataType, Expr, Query, SelectItem, SetExpr, Statement,
    VisitMut, VisitorMut,
};
use std::ops::ControlFlow;

struct Visitor {
    changed: bool,
}

impl VisitorMut for Visitor {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        self.body(query.body.as_mut());
        ControlFlow::Continue(())
    }
}

impl Visitor {
    /// A query body's select lists, through the branches of UNION / INTERSECT / EXCEPT.
    fn body(&mut self, body: &mut SetExpr) {
        let select = match body {
            SetExpr::Select(select) => select,
            SetExpr::SetOperation { left, right, .. } => {
                self.body(left);
                self.body(right);
                return;
            }
            _ => return,
        };
        for item in &mut select.projection {
            let expr = match item {
                SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => e,
                _ => continue,
            };
            // First `unnest((subquery))`, whose argument must stay an array: DataFusion does
            // not unnest an untyped NULL (pgcli's foreign-key query; cip has none, so the
            // empty unnest is also the true answer).
            let _ = visit_expressions_mut(expr, |e| {
                if let Some(q) = unnested_subquery(e) {
                    let none = cast(null_keeping_parameters(q), text_array());
                    *e = call("unnest", vec![none]);
                    self.changed = true;
                }
                ControlFlow::<()>::Continue(())
            });
            let _ = visit_expressions_mut(expr, |e| {
                if let Expr::Subquery(q) = e {
                    *e = null_keeping_parameters(q);
                    self.changed = true;
                }
                ControlFlow::<()>::Continue(())
            });
        }
    }
}

/// The subquery of `unnest((subquery))`.
fn unnested_subquery(e: &Expr) -> Option<&Query> {
    let (name, f) = called(e)?;
    match plain_args(f)?.as_slice() {
        [Expr::Subquery(q)] if name == "unnest" => Some(q),
        _ => None,
    }
}

fn text_array() -> DataType {
    DataType::Array(ArrayElemTypeDef::SquareBracket(
        Box::new(DataType::Text),
        None,
    ))
}

/// The catalog statement with its select lists' subqueries as NULL; None when it is not a
/// catalog statement or has none.
pub fn null_subqueries(statement: &Statement) -> Option<Statement> {
    if !reads_catalog(statement) {
        return None;
    }
    let mut out = statement.clone();
    let mut visitor = Visitor { changed: false };
    let _ = out.visit(&mut visitor);
    visitor.changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_catalog_select_lists_change() {
        let s = super::super::parse(
            "SELECT p.pubname, (SELECT string_agg(a.attname, ', ') FROM pg_catalog.pg_attribute a \
             WHERE a.attrelid = $1) FROM pg_catalog.pg_publication p",
        );
        let out = null_subqueries(&s).expect("changed").to_string();
        assert_eq!(
            out,
            "SELECT p.pubname, CASE WHEN $1 IS NULL THEN NULL END FROM pg_catalog.pg_publication p"
        );
        let user = super::super::parse("SELECT (SELECT max(x) FROM t) FROM u");
        assert!(null_subqueries(&user).is_none());
    }

    #[test]
    fn an_unnested_subquery_becomes_an_empty_array() {
        let s = super::super::parse(
            "SELECT unnest((SELECT array_agg(attname) FROM (SELECT unnest(confkey) AS n) x)) \
             FROM pg_catalog.pg_constraint fk",
        );
        let out = null_subqueries(&s).expect("changed").to_string();
        assert_eq!(
            out,
            "SELECT unnest(CAST(NULL AS TEXT[])) FROM pg_catalog.pg_constraint fk"
        );
    }
}
