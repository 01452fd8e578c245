//! `user` and `current_role`, PostgreSQL's spellings of the session's user without
//! parentheses (Grafana's search-path query writes `THEN user ELSE …`). sqlparser reads `user`
//! as a call without arguments, which DataFusion then looks up as a column; both become
//! `session_user()` (datafusion-pg-catalog's rule already renames `current_user`).

use super::ast::{call, called};
use datafusion::sql::sqlparser::ast::{visit_expressions_mut, Expr, FunctionArguments, Statement};
use datafusion_postgres::datafusion_pg_catalog::sql::rules::SqlStatementRewriteRule;
use std::ops::ControlFlow;

#[derive(Debug)]
pub struct UserRegisters;

fn is_register(expr: &Expr) -> bool {
    match expr {
        Expr::Identifier(i) => {
            i.quote_style.is_none() && i.value.eq_ignore_ascii_case("current_role")
        }
        _ => matches!(
            called(expr),
            Some((name, f)) if matches!(f.args, FunctionArguments::None)
                && f.name.0.len() == 1
                && (name == "user" || name == "current_role")
        ),
    }
}

impl SqlStatementRewriteRule for UserRegisters {
    fn rewrite(&self, mut s: Statement) -> Statement {
        let _ = visit_expressions_mut(&mut s, |expr| {
            if is_register(expr) {
                *expr = call("session_user", vec![]);
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
    fn user_is_the_session_user() {
        let out = UserRegisters.rewrite(super::super::parse(
            "SELECT user, current_role, \"user\", u.user FROM t u",
        ));
        assert_eq!(
            out.to_string(),
            "SELECT session_user(), session_user(), \"user\", u.user FROM t u"
        );
    }
}
