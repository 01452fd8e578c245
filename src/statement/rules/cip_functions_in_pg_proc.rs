//! `pg_catalog.pg_proc p` read together with cip's own functions (`cip_pg_proc()`, see
//! crate::catalog::pg_proc), so psql's `\df` and JDBC's getFunctions list them. Only aliased
//! references are widened: `pg_catalog.pg_proc.col` references would not survive a derived
//! table.

use super::ast::name_parts;
use datafusion::sql::sqlparser::ast::{Query, Statement, TableFactor, VisitMut, VisitorMut};
use datafusion_postgres::datafusion_pg_catalog::sql::rules::SqlStatementRewriteRule;
use std::ops::ControlFlow;
use std::sync::LazyLock;

static UNION: LazyLock<Box<Query>> = LazyLock::new(|| {
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::parser::Parser;
    let sql = "SELECT * FROM pg_catalog.pg_proc UNION ALL SELECT * FROM cip_pg_proc()";
    match Parser::parse_sql(&PostgreSqlDialect {}, sql).map(|mut s| s.remove(0)) {
        Ok(Statement::Query(q)) => q,
        other => panic!("the pg_proc union must parse as a query: {other:?}"),
    }
});

#[derive(Debug)]
pub struct CipFunctionsInPgProc;

struct Visitor;

impl VisitorMut for Visitor {
    type Break = ();

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        let TableFactor::Table {
            name,
            alias: Some(alias),
            args: None,
            ..
        } = factor
        else {
            return ControlFlow::Continue(());
        };
        let parts = name_parts(name);
        let is_pg_proc = matches!(parts.as_slice(), [t] | [_, t] if t == "pg_proc")
            && (parts.len() == 1 || parts[0] == "pg_catalog");
        if !is_pg_proc {
            return ControlFlow::Continue(());
        }
        *factor = TableFactor::Derived {
            lateral: false,
            subquery: UNION.clone(),
            alias: Some(alias.clone()),
            sample: None,
        };
        // The union put in place reads pg_proc unaliased, so visiting it changes nothing.
        ControlFlow::Continue(())
    }
}

impl SqlStatementRewriteRule for CipFunctionsInPgProc {
    fn rewrite(&self, mut s: Statement) -> Statement {
        if matches!(s, Statement::Query(_)) {
            let _ = s.visit(&mut Visitor);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliased_pg_proc_reads_cip_functions_too() {
        let out = CipFunctionsInPgProc.rewrite(super::super::parse(
            "SELECT p.proname FROM pg_catalog.pg_proc p WHERE p.oid > 0",
        ));
        assert_eq!(
            out.to_string(),
            "SELECT p.proname FROM (SELECT * FROM pg_catalog.pg_proc UNION ALL \
             SELECT * FROM cip_pg_proc()) p WHERE p.oid > 0"
        );
        let plain = "SELECT proname FROM pg_catalog.pg_proc";
        assert_eq!(
            CipFunctionsInPgProc
                .rewrite(super::super::parse(plain))
                .to_string(),
            plain
        );
    }
}
