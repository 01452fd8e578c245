//! `x::regtype::text`: a type's name, as PostgreSQL prints a regtype. DataFusion has no reg*
//! types — an OID cast to regtype stays a number, and its text was '20' where PostgreSQL
//! answers 'bigint' (asyncpg's type lookup names element and base types this way; pgjdbc and
//! psql print `prorettype::regtype::text`). The cast to text of a cast to regtype becomes
//! `format_type(x, NULL)`, which is how PostgreSQL's regtype output names a type; a cast to
//! regtype[] becomes pg_regtype_names(x), the same names element by element.

use super::ast::call;
use datafusion::sql::sqlparser::ast::{
    visit_expressions_mut, ArrayElemTypeDef, DataType, Expr, Statement, Value, ValueWithSpan,
};
use datafusion_postgres::datafusion_pg_catalog::sql::rules::SqlStatementRewriteRule;
use std::ops::ControlFlow;

#[derive(Debug)]
pub struct RegtypeText;

fn is_text(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Text | DataType::Varchar(_) | DataType::CharacterVarying(_) | DataType::String(_)
    ) || matches!(t, DataType::Custom(n, _) if n.to_string().eq_ignore_ascii_case("name"))
}

fn is_regtype(t: &DataType) -> bool {
    matches!(t, DataType::Custom(n, args) if args.is_empty()
        && n.to_string().trim_matches('"').eq_ignore_ascii_case("regtype"))
}

/// The cast to regtype inside a cast to text, if `e` is one. The cast is kept: a name
/// (`'int4'::regtype`) is looked up by reg_lookups, after this rule.
fn regtype_of_text(e: &Expr) -> Option<&Expr> {
    let Expr::Cast {
        expr, data_type, ..
    } = e
    else {
        return None;
    };
    if !is_text(data_type) {
        return None;
    }
    match expr.as_ref() {
        cast @ Expr::Cast { data_type, .. } if is_regtype(data_type) => Some(cast),
        _ => None,
    }
}

/// The expression cast to regtype[], if `e` is that cast: a regtype[]'s elements print as
/// type names too (pgcli's `proargtypes::regtype[]`).
fn regtype_array(e: &Expr) -> Option<&Expr> {
    match e {
        Expr::Cast {
            expr,
            data_type: DataType::Array(ArrayElemTypeDef::SquareBracket(element, _)),
            ..
        } if is_regtype(element) => Some(expr),
        _ => None,
    }
}

impl SqlStatementRewriteRule for RegtypeText {
    fn rewrite(&self, mut s: Statement) -> Statement {
        let _ = visit_expressions_mut(&mut s, |e| {
            if let Some(inner) = regtype_of_text(e) {
                let null = Expr::Value(ValueWithSpan::from(Value::Null));
                *e = call("format_type", vec![inner.clone(), null]);
            } else if let Some(inner) = regtype_array(e) {
                *e = call(crate::catalog::regtype_array::NAME, vec![inner.clone()]);
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
    fn regtype_text_is_format_type() {
        let out = RegtypeText.rewrite(super::super::parse(
            "SELECT elemtype::regtype::text AS n, CAST(CAST(t.oid AS regtype) AS varchar), \
             x::regtype, y::text, COALESCE(a::regtype[], b::regtype[])::text[] FROM t",
        ));
        assert_eq!(
            out.to_string(),
            "SELECT format_type(elemtype::regtype, NULL) AS n, \
             format_type(CAST(t.oid AS regtype), NULL), x::regtype, y::TEXT, \
             COALESCE(pg_regtype_names(a), pg_regtype_names(b))::TEXT[] FROM t"
        );
    }
}
