//! `a IS [NOT] DISTINCT FROM b AND c` is `(a IS DISTINCT FROM b) AND c` in PostgreSQL, where
//! IS binds tighter than NOT, AND and OR. sqlparser 0.62 reads the whole rest of the
//! expression as the right operand (`a IS DISTINCT FROM (b AND c)`), so a join condition of
//! several NULL-safe comparisons failed to plan or compared the wrong things. The operand is
//! given back its PostgreSQL extent: the leftmost operand of a trailing AND / OR chain.

use datafusion::sql::sqlparser::ast::{visit_expressions_mut, BinaryOperator, Expr, Statement};
use datafusion_postgres::datafusion_pg_catalog::sql::rules::SqlStatementRewriteRule;
use std::ops::ControlFlow;

#[derive(Debug)]
pub struct DistinctFromPrecedence;

fn is_logical(op: &BinaryOperator) -> bool {
    matches!(op, BinaryOperator::And | BinaryOperator::Or)
}

/// The operands and operators of an AND / OR tree in the order they were written (a
/// parenthesised part is one operand).
fn flatten(e: Expr, leaves: &mut Vec<Expr>, ops: &mut Vec<BinaryOperator>) {
    match e {
        Expr::BinaryOp { left, op, right } if is_logical(&op) => {
            flatten(*left, leaves, ops);
            ops.push(op);
            flatten(*right, leaves, ops);
        }
        leaf => leaves.push(leaf),
    }
}

/// The tree PostgreSQL builds of operands joined by AND / OR: AND first, both to the left.
fn rebuild(leaves: Vec<Expr>, ops: Vec<BinaryOperator>) -> Expr {
    let join = |l: Expr, op, r: Expr| Expr::BinaryOp {
        left: Box::new(l),
        op,
        right: Box::new(r),
    };
    let mut leaves = leaves.into_iter();
    let Some(first) = leaves.next() else {
        return Expr::Value(datafusion::sql::sqlparser::ast::Value::Null.into());
    };
    let mut ors: Vec<Expr> = Vec::new();
    let mut and = first;
    for (op, leaf) in ops.into_iter().zip(leaves) {
        if op == BinaryOperator::And {
            and = join(and, BinaryOperator::And, leaf);
        } else {
            ors.push(std::mem::replace(&mut and, leaf));
        }
    }
    ors.push(and);
    let mut it = ors.into_iter();
    let first = it.next().unwrap_or(Expr::Value(
        datafusion::sql::sqlparser::ast::Value::Null.into(),
    ));
    it.fold(first, |l, r| join(l, BinaryOperator::Or, r))
}

/// An AND / OR tree regrouped as PostgreSQL groups it; `first` (an IS DISTINCT FROM whose
/// operand swallowed the tree) takes the first operand.
fn regroup(tree: Expr, first: Option<(Expr, bool)>) -> Expr {
    let (mut leaves, mut ops) = (Vec::new(), Vec::new());
    flatten(tree, &mut leaves, &mut ops);
    if let (Some((left, not)), Some(leaf)) = (first, leaves.first_mut()) {
        let (l, r) = (Box::new(left), Box::new(leaf.clone()));
        *leaf = match not {
            true => Expr::IsNotDistinctFrom(l, r),
            false => Expr::IsDistinctFrom(l, r),
        };
    }
    rebuild(leaves, ops)
}

/// Whether the parse went wrong somewhere in `s`: only then is anything regrouped (a
/// statement of thousands of OR-ed terms is left as it is, untouched and unwalked twice).
fn misparsed(s: &Statement) -> bool {
    use datafusion::sql::sqlparser::ast::visit_expressions;
    visit_expressions(s, |e| match e {
        Expr::IsDistinctFrom(_, r) | Expr::IsNotDistinctFrom(_, r)
            if matches!(r.as_ref(), Expr::BinaryOp { op, .. } if is_logical(op)) =>
        {
            ControlFlow::Break(())
        }
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

impl SqlStatementRewriteRule for DistinctFromPrecedence {
    fn rewrite(&self, mut s: Statement) -> Statement {
        if !misparsed(&s) {
            return s;
        }
        // Children first: a tree is regrouped after the IS DISTINCT FROMs inside it.
        let _ = visit_expressions_mut(&mut s, |e| {
            let not = matches!(e, Expr::IsNotDistinctFrom(..));
            let swallowed = match e {
                Expr::IsDistinctFrom(l, r) | Expr::IsNotDistinctFrom(l, r) if matches!(r.as_ref(), Expr::BinaryOp { op, .. } if is_logical(op)) => {
                    Some((l.as_ref().clone(), r.as_ref().clone(), not))
                }
                _ => None,
            };
            if let Some((left, tree, not)) = swallowed {
                *e = regroup(tree, Some((left, not)));
            } else if matches!(e, Expr::BinaryOp { op, .. } if is_logical(op)) {
                *e = regroup(e.clone(), None);
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
    fn is_distinct_from_binds_tighter_than_and_or() {
        let out = DistinctFromPrecedence.rewrite(super::super::parse(
            "SELECT 1 FROM t WHERE a IS NOT DISTINCT FROM b AND c IS DISTINCT FROM d OR e = f \
             AND g IS DISTINCT FROM (h AND i)",
        ));
        assert_eq!(
            out.to_string(),
            "SELECT 1 FROM t WHERE a IS NOT DISTINCT FROM b AND c IS DISTINCT FROM d OR e = f \
             AND g IS DISTINCT FROM (h AND i)"
        );
        let Statement::Query(q) = out else {
            panic!("a query")
        };
        let datafusion::sql::sqlparser::ast::SetExpr::Select(select) = *q.body else {
            panic!("a select")
        };
        // ((a ≡ b) AND (c ≠ d)) OR ((e = f) AND (g ≠ (h AND i)))
        let Some(Expr::BinaryOp { left, op, right }) = select.selection else {
            panic!("a condition")
        };
        assert_eq!(op, BinaryOperator::Or);
        assert_eq!(
            left.to_string(),
            "a IS NOT DISTINCT FROM b AND c IS DISTINCT FROM d"
        );
        assert!(
            matches!(*left, Expr::BinaryOp { op: BinaryOperator::And, ref left, .. }
            if matches!(**left, Expr::IsNotDistinctFrom(..)))
        );
        assert_eq!(right.to_string(), "e = f AND g IS DISTINCT FROM (h AND i)");
    }
}
