//! A name cast to an OID type — `'members'::regclass`, `'int4'::regtype`, `'yuan'::regproc`,
//! `'public'::regnamespace`, a literal or a parameter — becomes a lookup in the catalog that
//! answers as PostgreSQL's input functions do: an unqualified relation is searched in
//! pg_catalog and then the current schema (psql asks `'pg_class'::regclass`), a quoted or
//! schema-qualified one by its parts, a number is that OID, and a name nothing has is
//! PostgreSQL's error (catalog/reg_found.rs) rather than a NULL that lets an existence check
//! pass. Replaces datafusion-pg-catalog's RewriteRegCastToSubquery, which searched the current
//! schema only and gave NULL.

use super::ast::{call, fill, string, template};
use crate::catalog::reg_found::{AMBIGUOUS, NAME};
use datafusion::sql::sqlparser::ast::{
    visit_expressions_mut, DataType, Expr, Statement, Value, ValueWithSpan,
};
use datafusion_postgres::datafusion_pg_catalog::sql::rules::SqlStatementRewriteRule;
use std::ops::ControlFlow;
use std::sync::LazyLock;

#[derive(Debug)]
pub struct RegLookups;

/// The reg* type a cast names (`regclass`, `pg_catalog.regclass`, `"regclass"`, …), if any.
pub(crate) fn reg_kind(t: &DataType) -> Option<&'static str> {
    let name = match t {
        DataType::Regclass => "regclass".to_string(),
        DataType::Custom(name, args) if args.is_empty() => name
            .0
            .last()?
            .to_string()
            .trim_matches('"')
            .to_ascii_lowercase(),
        _ => return None,
    };
    [
        "regclass",
        "regtype",
        "regproc",
        "regprocedure",
        "regnamespace",
        "regrole",
    ]
    .into_iter()
    .find(|k| *k == name)
}

/// `$1` is the name (text). Each lookup yields one OID, or none.
static RELATION: LazyLock<Expr> = LazyLock::new(|| {
    // pg_catalog's relation first, as its place first on the search path gives it.
    template(
        "(SELECT coalesce(min(CASE WHEN n.nspname = 'pg_catalog' THEN c.oid END), min(c.oid)) \
         FROM pg_catalog.pg_class c \
         JOIN pg_catalog.pg_namespace n ON c.relnamespace = n.oid \
         CROSS JOIN (SELECT parse_ident(CAST($1 AS TEXT)) AS parts) p \
         WHERE (array_length(p.parts, 1) = 1 AND c.relname = p.parts[1] \
                AND n.nspname IN ('pg_catalog', current_schema())) \
            OR (array_length(p.parts, 1) = 2 AND n.nspname = p.parts[1] \
                AND c.relname = p.parts[2]))",
    )
});
static TYPE: LazyLock<Expr> = LazyLock::new(|| {
    // pgspecial's \df compares with 'pg_catalog.trigger'::pg_catalog.regtype.
    template(
        "coalesce(to_regtype(CAST($1 AS TEXT)), \
         (SELECT min(t.oid) FROM pg_catalog.pg_type t \
          WHERE t.typname = regexp_replace(CAST($1 AS TEXT), '^\"?pg_catalog\"?[.]', '')))",
    )
});
/// Several signatures of the name are ambiguous; one signature listed twice (a function cip
/// defines that PostgreSQL's built-ins list too, such as now()) is one function.
static FUNCTION: LazyLock<Expr> = LazyLock::new(|| {
    template(&format!(
        "(SELECT CASE WHEN count(DISTINCT coalesce(p.proargtypes, '')) > 1 \
         THEN {AMBIGUOUS} ELSE min(p.oid) END \
         FROM pg_catalog.pg_proc p WHERE p.proname = CAST($1 AS TEXT))"
    ))
});
/// `$1` the function's name, `$2` its argument types' OIDs as pg_proc.proargtypes spells them.
/// A signature names one function; where pg_proc lists it twice (a function cip defines that
/// PostgreSQL's built-ins list too, such as now()), the first is it.
static PROCEDURE: LazyLock<Expr> = LazyLock::new(|| {
    template(
        "(SELECT min(p.oid) FROM pg_catalog.pg_proc p \
         WHERE p.proname = $1 AND coalesce(p.proargtypes, '') = $2)",
    )
});
static SCHEMA: LazyLock<Expr> = LazyLock::new(|| {
    template(
        "(SELECT min(n.oid) FROM pg_catalog.pg_namespace n WHERE n.nspname = CAST($1 AS TEXT))",
    )
});
static ROLE: LazyLock<Expr> = LazyLock::new(|| {
    template("(SELECT min(r.oid) FROM pg_catalog.pg_roles r WHERE r.rolname = CAST($1 AS TEXT))")
});

/// `'name(type, …)'::regprocedure`: the function of that name whose argument types are those
/// (each type looked up as `'type'::regtype` is, with its error when `checked`), as
/// PostgreSQL's regprocedurein finds it. A text that is not a name and a parenthesised list
/// finds nothing.
pub(super) fn procedure(signature: &str, checked: bool) -> Expr {
    let parsed = signature.split_once('(').and_then(|(name, rest)| {
        let args = rest.trim_end().strip_suffix(')')?;
        let name = name.trim();
        let name = name.strip_prefix("pg_catalog.").unwrap_or(name);
        let types: Vec<&str> = args
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .collect();
        Some((name.trim_matches('"').to_string(), types))
    });
    let Some((name, types)) = parsed else {
        return match checked {
            true => call(
                NAME,
                vec![null(), string(signature), string("regprocedure")],
            ),
            false => null(),
        };
    };
    let oids: Vec<Expr> = types
        .iter()
        .map(|t| {
            let found = fill(&TYPE, &[string(t)]);
            let oid = match checked {
                true => call(NAME, vec![found, string(t), string("regtype")]),
                false => found,
            };
            fill(&template("CAST($1 AS TEXT)"), &[oid])
        })
        .collect();
    let listed = match oids.is_empty() {
        true => string(""),
        false => call(
            "concat_ws",
            std::iter::once(string(" ")).chain(oids).collect(),
        ),
    };
    let found = fill(&PROCEDURE, &[string(&name), listed]);
    match checked {
        true => call(NAME, vec![found, string(signature), string("regprocedure")]),
        false => found,
    }
}

fn null() -> Expr {
    Expr::Value(ValueWithSpan::from(Value::Null))
}

/// The lookup of `name` for `kind` (not regprocedure): its OID, NULL when nothing has the
/// name, and for regproc -1 when several functions do.
pub(super) fn found(kind: &str, name: &Expr) -> Expr {
    let found = match kind {
        "regclass" => &RELATION,
        "regtype" => &TYPE,
        "regproc" => &FUNCTION,
        "regrole" => &ROLE,
        _ => &SCHEMA,
    };
    fill(found, std::slice::from_ref(name))
}

/// The lookup of `name` for `kind`, with PostgreSQL's error when it finds nothing.
fn lookup(kind: &str, name: &Expr) -> Expr {
    call(NAME, vec![found(kind, name), name.clone(), string(kind)])
}

/// The rewritten cast, when it casts a name (a string or a parameter) to a reg* type.
fn rewritten(e: &Expr) -> Option<Expr> {
    let Expr::Cast {
        expr, data_type, ..
    } = e
    else {
        return None;
    };
    let kind = reg_kind(data_type)?;
    match expr.as_ref() {
        Expr::Value(ValueWithSpan {
            value: Value::SingleQuotedString(s),
            ..
        }) => Some(
            match !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                // A number is the OID itself, as PostgreSQL's input functions take it.
                true => Expr::Value(Value::Number(s.clone(), false).into()),
                false if kind == "regprocedure" => procedure(s, true),
                false => lookup(kind, expr),
            },
        ),
        // A parameter's signature cannot be taken apart here: left to the cast's error.
        Expr::Value(ValueWithSpan {
            value: Value::Placeholder(_),
            ..
        }) if kind != "regprocedure" => Some(lookup(kind, expr)),
        _ => None,
    }
}

/// The lookup, still cast to its reg* type: a result column of it is described as that type
/// and shown by name (names.rs, reg_names.rs), a regclass cast to text is named by
/// regclass_names, and it stays a number when compared.
pub(super) fn still_reg(cast: &Expr, lookup: Expr) -> Expr {
    match cast {
        Expr::Cast { data_type, .. } if reg_kind(data_type).is_some() => {
            let mut out = cast.clone();
            if let Expr::Cast { expr, .. } = &mut out {
                **expr = lookup;
            }
            out
        }
        _ => lookup,
    }
}

impl SqlStatementRewriteRule for RegLookups {
    fn rewrite(&self, mut s: Statement) -> Statement {
        let _ = visit_expressions_mut(&mut s, |e| {
            if let Some(lookup) = rewritten(e) {
                *e = still_reg(e, lookup);
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
        RegLookups.rewrite(super::super::parse(sql)).to_string()
    }

    #[test]
    fn names_become_checked_lookups() {
        let out = rewrite("SELECT 'members'::regclass, 'int4'::pg_catalog.regtype");
        assert!(
            out.contains("cip_reg_found((SELECT coalesce(min(CASE WHEN n.nspname"),
            "{out}"
        );
        assert!(out.contains("'members', 'regclass')"), "{out}");
        assert!(out.contains("to_regtype(CAST('int4' AS TEXT))"), "{out}");
        assert!(out.contains("'int4', 'regtype')"), "{out}");
        let out = rewrite("SELECT 'abs(integer)'::regprocedure, 'now()'::regprocedure");
        assert!(out.contains("p.proname = 'abs'"), "{out}");
        assert!(out.contains("to_regtype(CAST('integer' AS TEXT))"), "{out}");
        assert!(
            out.contains("p.proname = 'now' AND coalesce(p.proargtypes, '') = ''"),
            "{out}"
        );
        assert!(out.contains("'abs(integer)', 'regprocedure')"), "{out}");
        let out = rewrite("SELECT $1::regproc, 'public'::regnamespace");
        assert!(out.contains("p.proname = CAST($1 AS TEXT)"), "{out}");
        assert!(out.contains("'public', 'regnamespace')"), "{out}");
    }

    #[test]
    fn numbers_and_columns_are_left_as_oids() {
        assert_eq!(rewrite("SELECT '1259'::regclass"), "SELECT 1259::REGCLASS");
        let out = rewrite("SELECT c.oid::regclass FROM pg_class c");
        assert_eq!(out, "SELECT c.oid::REGCLASS FROM pg_class c");
    }
}
