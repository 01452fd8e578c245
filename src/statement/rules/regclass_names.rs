//! A regclass cast to text: the relation's name, as PostgreSQL's regclass output prints it.
//! DataFusion has no reg* types, so `c.oid::regclass::text = 'members'` compared the number's
//! text. In catalog queries, `x::regclass::text` becomes the relation's name from pg_class —
//! quoted where needed and qualified when outside `public` and `pg_catalog`, the schemas on
//! cip's search path — or the number for an OID no relation has, as PostgreSQL prints a
//! dangling one. A regclass compared or joined stays a number (that is what it is); one shown
//! as a result column is printed by name on the way out (statement/reg_names.rs). A literal cast
//! (`'members'::regclass`) is looked up first (reg_lookups.rs).

use super::ast::{fill, reads_catalog, template};
use datafusion::sql::sqlparser::ast::{visit_expressions_mut, DataType, Expr, Statement, Value};
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
    fn regclasses_as_text_become_names() {
        let out = rewrite(
            "SELECT conrelid::regclass::text AS ontable, confrelid::regclass \
             FROM pg_catalog.pg_constraint c WHERE c.conrelid = '16384'::regclass",
        );
        assert!(
            out.contains("WHERE d.cip_oid = conrelid), CAST(conrelid AS TEXT)) AS ontable"),
            "{out}"
        );
        // A regclass shown as a column (printed by name on the way out), a literal (a name
        // to look up) and a comparison are left alone.
        assert!(out.contains(", confrelid::REGCLASS FROM"), "{out}");
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
