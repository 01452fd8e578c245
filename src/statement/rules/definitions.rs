//! The catalog functions that give an object's SQL by its OID, answered from where cip keeps
//! it:
//! - `pg_get_viewdef(oid [, pretty])`: the view's SQL, which DataFusion keeps in
//!   information_schema.views (psql's `\d+ view`, `\sv`, DBeaver's view editor);
//! - `pg_get_indexdef(oid [, column, pretty])`: the index's `CREATE INDEX`, kept in
//!   pg_indexes (catalog/key_rows.rs: the primary keys' indexes) — psql's "Indexes:" of `\d`,
//!   SQLAlchemy's get_indexes. (A column number asks for one column of an expression index;
//!   cip's indexes have none.)

use super::ast::{called, fill, plain_args, template};
use datafusion::sql::sqlparser::ast::{visit_expressions_mut, Expr, Statement};
use datafusion_postgres::datafusion_pg_catalog::sql::rules::SqlStatementRewriteRule;
use std::ops::ControlFlow;
use std::sync::LazyLock;

/// (function, the subquery that answers it for the OID `$1`).
static DEFINITIONS: LazyLock<[(&str, Expr); 2]> = LazyLock::new(|| {
    [
        (
            "pg_get_viewdef",
            template(
                "(SELECT max(v.definition) FROM information_schema.views v \
                 JOIN pg_catalog.pg_class vc ON vc.relname = v.table_name WHERE vc.oid = $1)",
            ),
        ),
        (
            "pg_get_indexdef",
            template(
                "(SELECT max(x.indexdef) FROM pg_catalog.pg_indexes x \
                 JOIN pg_catalog.pg_class ic ON ic.relname = x.indexname \
                 JOIN pg_catalog.pg_namespace ns \
                 ON ns.oid = ic.relnamespace AND ns.nspname = x.schemaname \
                 WHERE ic.oid = $1)",
            ),
        ),
    ]
});

#[derive(Debug)]
pub struct Definitions;

impl SqlStatementRewriteRule for Definitions {
    fn rewrite(&self, mut s: Statement) -> Statement {
        let _ = visit_expressions_mut(&mut s, |expr| {
            let found = called(expr).and_then(|(name, f)| {
                let (_, subquery) = DEFINITIONS.iter().find(|(n, _)| *n == name)?;
                let oid = plain_args(f)?.first().map(|a| (*a).clone())?;
                Some(fill(subquery, &[oid]))
            });
            if let Some(subquery) = found {
                *expr = subquery;
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
        let out = Definitions
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

    #[test]
    fn indexdef_reads_pg_indexes() {
        let out = Definitions
            .rewrite(super::super::parse(
                "SELECT pg_catalog.pg_get_indexdef(i.indexrelid, 0, true) FROM pg_index i",
            ))
            .to_string();
        assert!(
            out.starts_with("SELECT (SELECT max(x.indexdef) FROM pg_catalog.pg_indexes x"),
            "{out}"
        );
        assert!(
            out.ends_with("WHERE ic.oid = i.indexrelid) FROM pg_index i"),
            "{out}"
        );
    }
}
