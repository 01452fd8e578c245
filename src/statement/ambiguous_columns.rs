//! A column name that a derived table or a CTE gives twice, then used by the query reading it:
//! `SELECT x FROM (SELECT 1 AS x, 2 AS x) t`. PostgreSQL refuses the reference (42702, "column
//! reference "x" is ambiguous"); cip had answered with the first x, because the rule that lets
//! a select list repeat a name (rules/unique_output_names.rs) hides the later ones behind a
//! synthetic alias. This check runs after the rules and looks for exactly those aliases, so
//! `SELECT * FROM (SELECT 1 AS x, 2 AS x) t` still answers two columns named x, as it does in
//! PostgreSQL.
//!
//! Looked at: the select list, WHERE, GROUP BY and HAVING of the query whose FROM holds the
//! relation. References from a subquery nested in them are not followed (its own FROM may
//! give the name a meaning of its own).

use super::names;
use super::rules::unique_output_names::synthetic_name;
use crate::error::{sqlstate, CipError, Result};
use datafusion::sql::sqlparser::ast::{
    Expr, GroupByExpr, ObjectNamePart, Query, Select, SelectItem, SetExpr, Statement, TableFactor,
    TableWithJoins, Visit, Visitor,
};
use std::ops::ControlFlow;

/// Refuses a statement that reads a column name a relation of its FROM gives twice.
pub fn check(statement: &Statement) -> Result<()> {
    let mut scopes = Scopes { ctes: Vec::new() };
    match statement.visit(&mut scopes) {
        ControlFlow::Break(name) => Err(CipError::invalid(
            sqlstate::AMBIGUOUS_COLUMN,
            format!("column reference \"{name}\" is ambiguous"),
        )),
        ControlFlow::Continue(()) => Ok(()),
    }
}

/// A relation of a FROM clause and the names it gives more than once.
struct Repeated {
    relation: String,
    names: Vec<String>,
}

/// The CTEs in scope with repeated names, one level per enclosing query.
struct Scopes {
    ctes: Vec<Vec<Repeated>>,
}

impl Visitor for Scopes {
    type Break = String;

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<String> {
        let mut level = Vec::new();
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                let names = repeated(&cte.query.body);
                if cte.alias.columns.is_empty() && !names.is_empty() {
                    let name = &cte.alias.name;
                    level.push(Repeated {
                        relation: names::ident(&name.value, name.quote_style.is_some()),
                        names,
                    });
                }
            }
        }
        self.ctes.push(level);
        self.check_body(&query.body)
    }

    fn post_visit_query(&mut self, _: &Query) -> ControlFlow<String> {
        self.ctes.pop();
        ControlFlow::Continue(())
    }
}

impl Scopes {
    fn check_body(&self, body: &SetExpr) -> ControlFlow<String> {
        match body {
            SetExpr::Select(select) => self.check_select(select),
            SetExpr::SetOperation { left, right, .. } => {
                self.check_body(left)?;
                self.check_body(right)
            }
            _ => ControlFlow::Continue(()),
        }
    }

    fn check_select(&self, select: &Select) -> ControlFlow<String> {
        let mut relations = Vec::new();
        for from in &select.from {
            self.relations_of(from, &mut relations);
        }
        if relations.is_empty() {
            return ControlFlow::Continue(());
        }
        let mut finder = References {
            relations: &relations,
            depth: 0,
        };
        for item in &select.projection {
            match item {
                SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                    e.visit(&mut finder)?
                }
                _ => {}
            }
        }
        if let Some(e) = &select.selection {
            e.visit(&mut finder)?;
        }
        if let GroupByExpr::Expressions(exprs, _) = &select.group_by {
            for e in exprs {
                e.visit(&mut finder)?;
            }
        }
        if let Some(e) = &select.having {
            e.visit(&mut finder)?;
        }
        ControlFlow::Continue(())
    }

    fn relations_of(&self, from: &TableWithJoins, out: &mut Vec<Repeated>) {
        self.relation(&from.relation, out);
        for join in &from.joins {
            self.relation(&join.relation, out);
        }
    }

    fn relation(&self, factor: &TableFactor, out: &mut Vec<Repeated>) {
        match factor {
            TableFactor::Derived {
                subquery,
                alias: Some(alias),
                ..
            } if alias.columns.is_empty() => {
                let names = repeated(&subquery.body);
                if !names.is_empty() {
                    out.push(Repeated {
                        relation: names::ident(&alias.name.value, alias.name.quote_style.is_some()),
                        names,
                    });
                }
            }
            TableFactor::Table { name, alias, .. } if name.0.len() == 1 => {
                let Some(ObjectNamePart::Identifier(table)) = name.0.first() else {
                    return;
                };
                let table = names::ident(&table.value, table.quote_style.is_some());
                let Some(cte) = self.cte(&table) else {
                    return;
                };
                let relation = match alias {
                    Some(a) if a.columns.is_empty() => {
                        names::ident(&a.name.value, a.name.quote_style.is_some())
                    }
                    Some(_) => return,
                    None => table,
                };
                out.push(Repeated {
                    relation,
                    names: cte.names.clone(),
                });
            }
            TableFactor::NestedJoin {
                table_with_joins, ..
            } => self.relations_of(table_with_joins, out),
            _ => {}
        }
    }

    /// The innermost CTE in scope named `name` that repeats a name.
    fn cte(&self, name: &str) -> Option<&Repeated> {
        self.ctes
            .iter()
            .rev()
            .flat_map(|level| level.iter())
            .find(|r| r.relation == name)
    }
}

/// The names a relation's select list gives more than once: those unique_output_names hid
/// behind a synthetic alias.
fn repeated(body: &SetExpr) -> Vec<String> {
    match body {
        SetExpr::Select(select) => select
            .projection
            .iter()
            .filter_map(|item| match item {
                SelectItem::ExprWithAlias { alias, .. } => {
                    synthetic_name(&alias.value).map(str::to_string)
                }
                _ => None,
            })
            .collect(),
        SetExpr::SetOperation { left, .. } => repeated(left),
        SetExpr::Query(q) => repeated(&q.body),
        _ => Vec::new(),
    }
}

/// Finds a reference to a repeated name outside nested subqueries.
struct References<'a> {
    relations: &'a [Repeated],
    depth: usize,
}

impl Visitor for References<'_> {
    type Break = String;

    fn pre_visit_query(&mut self, _: &Query) -> ControlFlow<String> {
        self.depth += 1;
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _: &Query) -> ControlFlow<String> {
        self.depth -= 1;
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<String> {
        if self.depth > 0 {
            return ControlFlow::Continue(());
        }
        let (relation, column) = match expr {
            Expr::Identifier(c) => (None, c),
            Expr::CompoundIdentifier(parts) if parts.len() == 2 => (Some(&parts[0]), &parts[1]),
            _ => return ControlFlow::Continue(()),
        };
        let column = names::ident(&column.value, column.quote_style.is_some());
        let relation = relation.map(|r| names::ident(&r.value, r.quote_style.is_some()));
        let ambiguous = self.relations.iter().any(|r| {
            relation.as_ref().is_none_or(|q| *q == r.relation) && r.names.contains(&column)
        });
        if ambiguous {
            ControlFlow::Break(column)
        } else {
            ControlFlow::Continue(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse;

    /// The SQLSTATE parsing `sql` fails with (the check runs as part of parsing).
    fn sqlstate(sql: &str) -> Option<&'static str> {
        parse(sql).err().map(|e| e.sqlstate())
    }

    #[test]
    fn a_name_given_twice_is_ambiguous_where_it_is_read() {
        for sql in [
            "SELECT x FROM (SELECT 1 AS x, 2 AS x) t",
            "SELECT t.x FROM (SELECT 1 AS x, 2 AS x) t",
            "SELECT 1 FROM (SELECT 1 AS x, 2 AS x) t WHERE x > 0",
            "SELECT count(*) FROM (SELECT 1 AS x, 2 AS X) t GROUP BY x",
            "WITH c AS (SELECT 1 AS x, 2 AS x) SELECT x FROM c",
            "WITH c AS (SELECT 1 AS x, 2 AS x) SELECT d.x FROM c AS d",
            "SELECT * FROM m WHERE id IN (SELECT x FROM (SELECT 1 AS x, 2 AS x) t)",
        ] {
            assert_eq!(sqlstate(sql), Some("42702"), "{sql}");
        }
    }

    #[test]
    fn other_uses_of_the_relation_are_fine() {
        for sql in [
            "SELECT * FROM (SELECT 1 AS x, 2 AS x) t",
            "SELECT count(*) FROM (SELECT 1 AS x, 2 AS x) t",
            "SELECT x FROM (SELECT 1 AS x, 2 AS \"X\") t",
            "SELECT y FROM (SELECT 1 AS x, 2 AS x, 3 AS y) t",
            "SELECT u.x FROM (SELECT 1 AS x, 2 AS x) t, (SELECT 3 AS x) u",
            "SELECT x FROM (SELECT 1 AS x, 2 AS x) AS t (a, x)",
            "WITH c AS (SELECT 1 AS x, 2 AS x) SELECT x FROM other",
            "SELECT 1 AS x, 2 AS x",
        ] {
            assert_eq!(sqlstate(sql), None, "{sql}");
        }
    }
}
