//! The catalog functions that give an object's SQL by its OID, answered from where cip keeps
//! it:
//! - `pg_get_viewdef(oid [, pretty])`: the view's SQL, which DataFusion keeps in
//!   information_schema.views (psql's `\d+ view`, `\sv`, DBeaver's view editor);
//! - `pg_get_indexdef(oid [, column, pretty])`: the index's `CREATE INDEX`, kept in
//!   pg_indexes (catalog/key_rows.rs: the primary keys' indexes) — psql's "Indexes:" of `\d`,
//!   SQLAlchemy's get_indexes; with a column number other than 0, that key column's name
//!   (quoted as needed), from pg_index.indkey and pg_attribute — pgjdbc's getIndexInfo;
//! - `pg_get_constraintdef(oid [, pretty])`: `PRIMARY KEY (…)` / `FOREIGN KEY (…) REFERENCES
//!   t(…)` from pg_constraint's keys (catalog/key_rows.rs) — psql's "Foreign-key constraints:"
//!   and "Referenced by:", SQLAlchemy's get_foreign_keys (which parses this text); '' for a
//!   constraint of another kind, as datafusion-pg-catalog's function gave for all, NULL
//!   for no constraint;
//! - `obj_description(oid [, catalog])` / `col_description(table, column)`: what COMMENT ON
//!   said, from pg_description (catalog/descriptions.rs) — psql's `\d+`, SQLAlchemy's
//!   get_table_comment and get_columns' `comment`, dbt's catalog.

use super::ast::{called, fill, plain_args, template};
use datafusion::sql::sqlparser::ast::{visit_expressions_mut, Expr, Statement, Value};
use datafusion_postgres::datafusion_pg_catalog::sql::rules::SqlStatementRewriteRule;
use std::ops::ControlFlow;
use std::sync::LazyLock;

/// `(SELECT max(d.cip_text) FROM (<rows>) d WHERE <match>)`: `rows` give every object's
/// `cip_oid` (and for an index column `cip_position`) and `cip_text` without reading the
/// caller's values, and the caller's arguments meet only those names — an unqualified
/// argument (psql's `pg_get_constraintdef(oid, true)`) then still means the caller's column,
/// not one of the catalog tables the rows are read from.
pub(super) fn lookup(rows: &str, matching: &str) -> Expr {
    template(&format!(
        "(SELECT max(d.cip_text) FROM ({rows}) d WHERE {matching})"
    ))
}

/// Each constraint's key columns' names, in key order, from `$1` (conkey or confkey) and the
/// table `$2` (conrelid or confrelid): a relation (oid, names).
const KEY_NAMES: &str =
    "(SELECT k.oid, string_agg(quote_ident(a.attname), ', ' ORDER BY k.pos) AS names \
     FROM (SELECT kc.oid, kc.$2 AS rel, (information_schema._pg_expandarray(kc.$1)).n AS pos, \
     (information_schema._pg_expandarray(kc.$1)).x AS attnum \
     FROM pg_catalog.pg_constraint kc WHERE kc.contype IN ('p', 'f')) k \
     JOIN pg_catalog.pg_attribute a ON a.attrelid = k.rel AND a.attnum = k.attnum \
     GROUP BY k.oid)";

/// (function, the subquery that answers it for the OID `$1`).
static DEFINITIONS: LazyLock<[(&str, Expr); 5]> = LazyLock::new(|| {
    let keys = |column: &str, table: &str| KEY_NAMES.replace("$1", column).replace("$2", table);
    let by_oid = "d.cip_oid = $1";
    [
        (
            "pg_get_viewdef",
            lookup(
                "SELECT vc.oid AS cip_oid, cip_view_query(v.definition) AS cip_text \
                 FROM information_schema.views v \
                 JOIN pg_catalog.pg_namespace vn ON vn.nspname = v.table_schema \
                 JOIN pg_catalog.pg_class vc \
                 ON vc.relname = v.table_name AND vc.relnamespace = vn.oid",
                by_oid,
            ),
        ),
        (
            "pg_get_indexdef",
            lookup(
                "SELECT ic.oid AS cip_oid, x.indexdef AS cip_text FROM pg_catalog.pg_indexes x \
                 JOIN pg_catalog.pg_class ic ON ic.relname = x.indexname \
                 JOIN pg_catalog.pg_namespace ns \
                 ON ns.oid = ic.relnamespace AND ns.nspname = x.schemaname",
                by_oid,
            ),
        ),
        (
            "pg_get_constraintdef",
            lookup(
                &format!(
                    "SELECT c.oid AS cip_oid, coalesce(CASE c.contype \
                     WHEN 'p' THEN 'PRIMARY KEY (' || own.names || ')' \
                     WHEN 'f' THEN 'FOREIGN KEY (' || own.names || ') REFERENCES ' \
                     || quote_ident(pc.relname) || '(' || parent.names || ')' END, '') \
                     AS cip_text \
                     FROM pg_catalog.pg_constraint c \
                     LEFT JOIN {} own ON own.oid = c.oid \
                     LEFT JOIN {} parent ON parent.oid = c.oid \
                     LEFT JOIN pg_catalog.pg_class pc ON pc.oid = c.confrelid",
                    keys("conkey", "conrelid"),
                    keys("confkey", "confrelid"),
                ),
                by_oid,
            ),
        ),
        (
            "obj_description",
            lookup(
                "SELECT od.objoid AS cip_oid, od.description AS cip_text \
                 FROM pg_catalog.pg_description od WHERE od.objsubid = 0",
                by_oid,
            ),
        ),
        (
            "col_description",
            lookup(
                "SELECT cd.objoid AS cip_oid, cd.objsubid AS cip_position, \
                 cd.description AS cip_text FROM pg_catalog.pg_description cd",
                "d.cip_oid = $1 AND d.cip_position = $2",
            ),
        ),
    ]
});

/// `pg_get_indexdef(oid, column, pretty)`: the whole definition (`$3`) for column 0, else the
/// name of key column `$2`. The subquery compares its own columns with the outer values by
/// equality only, the one correlation DataFusion decorrelates under an aggregate.
static INDEX_COLUMN: LazyLock<Expr> = LazyLock::new(|| {
    let column = lookup(
        "SELECT k.idx AS cip_oid, k.pos AS cip_position, quote_ident(a.attname) AS cip_text \
         FROM (SELECT xi.indrelid AS rel, xi.indexrelid AS idx, \
         (information_schema._pg_expandarray(xi.indkey)).n AS pos, \
         (information_schema._pg_expandarray(xi.indkey)).x AS attnum \
         FROM pg_catalog.pg_index xi) k \
         JOIN pg_catalog.pg_attribute a ON a.attrelid = k.rel AND a.attnum = k.attnum",
        "d.cip_oid = $1 AND d.cip_position = $2",
    );
    let case = template("CASE WHEN $2 = 0 THEN $3 ELSE $4 END");
    // Placeholders given for themselves stay for the call's own fill.
    let same = |n: &str| template(n);
    fill(&case, &[same("$1"), same("$2"), same("$3"), column])
});

/// A literal 0 (psql's and SQLAlchemy's whole-definition calls).
fn is_zero(e: &Expr) -> bool {
    matches!(e, Expr::Value(v) if matches!(&v.value, Value::Number(n, _) if n == "0"))
}

#[derive(Debug)]
pub struct Definitions;

impl SqlStatementRewriteRule for Definitions {
    fn rewrite(&self, mut s: Statement) -> Statement {
        let _ = visit_expressions_mut(&mut s, |expr| {
            let found = called(expr).and_then(|(name, f)| {
                let (_, subquery) = DEFINITIONS.iter().find(|(n, _)| *n == name)?;
                let args = plain_args(f)?;
                let given: Vec<Expr> = args.iter().map(|a| (*a).clone()).collect();
                let whole = fill(subquery, &given);
                match (name.as_str(), args.as_slice()) {
                    ("pg_get_indexdef", [oid, column, _]) if !is_zero(column) => Some(fill(
                        &INDEX_COLUMN,
                        &[(*oid).clone(), (*column).clone(), whole],
                    )),
                    _ => Some(whole),
                }
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

    fn rewrite(sql: &str) -> String {
        Definitions.rewrite(super::super::parse(sql)).to_string()
    }

    #[test]
    fn viewdef_reads_information_schema() {
        assert_eq!(
            rewrite("SELECT pg_catalog.pg_get_viewdef('16390'::oid, true)"),
            "SELECT (SELECT max(d.cip_text) FROM (SELECT vc.oid AS cip_oid, \
             cip_view_query(v.definition) AS cip_text FROM information_schema.views v \
             JOIN pg_catalog.pg_namespace vn ON vn.nspname = v.table_schema \
             JOIN pg_catalog.pg_class vc \
             ON vc.relname = v.table_name AND vc.relnamespace = vn.oid) d \
             WHERE d.cip_oid = '16390'::oid)"
        );
    }

    #[test]
    fn indexdef_reads_pg_indexes() {
        let out =
            rewrite("SELECT pg_catalog.pg_get_indexdef(i.indexrelid, 0, true) FROM pg_index i");
        assert!(
            out.starts_with(
                "SELECT (SELECT max(d.cip_text) FROM (SELECT ic.oid AS cip_oid, x.indexdef"
            ),
            "{out}"
        );
        assert!(
            out.ends_with("WHERE d.cip_oid = i.indexrelid) FROM pg_index i"),
            "{out}"
        );
    }

    #[test]
    fn an_index_column_reads_the_key() {
        let out = rewrite("SELECT pg_get_indexdef(t.oid, t.pos, false) FROM t");
        assert!(
            out.starts_with("SELECT CASE WHEN t.pos = 0 THEN (SELECT max(d.cip_text)"),
            "{out}"
        );
        assert!(
            out.ends_with("WHERE d.cip_oid = t.oid AND d.cip_position = t.pos) END FROM t"),
            "{out}"
        );
    }

    #[test]
    fn an_unqualified_argument_stays_the_callers() {
        // The argument is compared with the derived table's own names only, so `oid` here
        // can only be the caller's pg_constraint.oid.
        let out = rewrite("SELECT pg_get_constraintdef(oid, true) FROM pg_constraint");
        assert!(
            out.ends_with(") d WHERE d.cip_oid = oid) FROM pg_constraint"),
            "{out}"
        );
    }
}
