//! A relation's OID shown as a regclass: its name, as PostgreSQL's regclass output prints it.
//! DataFusion has no reg* types, so `conrelid::regclass` stayed a number and psql's "Referenced
//! by:" read `TABLE "16482"`. In catalog queries, a select-list item `x::regclass` and any
//! `x::regclass::text` become the relation's name from pg_class — quoted where needed and
//! qualified when outside `public` and `pg_catalog`, the schemas on cip's search path — or the
//! number for an OID no relation has, as PostgreSQL prints a dangling one. A regclass compared
//! or joined stays a number (that is what it is). A literal cast (`'members'::regclass`) is
//! looked up first (reg_lookups.rs) and then shown the same way.

use super::ast::{fill, reads_catalog, template};
use datafusion::sql::sqlparser::ast::{
    visit_expressions_mut, DataType, Expr, Ident, SelectItem, SetExpr, Statement, Value, VisitMut,
    VisitorMut,
};
use datafusion_postgres::datafusion_pg_catalog::sql::rules::SqlStatementRewriteRule;
use std::ops::ControlFlow;
use std::sync::LazyLock;

/// The name of the relation with OID `$1` (definitions.rs' lookup, so the caller's value
/// meets only the derived table's own column names), else the number.
static NAME: LazyLock<Expr> = LazyLock::new(|| {
    let name = super::definitions::lookup(
        "SELECT c.oid AS cip_oid, \
         CASE WHEN n.nspname IN ('public', 'pg_catalog') THEN quote_ident(c.relname) \
         ELSE quote_ident(n.nspname) || '.' || quote_ident(c.relname) END AS cip_text \
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace",
        "d.cip_oid = $1",
    );
    let same = |n: &str| template(n);
    fill(
        &template("coalesce($2, CAST($1 AS TEXT))"),
        &[same("$1"), name],
    )
});

#[derive(Debug)]
pub struct RegclassNames;

fn is_regclass(t: &DataType) -> bool {
    super::reg_lookups::reg_kind(t) == Some("regclass")
}

fn is_text(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Text | DataType::Varchar(_) | DataType::CharacterVarying(_) | DataType::String(_)
    )
}

/// The OID expression of `x::regclass`, unless `x` is a literal or a parameter (a name).
fn regclass_of(e: &Expr) -> Option<&Expr> {
    match e {
        Expr::Cast {
            expr, data_type, ..
        } if is_regclass(data_type) => match expr.as_ref() {
            Expr::Value(v)
                if matches!(
                    v.value,
                    Value::SingleQuotedString(_) | Value::Placeholder(_)
                ) =>
            {
                None
            }
            oid => Some(oid),
        },
        _ => None,
    }
}

fn name_of(oid: &Expr) -> Expr {
    fill(&NAME, std::slice::from_ref(oid))
}

/// PostgreSQL names an unaliased cast by its operand's column name.
fn column_name(e: &Expr) -> Ident {
    match e {
        Expr::Identifier(i) => i.clone(),
        Expr::CompoundIdentifier(parts) => parts
            .last()
            .cloned()
            .unwrap_or_else(|| Ident::new("regclass")),
        _ => Ident::new("regclass"),
    }
}

struct SelectLists;

impl VisitorMut for SelectLists {
    type Break = ();

    fn pre_visit_query(
        &mut self,
        query: &mut datafusion::sql::sqlparser::ast::Query,
    ) -> ControlFlow<()> {
        if let SetExpr::Select(select) = query.body.as_mut() {
            for item in select.projection.iter_mut() {
                match item {
                    SelectItem::UnnamedExpr(e) => {
                        if let Some(oid) = regclass_of(e) {
                            let alias = column_name(oid);
                            *item = SelectItem::ExprWithAlias {
                                expr: name_of(oid),
                                alias,
                            };
                        }
                    }
                    SelectItem::ExprWithAlias { expr, .. } => {
                        if let Some(oid) = regclass_of(expr) {
                            *expr = name_of(oid);
                        }
                    }
                    _ => {}
                }
            }
        }
        ControlFlow::Continue(())
    }
}

impl SqlStatementRewriteRule for RegclassNames {
    fn rewrite(&self, mut s: Statement) -> Statement {
        if !reads_catalog(&s) {
            return s;
        }
        let _ = visit_expressions_mut(&mut s, |e| {
            if let Expr::Cast {
                expr, data_type, ..
            } = e
            {
                if is_text(data_type) {
                    if let Some(oid) = regclass_of(expr) {
                        *e = name_of(oid);
                    }
                }
            }
            ControlFlow::<()>::Continue(())
        });
        let _ = s.visit(&mut SelectLists);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite(sql: &str) -> String {
        RegclassNames.rewrite(super::super::parse(sql)).to_string()
    }

    #[test]
    fn shown_regclasses_become_names() {
        let out = rewrite(
            "SELECT conname, conrelid::pg_catalog.regclass AS ontable, confrelid::regclass \
             FROM pg_catalog.pg_constraint c WHERE c.conrelid = '16384'::regclass",
        );
        assert!(
            out.contains("WHERE d.cip_oid = conrelid), CAST(conrelid AS TEXT)) AS ontable"),
            "{out}"
        );
        assert!(
            out.contains("CAST(confrelid AS TEXT)) AS confrelid FROM"),
            "{out}"
        );
        // A literal (a name to look up) and a comparison are left alone.
        assert!(
            out.ends_with("WHERE c.conrelid = '16384'::REGCLASS"),
            "{out}"
        );
        let text = rewrite("SELECT 1 FROM pg_class c WHERE c.oid::regclass::text = 'members'");
        assert!(
            text.contains("WHERE d.cip_oid = c.oid), CAST(c.oid AS TEXT)) = 'members'"),
            "{text}"
        );
        let user = "SELECT x::regclass FROM t";
        assert_eq!(rewrite(user), "SELECT x::REGCLASS FROM t");
    }
}
