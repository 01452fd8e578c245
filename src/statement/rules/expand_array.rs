//! Two PostgreSQL forms pgjdbc's `getPrimaryKeys` / `getIndexInfo` write, which DataFusion
//! plans neither of:
//! - `information_schema._pg_expandarray(a)` in a select list is a set-returning function
//!   (a row per element); it becomes `unnest(_pg_expandarray(a))` over the function that
//!   gives the rows as a list (catalog/expand_array.rs). Two calls over the same array in one
//!   select list unnest in step, as PostgreSQL's do.
//! - `(expr).field`, a field of a composite value, is "Dot access not supported"; it becomes
//!   `get_field(expr, 'field')`. (`t.column` is a qualified name, not this form.)

use super::ast::{call, called, plain_args};
use crate::catalog::expand_array::NAME;
use datafusion::sql::sqlparser::ast::{visit_expressions_mut, AccessExpr, Expr, Statement, Value};
use datafusion_postgres::datafusion_pg_catalog::sql::rules::SqlStatementRewriteRule;
use std::ops::ControlFlow;

#[derive(Debug)]
pub struct ExpandArray;

/// `get_field(root, 'a')` for `(root).a`, chained for `(root).a.b`; None for other accesses.
fn field_access(root: &Expr, chain: &[AccessExpr]) -> Option<Expr> {
    if !matches!(root, Expr::Nested(_)) {
        return None;
    }
    let mut out = root.clone();
    for access in chain {
        let AccessExpr::Dot(Expr::Identifier(field)) = access else {
            return None;
        };
        let name = Expr::Value(Value::SingleQuotedString(field.value.to_lowercase()).into());
        out = call("get_field", vec![out, name]);
    }
    Some(out)
}

impl SqlStatementRewriteRule for ExpandArray {
    fn rewrite(&self, mut s: Statement) -> Statement {
        let _ = visit_expressions_mut(&mut s, |expr| {
            if let Expr::CompoundFieldAccess { root, access_chain } = expr {
                if let Some(get) = field_access(root, access_chain) {
                    *expr = get;
                }
                return ControlFlow::<()>::Continue(());
            }
            let args = match called(expr) {
                Some((name, f)) if name == NAME => plain_args(f),
                _ => None,
            };
            if let Some(args) = args {
                let args = args.into_iter().cloned().collect();
                *expr = call("unnest", vec![call(NAME, args)]);
            }
            ControlFlow::<()>::Continue(())
        });
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewritten(sql: &str) -> String {
        ExpandArray.rewrite(super::super::parse(sql)).to_string()
    }

    #[test]
    fn expands_in_the_select_list_and_reads_fields() {
        assert_eq!(
            rewritten(
                "SELECT (information_schema._pg_expandarray(i.indkey)).n AS key_seq, \
                 information_schema._pg_expandarray(i.indkey) AS keys FROM pg_index i"
            ),
            "SELECT get_field((unnest(_pg_expandarray(i.indkey))), 'n') AS key_seq, \
             unnest(_pg_expandarray(i.indkey)) AS keys FROM pg_index i"
        );
        assert_eq!(
            rewritten("SELECT r.a FROM r WHERE r.n = (r.keys).x"),
            "SELECT r.a FROM r WHERE r.n = get_field((r.keys), 'x')"
        );
    }

    #[test]
    fn other_accesses_are_kept() {
        let sql = "SELECT a[1], t.b.c, m['k'] FROM t";
        assert_eq!(rewritten(sql), super::super::parse(sql).to_string());
    }
}
