//! A quoted literal compared with a boolean is a boolean, as PostgreSQL reads an untyped
//! literal by the type it meets: `ix.indisprimary = 'f'` (SQLAlchemy 1.4's index reflection,
//! which Superset runs when a dataset is added), `WHERE active = 'true'`. DataFusion gives a
//! quoted literal the type text and cannot compare text with boolean ("Cannot infer common
//! argument type … Boolean = Utf8"). An analyzer rule ahead of DataFusion's type coercion
//! turns such a literal into the boolean PostgreSQL's input function reads from it; text that
//! is no boolean is left alone (the comparison then fails as before).

use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::Result;
use datafusion::config::ConfigOptions;
use datafusion::logical_expr::expr::BinaryExpr;
use datafusion::logical_expr::utils::merge_schema;
use datafusion::logical_expr::{lit, Expr, ExprSchemable, LogicalPlan, Operator};
use datafusion::optimizer::analyzer::AnalyzerRule;

#[derive(Debug)]
pub struct BooleanLiterals;

/// PostgreSQL's boolean input: t/true/yes/on/1 and f/false/no/off/0, any case, trimmed.
fn boolean(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "t" | "true" | "y" | "yes" | "on" | "1" => Some(true),
        "f" | "false" | "n" | "no" | "off" | "0" => Some(false),
        _ => None,
    }
}

fn text_literal(e: &Expr) -> Option<bool> {
    super::text_literal(e).and_then(boolean)
}

fn comparison(op: &Operator) -> bool {
    matches!(
        op,
        Operator::Eq
            | Operator::NotEq
            | Operator::IsDistinctFrom
            | Operator::IsNotDistinctFrom
            | Operator::Lt
            | Operator::LtEq
            | Operator::Gt
            | Operator::GtEq
    )
}

impl AnalyzerRule for BooleanLiterals {
    fn name(&self) -> &str {
        "cip_boolean_literals"
    }

    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(|node| {
            // The inputs' schema is merged only for a node that has a candidate: most nodes of
            // most plans have none, and every statement is analysed.
            if !super::any_expression(&node, |e| candidate(e).is_some())?
                || node.inputs().is_empty()
            {
                return Ok(Transformed::no(node));
            }
            let schema = merge_schema(&node.inputs());
            let is_bool = |x: &Expr| x.get_type(&schema).is_ok_and(|t| t == DataType::Boolean);
            node.map_expressions(|e| {
                e.transform_up(|e| {
                    let Some((left, op, right)) = candidate(&e) else {
                        return Ok(Transformed::no(e));
                    };
                    let (l, r) = match (text_literal(left), text_literal(right)) {
                        (None, Some(b)) if is_bool(left) => (left.clone(), lit(b)),
                        (Some(b), None) if is_bool(right) => (lit(b), right.clone()),
                        _ => return Ok(Transformed::no(e)),
                    };
                    Ok(Transformed::yes(Expr::BinaryExpr(BinaryExpr::new(
                        Box::new(l),
                        op,
                        Box::new(r),
                    ))))
                })
            })
        })
        .map(|t| t.data)
    }
}

/// A comparison with a text literal that reads as a boolean on one side.
fn candidate(e: &Expr) -> Option<(&Expr, Operator, &Expr)> {
    let Expr::BinaryExpr(BinaryExpr { left, op, right }) = e else {
        return None;
    };
    (comparison(op) && (text_literal(left).is_some() || text_literal(right).is_some())).then_some((
        left.as_ref(),
        *op,
        right.as_ref(),
    ))
}

#[cfg(test)]
mod tests {
    use super::boolean;

    #[test]
    fn reads_booleans_as_postgresql_does() {
        for t in ["t", "TRUE", " yes ", "on", "1"] {
            assert_eq!(boolean(t), Some(true), "{t}");
        }
        for f in ["f", "False", "no", "OFF", "0"] {
            assert_eq!(boolean(f), Some(false), "{f}");
        }
        for other in ["", "maybe", "2", "tru e"] {
            assert_eq!(boolean(other), None, "{other}");
        }
    }
}
