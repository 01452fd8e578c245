//! The functions whose arguments PostgreSQL resolves as reg* names.
//!
//! - `to_regclass(text)`, `to_regproc`, `to_regprocedure`, `to_regnamespace`, `to_regrole`:
//!   the lookup a `'name'::regclass` cast does (reg_lookups.rs), but NULL where it finds
//!   nothing (and for regproc, where several functions share the name) instead of the
//!   cast's error — what clients use to test whether an object exists. Still typed as the
//!   reg* type, so a result column prints the name. (`to_regtype` was an integer: the lookup
//!   of a type calls the function of that name in catalog/functions.rs, which this rule
//!   leaves alone inside what it writes.)
//! - A string literal given to a function that takes a `regclass`
//!   (`pg_total_relation_size('members')`, `row_security_active('members')`,
//!   `has_table_privilege('ana', 'members', 'SELECT')`): PostgreSQL
//!   reads the untyped literal as that type, so a name is looked up, with its error when no
//!   relation has it, rather than refused as text or taken as nothing.

use super::ast::{called, null, plain_args};
use super::reg_lookups::{found, procedure, still_reg};
use datafusion::sql::sqlparser::ast::{
    visit_expressions_mut, DataType, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Ident,
    ObjectName, Statement, Value, ValueWithSpan,
};
use datafusion_postgres::datafusion_pg_catalog::sql::rules::SqlStatementRewriteRule;
use std::ops::ControlFlow;

#[derive(Debug)]
pub struct RegFunctions;

/// `to_reg*` functions by the type they look up.
const LOOKUPS: &[(&str, &str)] = &[
    ("to_regclass", "regclass"),
    ("to_regproc", "regproc"),
    ("to_regprocedure", "regprocedure"),
    ("to_regtype", "regtype"),
    ("to_regnamespace", "regnamespace"),
    ("to_regrole", "regrole"),
];

/// Functions with a `regclass` argument in PostgreSQL, and how many arguments they have
/// when it is the first: with one more (a user first) it is the second.
const TAKE_REGCLASS: &[(&str, usize)] = &[
    ("pg_relation_size", 1),
    ("pg_total_relation_size", 1),
    ("pg_table_size", 1),
    ("pg_indexes_size", 1),
    ("row_security_active", 1),
    ("has_table_privilege", 2),
    ("has_any_column_privilege", 2),
    ("has_column_privilege", 3),
];

fn reg_type(kind: &str) -> DataType {
    match kind {
        "regclass" => DataType::Regclass,
        _ => DataType::Custom(ObjectName::from(vec![Ident::new(kind)]), vec![]),
    }
}

fn cast_to(expr: Expr, kind: &str) -> Expr {
    super::ast::cast(expr, reg_type(kind))
}

fn literal(e: &Expr) -> Option<&str> {
    match e {
        Expr::Value(ValueWithSpan {
            value: Value::SingleQuotedString(s),
            ..
        }) => Some(s),
        _ => None,
    }
}

/// `to_reg*(name)` as an unchecked lookup, cast to its reg* type.
fn to_reg(kind: &str, name: &Expr) -> Expr {
    let found = match (kind, literal(name)) {
        ("regprocedure", Some(signature)) => procedure(signature, false),
        // A signature held in a column or parameter cannot be taken apart here.
        ("regprocedure", None) => null(),
        // Several functions of the name: PostgreSQL's to_regproc answers NULL.
        ("regproc", _) => super::ast::call(
            "nullif",
            vec![
                found(kind, name),
                super::ast::number(crate::catalog::reg_found::AMBIGUOUS),
            ],
        ),
        _ => found(kind, name),
    };
    let cast = cast_to(null(), kind);
    still_reg(&cast, found)
}

/// A name the lookup can take: a literal, a parameter or NULL. A column is not: the lookup is
/// a subquery over pg_class (and the others), where a column of the caller's named like one of
/// theirs (`relname`) would be read from the catalog's row instead; such a call is left to
/// the function of its name, which refuses it (catalog/reg_functions.rs).
fn lookable(e: &Expr) -> bool {
    matches!(
        e,
        Expr::Value(ValueWithSpan {
            value: Value::SingleQuotedString(_) | Value::Placeholder(_) | Value::Null,
            ..
        })
    )
}

fn rewritten(e: &mut Expr) -> Option<Expr> {
    let (name, f) = called(e)?;
    if let Some((_, kind)) = LOOKUPS.iter().find(|(n, _)| *n == name) {
        let args = plain_args(f)?;
        let [arg] = args.as_slice() else {
            return None;
        };
        // to_regtype of a column keeps catalog/functions.rs's function (no subquery).
        return lookable(arg).then(|| to_reg(kind, arg));
    }
    let (_, first_form) = TAKE_REGCLASS.iter().find(|(n, _)| *n == name)?;
    let Expr::Function(f) = e else {
        return None;
    };
    let FunctionArguments::List(list) = &mut f.args else {
        return None;
    };
    let at = match list.args.len() {
        n if n == *first_form => 0,
        n if n == first_form + 1 => 1,
        _ => return None,
    };
    let Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(table))) = list.args.get_mut(at) else {
        return None;
    };
    literal(table)?;
    *table = cast_to(table.clone(), "regclass");
    None
}

impl SqlStatementRewriteRule for RegFunctions {
    fn rewrite(&self, mut s: Statement) -> Statement {
        let _ = visit_expressions_mut(&mut s, |e| {
            if let Some(lookup) = rewritten(e) {
                *e = lookup;
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
        RegFunctions.rewrite(super::super::parse(sql)).to_string()
    }

    #[test]
    fn to_reg_functions_become_unchecked_lookups() {
        let out = rewrite("SELECT to_regclass('members'), to_regrole($1) FROM t");
        assert!(out.contains("CAST((SELECT coalesce(min(CASE"), "{out}");
        assert!(
            out.contains("pg_roles r WHERE r.rolname = CAST($1 AS TEXT)"),
            "{out}"
        );
        assert!(!out.contains("cip_reg_found"), "{out}");
        assert_eq!(
            rewrite("SELECT has_table_privilege('ana', 'members', 'SELECT'), has_column_privilege('members', 'tier', 'UPDATE')"),
            "SELECT has_table_privilege('ana', CAST('members' AS REGCLASS), 'SELECT'), \
             has_column_privilege(CAST('members' AS REGCLASS), 'tier', 'UPDATE')"
        );
        let out = rewrite("SELECT to_regproc('abs'), to_regprocedure('abs(integer)')");
        assert!(
            out.contains("nullif((SELECT CASE WHEN count(DISTINCT"),
            "{out}"
        );
        assert!(out.contains("p.proname = 'abs' AND"), "{out}");
    }

    #[test]
    fn columns_are_left_to_the_functions() {
        let sql = "SELECT to_regclass(relname), to_regtype(t) FROM pg_class";
        assert_eq!(rewrite(sql), sql);
    }

    #[test]
    fn regclass_arguments_are_read_as_regclass() {
        assert_eq!(
            rewrite("SELECT pg_total_relation_size('members'), pg_relation_size(c.oid) FROM c"),
            "SELECT pg_total_relation_size(CAST('members' AS REGCLASS)), \
             pg_relation_size(c.oid) FROM c"
        );
    }
}
