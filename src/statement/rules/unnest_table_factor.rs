//! `FROM [pg_catalog.]unnest(v) AS x`, as PostgreSQL reads it. Qualified, once its schema is
//! stripped (StripCallableQualifier) it is a table function call named unnest, which
//! DataFusion does not have: it becomes the UNNEST table factor sqlparser makes of an
//! unqualified `unnest(…)`. And the alias of a one-array unnest names its column too (`x`,
//! where DataFusion would say `UNNEST(v)`). psql's `\d+` reads index keys this way.

use super::ast::last_name;
use datafusion::sql::sqlparser::ast::{
    Statement, TableAliasColumnDef, TableFactor, VisitMut, VisitorMut,
};
use datafusion_postgres::datafusion_pg_catalog::sql::rules::SqlStatementRewriteRule;
use std::ops::ControlFlow;

#[derive(Debug)]
pub struct UnnestTableFactor;

struct Visitor;

impl VisitorMut for Visitor {
    type Break = ();

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        if let TableFactor::UNNEST {
            alias: Some(alias),
            array_exprs,
            ..
        } = factor
        {
            if alias.columns.is_empty() && array_exprs.len() == 1 {
                alias.columns = vec![TableAliasColumnDef::from_name(alias.name.value.clone())];
            }
            return ControlFlow::Continue(());
        }
        let TableFactor::Table {
            name,
            args: Some(args),
            alias,
            ..
        } = factor
        else {
            return ControlFlow::Continue(());
        };
        if last_name(name).as_deref() != Some("unnest") {
            return ControlFlow::Continue(());
        }
        let Some(array_exprs) = super::ast::plain_exprs(&args.args) else {
            return ControlFlow::Continue(());
        };
        let array_exprs: Vec<_> = array_exprs.into_iter().cloned().collect();
        let mut alias = alias.clone();
        if let Some(a) = alias.as_mut() {
            if a.columns.is_empty() && array_exprs.len() == 1 {
                a.columns = vec![TableAliasColumnDef::from_name(a.name.value.clone())];
            }
        }
        *factor = TableFactor::UNNEST {
            alias,
            array_exprs,
            with_offset: false,
            with_offset_alias: None,
            with_ordinality: false,
        };
        ControlFlow::Continue(())
    }
}

impl SqlStatementRewriteRule for UnnestTableFactor {
    fn rewrite(&self, mut s: Statement) -> Statement {
        let _ = s.visit(&mut Visitor);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualified_unnest_becomes_the_unnest_factor() {
        let s = super::super::parse("SELECT x FROM unnest(ARRAY[1, 2]) AS x (x)");
        let expected = s.to_string();
        let qualified = super::super::parse("SELECT x FROM pg_catalog.unnest(ARRAY[1, 2]) AS x");
        let stripped =
            datafusion_postgres::datafusion_pg_catalog::sql::rules::StripCallableQualifier
                .rewrite(qualified);
        assert_eq!(UnnestTableFactor.rewrite(stripped).to_string(), expected);
    }
}
