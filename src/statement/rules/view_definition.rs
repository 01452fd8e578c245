//! `pg_get_viewdef(oid [, pretty])`: the view's SQL, which DataFusion keeps in
//! information_schema.views, found by the relation's OID (psql's `\d+ view`, `\sv`,
//! DBeaver's view editor).

use super::ast::{called, fill, plain_args, template};
use datafusion::sql::sqlparser::ast::{visit_expressions_mut, Expr, Statement};
use datafusion_postgres::datafusion_pg_catalog::sql::rules::SqlStatementRewriteRule;
use std::ops::ControlFlow;
use std::sync::LazyLock;

static DEFINITION: LazyLock<Expr> = LazyLock::new(|| {
    template(
        "(SELECT max(v.definition) FROM information_schema.views v \
         JOIN pg_catalog.pg_class vc ON vc.relname = v.table_name WHERE vc.oid = $1)",
    )
});

#[derive(Debug)]
pub struct ViewDefinition;

impl SqlStatementRewriteRule for ViewDefinition {
    fn rewrite(&self, mut s: Statement) -> Statement {
        let _ = visit_expressions_mut(&mut s, |expr| {
            let oid = match called(expr) {
                Some((name, f)) if name == "pg_get_viewdef" => {
                    plain_args(f).and_then(|args| args.first().map(|a| (*a).clone()))
                }
                _ => None,
            };
            if let Some(oid) = oid {
                *expr = fill(&DEFINITION, &[oid]);
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
    fn viewdef_reads_information_schema() {
        let out = ViewDefinition
            .rewrite(super::super::parse(
                "SELECT pg_catalog.pg_get_viewdef('16390'::oid, true)",
            ))
            .to_string();
        assert_eq!(
            out,
            "SELECT (SELECT max(v.definition) FROM information_schema.views v \
             JOIN pg_catalog.pg_class vc ON vc.relname = v.table_name \
             WHERE vc.oid = '16390'::oid)"
        );
    }
}
