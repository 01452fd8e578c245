//! Comparisons with the catalogs' regproc columns (`typinput`, `typreceive`, …). PostgreSQL
//! stores a function's OID there and prints its name, '-' for none; cip's catalog holds the
//! printed form. ADBC's PostgreSQL driver connects with `WHERE typreceive != 0` and pgjdbc
//! asks `typinput = 'array_in'::regproc`; both failed as a text compared with a number. The
//! number 0 becomes '-', and a name cast to regproc the name.

use super::ast::name_parts;
use datafusion::sql::sqlparser::ast::{
    visit_expressions_mut, BinaryOperator, DataType, Expr, Statement, Value, ValueWithSpan,
};
use datafusion_postgres::datafusion_pg_catalog::sql::rules::SqlStatementRewriteRule;
use std::ops::ControlFlow;

/// The regproc columns of pg_type, pg_proc, pg_operator and pg_aggregate.
const REGPROC_COLUMNS: &[&str] = &[
    "typinput",
    "typoutput",
    "typreceive",
    "typsend",
    "typmodin",
    "typmodout",
    "typanalyze",
    "typsubscript",
    "prosupport",
    "oprcode",
    "oprrest",
    "oprjoin",
    "aggtransfn",
    "aggfinalfn",
    "aggcombinefn",
    "aggserialfn",
    "aggdeserialfn",
];

#[derive(Debug)]
pub struct RegprocColumns;

fn is_regproc_column(e: &Expr) -> bool {
    let parts = match e {
        Expr::Identifier(i) => vec![i.value.to_lowercase()],
        Expr::CompoundIdentifier(ids) => ids.iter().map(|i| i.value.to_lowercase()).collect(),
        _ => return false,
    };
    parts
        .last()
        .is_some_and(|c| REGPROC_COLUMNS.contains(&c.as_str()))
}

fn is_regproc_name(n: &datafusion::sql::sqlparser::ast::ObjectName) -> bool {
    matches!(
        name_parts(n).last().map(String::as_str),
        Some("regproc" | "regprocedure")
    )
}

fn text(s: &str) -> Expr {
    Expr::Value(ValueWithSpan::from(Value::SingleQuotedString(
        s.to_string(),
    )))
}

/// What a regproc column holds for `e`, when `e` is 0 or `'name'::regproc`.
fn printed(e: &Expr) -> Option<Expr> {
    match e {
        Expr::Value(ValueWithSpan {
            value: Value::Number(n, _),
            ..
        }) if n == "0" => Some(text("-")),
        Expr::Cast {
            expr,
            data_type: DataType::Custom(n, a),
            ..
        } if a.is_empty() && is_regproc_name(n) => match expr.as_ref() {
            Expr::Value(ValueWithSpan {
                value: Value::SingleQuotedString(s),
                ..
            }) => Some(text(s)),
            _ => None,
        },
        _ => None,
    }
}

impl SqlStatementRewriteRule for RegprocColumns {
    fn rewrite(&self, mut s: Statement) -> Statement {
        let _ = visit_expressions_mut(&mut s, |e| {
            if let Expr::BinaryOp { left, op, right } = e {
                if matches!(op, BinaryOperator::Eq | BinaryOperator::NotEq) {
                    if is_regproc_column(left) {
                        if let Some(p) = printed(right) {
                            **right = p;
                        }
                    } else if is_regproc_column(right) {
                        if let Some(p) = printed(left) {
                            **left = p;
                        }
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

    #[test]
    fn regproc_columns_compare_with_their_printed_form() {
        let out = RegprocColumns.rewrite(super::super::parse(
            "SELECT oid FROM pg_type t WHERE (typreceive != 0 OR t.typsend <> 0) \
             AND typinput = 'array_in'::regproc AND 0 = typmodin AND typlen = 0",
        ));
        assert_eq!(
            out.to_string(),
            "SELECT oid FROM pg_type t WHERE (typreceive <> '-' OR t.typsend <> '-') \
             AND typinput = 'array_in' AND '-' = typmodin AND typlen = 0"
        );
    }
}
