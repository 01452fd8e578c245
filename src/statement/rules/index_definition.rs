//! `pg_get_indexdef(oid [, column, pretty])`: the index's `CREATE INDEX` statement, which cip
//! keeps in pg_indexes (catalog/key_rows.rs: the primary keys' indexes), found by the index's
//! OID — psql's "Indexes:" of `\d`, SQLAlchemy's get_indexes, DBeaver's DDL view. (A column
//! number asks for one column of an expression index; cip's indexes have none.)

use super::ast::{called, fill, plain_args, template};
use datafusion::sql::sqlparser::ast::{visit_expressions_mut, Expr, Statement};
use datafusion_postgres::datafusion_pg_catalog::sql::rules::SqlStatementRewriteRule;
use std::ops::ControlFlow;
use std::sync::LazyLock;

static DEFINITION: LazyLock<Expr> = LazyLock::new(|| {
    template(
        "(SELECT max(x.indexdef) FROM pg_catalog.pg_indexes x \
         JOIN pg_catalog.pg_class ic ON ic.relname = x.indexname \
         JOIN pg_catalog.pg_namespace ns ON ns.oid = ic.relnamespace AND ns.nspname = x.schemaname \
         WHERE ic.oid = $1)",
    )
});

#[derive(Debug)]
pub struct IndexDefinition;

impl SqlStatementRewriteRule for IndexDefinition {
    fn rewrite(&self, mut s: Statement) -> Statement {
        let _ = visit_expressions_mut(&mut s, |expr| {
            let oid = match called(expr) {
                Some((name, f)) if name == "pg_get_indexdef" => {
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
    fn indexdef_reads_pg_indexes() {
        let out = IndexDefinition
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
