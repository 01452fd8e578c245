//! `value[i]` in catalog queries becomes `cip_catalog_subscript(value, i)`
//! (catalog/subscript.rs): the catalog's int2vector and array columns are text here, which
//! DataFusion cannot subscript, and a driver reaches them under its own aliases (pgjdbc's
//! getIndexInfo: `tmp.I_INDOPTION[tmp.ORDINAL_POSITION - 1]`), so the function decides by the
//! value, not the name. Slices and user queries are left alone.

use super::ast::{call, reads_catalog};
use datafusion::sql::sqlparser::ast::{
    visit_expressions_mut, AccessExpr, Expr, Ident, Statement, Subscript,
};
use datafusion_postgres::datafusion_pg_catalog::sql::rules::SqlStatementRewriteRule;
use std::ops::ControlFlow;

#[derive(Debug)]
pub struct CatalogSubscripts;

/// `root` followed by the dotted names `dots` (`tmp` + `.I_INDOPTION`), as one expression.
fn joined(root: Expr, dots: Vec<AccessExpr>) -> Option<Expr> {
    if dots.is_empty() {
        return Some(root);
    }
    let mut parts: Vec<Ident> = match root {
        Expr::Identifier(i) => vec![i],
        Expr::CompoundIdentifier(parts) => parts,
        _ => return None,
    };
    for d in dots {
        match d {
            AccessExpr::Dot(Expr::Identifier(i)) => parts.push(i),
            _ => return None,
        }
    }
    Some(Expr::CompoundIdentifier(parts))
}

/// The access with its first index subscript written as the call; None when it has none
/// the rule can write.
fn rewritten(root: &Expr, chain: &[AccessExpr]) -> Option<Expr> {
    let at = chain
        .iter()
        .position(|a| matches!(a, AccessExpr::Subscript(_)))?;
    let AccessExpr::Subscript(Subscript::Index { index }) = &chain[at] else {
        return None;
    };
    let value = joined(root.clone(), chain[..at].to_vec())?;
    let element = call(crate::catalog::subscript::NAME, vec![value, index.clone()]);
    let rest = &chain[at + 1..];
    Some(match rest.is_empty() {
        true => element,
        false => Expr::CompoundFieldAccess {
            root: Box::new(element),
            access_chain: rest.to_vec(),
        },
    })
}

impl SqlStatementRewriteRule for CatalogSubscripts {
    fn rewrite(&self, mut s: Statement) -> Statement {
        if !reads_catalog(&s) {
            return s;
        }
        let _ = visit_expressions_mut(&mut s, |expr| {
            // A second subscript (`v[1][2]`) is met again as the rest of the first's rewrite.
            while let Expr::CompoundFieldAccess { root, access_chain } = expr {
                match rewritten(root, access_chain) {
                    Some(done) => *expr = done,
                    None => break,
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
        CatalogSubscripts
            .rewrite(super::super::parse(sql))
            .to_string()
    }

    #[test]
    fn catalog_subscripts_become_the_call() {
        assert_eq!(
            rewrite(
                "SELECT tmp.I_INDOPTION[tmp.ORDINAL_POSITION - 1] & 1 \
                 FROM (SELECT i.indoption AS I_INDOPTION, 1 AS ORDINAL_POSITION \
                 FROM pg_catalog.pg_index i) AS tmp"
            ),
            "SELECT cip_catalog_subscript(tmp.I_INDOPTION, tmp.ORDINAL_POSITION - 1) & 1 \
             FROM (SELECT i.indoption AS I_INDOPTION, 1 AS ORDINAL_POSITION \
             FROM pg_catalog.pg_index i) AS tmp"
        );
        assert_eq!(
            rewrite("SELECT con.confkey[pos.n], conkey[1][2] FROM pg_constraint con"),
            "SELECT cip_catalog_subscript(con.confkey, pos.n), \
             cip_catalog_subscript(cip_catalog_subscript(conkey, 1), 2) FROM pg_constraint con"
        );
    }

    #[test]
    fn slices_and_user_queries_stay() {
        let slice = "SELECT conkey[1:2] FROM pg_constraint";
        assert_eq!(rewrite(slice), slice);
        let user = "SELECT tags[1] FROM customer_tags";
        assert_eq!(rewrite(user), user);
    }
}
