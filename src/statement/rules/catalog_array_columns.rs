//! Catalog array columns as datafusion-pg-catalog stores them, in catalog queries only:
//! - the access lists (`relacl`, `proacl`, …) and `pg_class.reloptions` read as NULL arrays,
//!   which is what PostgreSQL has for default privileges and no storage options (the
//!   catalog keeps them as text, or lacks the column);
//! - the int2vector / oidvector columns (`indkey`, `proargtypes`, …) are space-separated
//!   text, and the array columns of pg_constraint (`conkey`, `confkey`, …) Arrow's text of a
//!   list (`[1, 2]`), so `unnest(conkey)` and `generate_subscripts(indkey, 1)` are spelled
//!   over `string_to_array` of the one or the other.

use super::ast::{called, fill, plain_args, reads_catalog, template};
use datafusion::sql::sqlparser::ast::{visit_expressions_mut, Expr, Statement};
use datafusion_postgres::datafusion_pg_catalog::sql::rules::SqlStatementRewriteRule;
use std::ops::ControlFlow;
use std::sync::LazyLock;

const NULL_ARRAY_COLUMNS: &[&str] = &[
    "reloptions",
    "proacl",
    "relacl",
    "nspacl",
    "attacl",
    "datacl",
    "typacl",
    "lanacl",
    "spcacl",
    "fdwacl",
    "srvacl",
    "defaclacl",
];

/// int2vector / oidvector columns: space-separated text.
const VECTOR_COLUMNS: &[&str] = &[
    "indkey",
    "indclass",
    "indcollation",
    "indoption",
    "proargtypes",
    "stxkeys",
];

/// Array columns datafusion-pg-catalog keeps as the text of an Arrow list (`[1, 2]`).
const LIST_COLUMNS: &[&str] = &[
    "conkey",
    "confkey",
    "conpfeqop",
    "conppeqop",
    "conffeqop",
    "conexclop",
    "polroles",
];

/// Of those, the ones holding OIDs (which need more than a smallint); the rest hold column
/// numbers.
const OID_COLUMNS: &[&str] = &[
    "indclass",
    "indcollation",
    "proargtypes",
    "conpfeqop",
    "conppeqop",
    "conffeqop",
    "conexclop",
    "polroles",
];

static NULL_ARRAY: LazyLock<Expr> = LazyLock::new(|| template("CAST(NULL AS TEXT[])"));
static SPACED: LazyLock<Expr> = LazyLock::new(|| template("string_to_array($1, ' ')"));
static LISTED: LazyLock<Expr> =
    LazyLock::new(|| template("string_to_array(NULLIF(btrim($1, '[]'), ''), ', ')"));
static SMALLINTS: LazyLock<Expr> = LazyLock::new(|| template("CAST($1 AS SMALLINT[])"));
static OIDS: LazyLock<Expr> = LazyLock::new(|| template("CAST($1 AS BIGINT[])"));

/// The column's elements as integers of their kind.
fn typed(column: &Expr) -> Option<Expr> {
    let array = as_array(column)?;
    let name = column_name(column)?;
    let cast = match OID_COLUMNS.contains(&name.as_str()) {
        true => &OIDS,
        false => &SMALLINTS,
    };
    Some(fill(cast, &[array]))
}

/// Array functions a column may be the array of; `x = ANY(ix.indkey)` (SQLAlchemy 1.4's index
/// reflection) arrives here as `array_contains(ix.indkey, x)` (RewriteArrayAnyAllOperation).
const ARRAY_FUNCTIONS: &[&str] = &[
    "array_contains",
    "array_has",
    "array_has_all",
    "array_has_any",
    "array_position",
    "array_length",
    "array_upper",
    "array_lower",
    "cardinality",
];
// A vector has one dimension: subscripts 1..n for dimension 1, none for any other. The
// dimension stays in the statement: it may be a parameter, numbered by position.
static SUBSCRIPTS: LazyLock<Expr> = LazyLock::new(|| {
    template(
        "unnest(range(1, CASE WHEN $2 = 1 \
         THEN CAST(array_length($1, 1) AS BIGINT) + 1 ELSE 1 END))",
    )
});

#[derive(Debug)]
pub struct CatalogArrayColumns;

fn column_name(expr: &Expr) -> Option<String> {
    match expr {
        Expr::CompoundIdentifier(parts) => parts.last().map(|p| p.value.to_ascii_lowercase()),
        Expr::Identifier(ident) => Some(ident.value.to_ascii_lowercase()),
        _ => None,
    }
}

/// The column as a text array, when it is a vector or list column.
fn as_array(expr: &Expr) -> Option<Expr> {
    let name = column_name(expr)?;
    if VECTOR_COLUMNS.contains(&name.as_str()) {
        Some(fill(&SPACED, std::slice::from_ref(expr)))
    } else if LIST_COLUMNS.contains(&name.as_str()) {
        Some(fill(&LISTED, std::slice::from_ref(expr)))
    } else {
        None
    }
}

/// `unnest(v)` / `generate_subscripts(v, d)` over a vector or list column, spelled for text.
fn vector_function(expr: &Expr) -> Option<Expr> {
    let (name, f) = called(expr)?;
    let args = plain_args(f)?;
    match (name.as_str(), args.as_slice()) {
        ("unnest", [column]) => Some(super::ast::call("unnest", vec![typed(column)?])),
        ("generate_subscripts", [column, dimension]) => Some(fill(
            &SUBSCRIPTS,
            &[as_array(column)?, (*dimension).clone()],
        )),
        ("generate_subscripts", [column]) => Some(fill(
            &SUBSCRIPTS,
            &[as_array(column)?, super::ast::number(1)],
        )),
        (f, [column, rest @ ..]) if ARRAY_FUNCTIONS.contains(&f) => {
            let array = typed(column)?;
            let args = std::iter::once(array).chain(rest.iter().map(|e| (*e).clone()));
            Some(super::ast::call(f, args.collect()))
        }
        _ => None,
    }
}

impl SqlStatementRewriteRule for CatalogArrayColumns {
    fn rewrite(&self, mut s: Statement) -> Statement {
        if !reads_catalog(&s) {
            return s;
        }
        let _ = visit_expressions_mut(&mut s, |expr| {
            if column_name(expr).is_some_and(|c| NULL_ARRAY_COLUMNS.contains(&c.as_str())) {
                *expr = NULL_ARRAY.clone();
            } else if let Some(spelled) = vector_function(expr) {
                *expr = spelled;
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
        CatalogArrayColumns
            .rewrite(super::super::parse(sql))
            .to_string()
    }

    #[test]
    fn vectors_and_access_lists_in_catalog_queries() {
        assert_eq!(
            rewrite("SELECT unnest(i.indkey), c.relacl FROM pg_catalog.pg_index i, pg_class c"),
            "SELECT unnest(CAST(string_to_array(i.indkey, ' ') AS SMALLINT[])), \
             CAST(NULL AS TEXT[]) FROM pg_catalog.pg_index i, pg_class c"
        );
        let out = rewrite("SELECT generate_subscripts(conkey, $1) FROM pg_constraint");
        assert!(out.contains("CASE WHEN $1 = 1"), "{out}");
        // Not a catalog query: a user's own column of that name is left alone.
        let out = rewrite("SELECT unnest(c.conkey) FROM pg_constraint c");
        assert_eq!(
            out,
            "SELECT unnest(CAST(string_to_array(NULLIF(btrim(c.conkey, '[]'), ''), ', ') \
             AS SMALLINT[])) FROM pg_constraint c"
        );
        let out =
            rewrite("SELECT array_contains(ix.indkey, a.attnum) FROM pg_index ix, pg_attribute a");
        assert_eq!(
            out,
            "SELECT array_contains(CAST(string_to_array(ix.indkey, ' ') AS SMALLINT[]), a.attnum) \
             FROM pg_index ix, pg_attribute a"
        );
        let user = "SELECT unnest(indkey), relacl FROM my_table";
        assert_eq!(rewrite(user), user);
    }
}
