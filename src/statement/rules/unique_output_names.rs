//! Unaliased select items that repeat one another (`SELECT NULL, NULL`, `SELECT 1, 1`): in
//! PostgreSQL two columns may share a name, a DataFusion projection refuses them
//! ("Projections require unique expression names"). The repeats get a synthetic alias; the
//! names clients see still come from the expressions (names.rs knows these aliases).

use datafusion::sql::sqlparser::ast::VisitorMut;
use datafusion::sql::sqlparser::ast::{Ident, Query, SelectItem, SetExpr, Statement, VisitMut};
use datafusion_postgres::datafusion_pg_catalog::sql::rules::SqlStatementRewriteRule;
use std::ops::ControlFlow;

const PREFIX: &str = "__cip_column_";

/// Whether an alias is one this rule gave.
pub fn is_synthetic_alias(alias: &str) -> bool {
    alias.starts_with(PREFIX)
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

fn alias_repeats(body: &mut SetExpr) {
    match body {
        SetExpr::Select(select) => {
            let mut seen = Vec::new();
            for (i, item) in select.projection.iter_mut().enumerate() {
                let SelectItem::UnnamedExpr(expr) = item else {
                    continue;
                };
                if seen.contains(expr) {
                    *item = SelectItem::ExprWithAlias {
                        expr: expr.clone(),
                        alias: Ident::new(format!("{PREFIX}{}", i + 1)),
                    };
                } else {
                    seen.push(expr.clone());
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
        let _ = s.visit(&mut Visitor);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_get_an_alias_and_nothing_else_changes() {
        let out = UniqueOutputNames.rewrite(super::super::parse("SELECT NULL, NULL, 1, a, 1"));
        assert_eq!(
            out.to_string(),
            "SELECT NULL, NULL AS __cip_column_2, 1, a, 1 AS __cip_column_5"
        );
        let same = "SELECT a, b AS a FROM t";
        assert_eq!(
            UniqueOutputNames
                .rewrite(super::super::parse(same))
                .to_string(),
            same
        );
    }
}
