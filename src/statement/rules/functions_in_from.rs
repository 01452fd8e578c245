//! Functions in FROM as PostgreSQL reads them: a scalar function there is a one-row table
//! whose one column is named by the alias (`FROM string_to_array(x, ',') AS s` gives the
//! column `s`), and a single-column table function's alias names its column too
//! (`FROM generate_series(1, 3) AS i` gives `i`, where DataFusion would say `value`). Grafana's
//! query builder reads the search path this way. Which names are table functions only the
//! session knows, so this rule is applied at planning (prepare.rs) rather than in the list.

use datafusion::sql::sqlparser::ast::{
    Ident, Query, SelectItem, SetExpr, Statement, TableAlias, TableAliasColumnDef, TableFactor,
    VisitMut, VisitorMut,
};
use std::ops::ControlFlow;

/// Table functions whose result is one column (their alias names that column).
const SINGLE_COLUMN: &[&str] = &["generate_series", "range"];

struct Visitor<'a> {
    is_table_function: &'a dyn Fn(&str) -> bool,
    changed: bool,
}

impl VisitorMut for Visitor<'_> {
    type Break = ();

    fn pre_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        let TableFactor::Table {
            name,
            args: Some(args),
            alias: Some(alias),
            ..
        } = factor
        else {
            return ControlFlow::Continue(());
        };
        let Some(function) = super::ast::last_name(name) else {
            return ControlFlow::Continue(());
        };
        if (self.is_table_function)(&function) {
            if SINGLE_COLUMN.contains(&function.as_str()) && alias.columns.is_empty() {
                alias.columns = vec![TableAliasColumnDef::from_name(alias.name.value.clone())];
                self.changed = true;
            }
            return ControlFlow::Continue(());
        }
        let Some(plain) = super::ast::plain_exprs(&args.args) else {
            return ControlFlow::Continue(());
        };
        let plain: Vec<_> = plain.into_iter().cloned().collect();
        let column = alias
            .columns
            .first()
            .map(|c| c.name.clone())
            .unwrap_or_else(|| alias.name.clone());
        let call = super::ast::call(&function, plain);
        *factor = TableFactor::Derived {
            lateral: false,
            subquery: Box::new(one_row(call, column)),
            alias: Some(TableAlias {
                explicit: true,
                name: alias.name.clone(),
                columns: vec![],
                at: None,
            }),
            sample: None,
        };
        self.changed = true;
        ControlFlow::Continue(())
    }
}

/// `SELECT expr AS column`.
fn one_row(expr: datafusion::sql::sqlparser::ast::Expr, column: Ident) -> Query {
    use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
    use datafusion::sql::sqlparser::parser::Parser;
    let mut query = match Parser::parse_sql(&PostgreSqlDialect {}, "SELECT 1 AS x") {
        Ok(mut s) => match s.remove(0) {
            Statement::Query(q) => *q,
            _ => unreachable!("a SELECT parses as a query"),
        },
        Err(e) => unreachable!("a constant SELECT parses: {e}"),
    };
    if let SetExpr::Select(select) = query.body.as_mut() {
        select.projection = vec![SelectItem::ExprWithAlias {
            expr,
            alias: column,
        }];
    }
    query
}

/// `statement` with functions in FROM read as PostgreSQL reads them; None when unchanged.
pub fn rewrite(
    statement: &Statement,
    is_table_function: &dyn Fn(&str) -> bool,
) -> Option<Statement> {
    let mut out = statement.clone();
    let mut visitor = Visitor {
        is_table_function,
        changed: false,
    };
    let _ = out.visit(&mut visitor);
    visitor.changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_functions_in_from_are_one_row_tables() {
        let s = super::super::parse(
            "SELECT s[i] FROM generate_series(1, 2) AS i, string_to_array('a,b', ',') s",
        );
        let out = rewrite(&s, &|f| f == "generate_series").expect("changed");
        assert_eq!(
            out.to_string(),
            "SELECT s[i] FROM generate_series(1, 2) AS i (i), \
             (SELECT string_to_array('a,b', ',') AS s) AS s"
        );
        let plain = super::super::parse("SELECT * FROM generate_series(1, 2)");
        assert!(rewrite(&plain, &|_| true).is_none());
    }
}
