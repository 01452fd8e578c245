//! `tableoid`, the system column PostgreSQL gives every row: the OID of the relation it is
//! in. psql's `\dd` and `\dL` join pg_description on `d.classoid = x.tableoid` for
//! pg_constraint, pg_opclass, pg_rewrite, pg_trigger, pg_language …; DataFusion's catalog
//! tables have no such column (42703 "No field named pgc.tableoid"). For a pg_catalog relation
//! in a SELECT's FROM, `alias.tableoid` (or a bare `tableoid` when it is the only relation)
//! becomes that relation's OID, PostgreSQL's fixed one, which pg_class lists it with
//! (catalog/object_ids.rs).

use super::ast::{each_query, name_parts, number};
use crate::catalog::object_ids::catalog_relation_oid;
use datafusion::sql::sqlparser::ast::{
    visit_expressions_mut, Expr, Query, Select, SetExpr, Statement, TableFactor,
};
use datafusion_postgres::datafusion_pg_catalog::sql::rules::SqlStatementRewriteRule;
use std::ops::ControlFlow;

#[derive(Debug)]
pub struct TableOids;

/// (name it is referred to by, OID) of each pg_catalog relation in the select's FROM.
fn catalog_relations(select: &Select) -> Vec<(String, i32)> {
    let factors = select
        .from
        .iter()
        .flat_map(|t| std::iter::once(&t.relation).chain(t.joins.iter().map(|j| &j.relation)));
    factors
        .filter_map(|f| match f {
            TableFactor::Table { name, alias, .. } => {
                let parts = name_parts(name);
                let relation = match parts.as_slice() {
                    [r] => r,
                    [s, r] | [_, s, r] if s == "pg_catalog" => r,
                    _ => return None,
                };
                let oid = catalog_relation_oid(relation)?;
                let called = alias
                    .as_ref()
                    .map(|a| a.name.value.to_lowercase())
                    .unwrap_or_else(|| relation.clone());
                Some((called, oid))
            }
            _ => None,
        })
        .collect()
}

fn rewrite_select(select: &mut Select) {
    let relations = catalog_relations(select);
    if relations.is_empty() {
        return;
    }
    let only = match relations.as_slice() {
        [(_, oid)] if select.from.len() == 1 && select.from[0].joins.is_empty() => Some(*oid),
        _ => None,
    };
    let _ = visit_expressions_mut(select, |e| {
        let oid = match e {
            Expr::CompoundIdentifier(parts)
                if parts.len() == 2 && parts[1].value.eq_ignore_ascii_case("tableoid") =>
            {
                let q = parts[0].value.to_lowercase();
                relations.iter().find(|(n, _)| *n == q).map(|(_, o)| *o)
            }
            Expr::Identifier(i) if i.value.eq_ignore_ascii_case("tableoid") => only,
            _ => None,
        };
        if let Some(oid) = oid {
            *e = number(i64::from(oid));
        }
        ControlFlow::<()>::Continue(())
    });
}

fn rewrite_body(body: &mut SetExpr) {
    match body {
        SetExpr::Select(select) => rewrite_select(select),
        SetExpr::SetOperation { left, right, .. } => {
            rewrite_body(left);
            rewrite_body(right);
        }
        _ => {}
    }
}

fn rewrite_query(query: &mut Query) {
    rewrite_body(&mut query.body);
}

impl SqlStatementRewriteRule for TableOids {
    fn rewrite(&self, s: Statement) -> Statement {
        each_query(s, rewrite_query)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(sql: &str) -> String {
        TableOids.rewrite(super::super::parse(sql)).to_string()
    }

    #[test]
    fn tableoid_of_a_catalog_relation_is_its_oid() {
        assert_eq!(
            rewritten(
                "SELECT pgc.oid, pgc.tableoid FROM pg_catalog.pg_constraint pgc \
                 JOIN pg_catalog.pg_class c ON c.oid = pgc.conrelid \
                 UNION ALL SELECT t.oid, t.tableoid FROM pg_trigger t"
            ),
            "SELECT pgc.oid, 2606 FROM pg_catalog.pg_constraint pgc \
             JOIN pg_catalog.pg_class c ON c.oid = pgc.conrelid \
             UNION ALL SELECT t.oid, 2620 FROM pg_trigger t"
        );
        assert_eq!(
            rewritten("SELECT tableoid, oid FROM pg_class WHERE tableoid = 1259"),
            "SELECT 1259, oid FROM pg_class WHERE 1259 = 1259"
        );
        // Each select its own: the same alias for another relation inside a subquery.
        assert_eq!(
            rewritten(
                "SELECT t.tableoid FROM pg_type t WHERE EXISTS \
                 (SELECT t.tableoid FROM pg_trigger t)"
            ),
            "SELECT 1247 FROM pg_type t WHERE EXISTS (SELECT 2620 FROM pg_trigger t)"
        );
    }

    #[test]
    fn other_relations_are_left_alone() {
        for sql in [
            "SELECT m.tableoid FROM members AS m",
            "SELECT tableoid FROM pg_class AS c JOIN pg_namespace AS n ON true",
            "SELECT x.tableoid FROM other.pg_class AS x",
        ] {
            assert_eq!(rewritten(sql), sql, "{sql}");
        }
    }
}
