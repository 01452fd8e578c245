//! `x LIKE p ESCAPE 'c'` (and ILIKE, NOT LIKE) with an escape character other than the
//! backslash becomes `x LIKE like_escape(p, 'c')`, PostgreSQL's function for exactly this;
//! DataFusion's LIKE refuses any escape but the backslash. The pattern may be computed
//! (SQLAlchemy's `nspname NOT LIKE 'pg/_' || '%' ESCAPE '/'`); with a literal one the
//! call folds to a constant when planned.

use super::ast::call;
use crate::catalog::like_escape::NAME;
use datafusion::sql::sqlparser::ast::{
    visit_expressions_mut, Expr, Statement, Value, ValueWithSpan,
};
use datafusion_postgres::datafusion_pg_catalog::sql::rules::SqlStatementRewriteRule;
use std::ops::ControlFlow;

#[derive(Debug)]
pub struct LikeEscape;

/// The escape literal as a text expression, unless it is the backslash (which LIKE knows).
fn other_escape(escape: &mut Option<ValueWithSpan>) -> Option<Expr> {
    let text = match &escape.as_ref()?.value {
        Value::SingleQuotedString(s) | Value::EscapedStringLiteral(s) => s.clone(),
        _ => return None,
    };
    if text == "\\" {
        return None;
    }
    let literal = escape.take()?;
    Some(Expr::Value(ValueWithSpan {
        value: Value::SingleQuotedString(text),
        span: literal.span,
    }))
}

impl SqlStatementRewriteRule for LikeEscape {
    fn rewrite(&self, mut s: Statement) -> Statement {
        let _ = visit_expressions_mut(&mut s, |e| {
            if let Expr::Like {
                pattern,
                escape_char,
                ..
            }
            | Expr::ILike {
                pattern,
                escape_char,
                ..
            } = e
            {
                if let Some(escape) = other_escape(escape_char) {
                    **pattern = call(NAME, vec![(**pattern).clone(), escape]);
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

    fn rewritten(sql: &str) -> String {
        LikeEscape.rewrite(super::super::parse(sql)).to_string()
    }

    #[test]
    fn another_escape_character_goes_through_like_escape() {
        assert_eq!(
            rewritten("SELECT a NOT LIKE 'pg/_' || '%' ESCAPE '/' FROM t"),
            "SELECT a NOT LIKE like_escape('pg/_' || '%', '/') FROM t"
        );
        assert_eq!(
            rewritten("SELECT a ILIKE b ESCAPE '#'"),
            "SELECT a ILIKE like_escape(b, '#')"
        );
        assert_eq!(
            rewritten("SELECT a LIKE b ESCAPE ''"),
            "SELECT a LIKE like_escape(b, '')"
        );
        for same in ["SELECT a LIKE 'x\\_%' ESCAPE '\\'", "SELECT a LIKE 'x%'"] {
            assert_eq!(rewritten(same), same);
        }
    }
}
