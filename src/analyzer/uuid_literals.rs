//! A quoted literal compared with a uuid column — `WHERE id = 'A0EEBC99-…'`, `id IN ('…')` —
//! read as a uuid, as PostgreSQL types an untyped literal by the column it meets. A uuid
//! column keeps PostgreSQL's output form (crate::column_types), so comparing the literal's
//! text as written missed a uuid spelled in upper case, with braces or without hyphens: a
//! silent wrong answer. The literal becomes the uuid's output form; text that is no uuid is
//! 22P02, as in PostgreSQL. Runs after DataFusion's type coercion (which may have cast either
//! side to another string type).

use crate::column_types::ColumnType;
use datafusion::common::tree_node::Transformed;
use datafusion::common::{DFSchema, DataFusionError, Result, ScalarValue};
use datafusion::config::ConfigOptions;
use datafusion::logical_expr::expr::InList;
use datafusion::logical_expr::{BinaryExpr, Cast, Expr, ExprSchemable, LogicalPlan, Operator};
use datafusion::optimizer::analyzer::AnalyzerRule;

#[derive(Debug)]
pub struct UuidLiterals;

impl AnalyzerRule for UuidLiterals {
    fn name(&self) -> &str {
        "cip_uuid_literals"
    }

    fn analyze(&self, plan: LogicalPlan, _: &ConfigOptions) -> Result<LogicalPlan> {
        super::rewrite_expressions(plan, compares_a_literal, read_as_uuid).map(|t| t.data)
    }
}

/// `e` without the casts between string types coercion puts around it.
fn uncast(e: &Expr) -> &Expr {
    match e {
        Expr::Cast(Cast { expr, .. }) => uncast(expr),
        other => other,
    }
}

fn comparison(op: Operator) -> bool {
    use Operator::*;
    matches!(
        op,
        Eq | NotEq | Lt | LtEq | Gt | GtEq | IsDistinctFrom | IsNotDistinctFrom
    )
}

/// A comparison or IN list with a text literal on one side: worth a look.
fn compares_a_literal(e: &Expr) -> bool {
    let literal = |e: &Expr| super::text_literal(uncast(e)).is_some();
    match e {
        Expr::BinaryExpr(b) => comparison(b.op) && (literal(&b.left) || literal(&b.right)),
        Expr::InList(l) => l.list.iter().any(literal),
        _ => false,
    }
}

/// Whether `e` is a uuid column (or an expression typed as one).
fn is_uuid(e: &Expr, schema: &DFSchema) -> bool {
    let Ok(field) = uncast(e).to_field(schema) else {
        return false;
    };
    ColumnType::of(&field.1) == Some(ColumnType::Uuid)
}

/// `e` (a text literal, maybe cast) as the uuid's output form, typed as `e` was.
fn as_uuid(e: Expr) -> Result<Expr> {
    let Some(text) = super::text_literal(uncast(&e)) else {
        return Ok(e);
    };
    let form = ColumnType::Uuid
        .conformed(text)
        .map_err(|err| DataFusionError::External(Box::new(err)))?
        .into_owned();
    Ok(match e {
        Expr::Cast(Cast { field, .. }) => Expr::Cast(Cast {
            expr: Box::new(Expr::Literal(ScalarValue::Utf8(Some(form)), None)),
            field,
        }),
        Expr::Literal(value, metadata) => {
            let value = ScalarValue::Utf8(Some(form)).cast_to(&value.data_type())?;
            Expr::Literal(value, metadata)
        }
        other => other,
    })
}

fn read_as_uuid(e: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    match e {
        Expr::BinaryExpr(BinaryExpr { left, op, right }) if comparison(op) => {
            let (l, r) = (is_uuid(&left, schema), is_uuid(&right, schema));
            if !l && !r {
                return Ok(Transformed::no(Expr::BinaryExpr(BinaryExpr {
                    left,
                    op,
                    right,
                })));
            }
            let left = if r { as_uuid(*left)? } else { *left };
            let right = if l { as_uuid(*right)? } else { *right };
            Ok(Transformed::yes(Expr::BinaryExpr(BinaryExpr::new(
                Box::new(left),
                op,
                Box::new(right),
            ))))
        }
        Expr::InList(InList {
            expr,
            list,
            negated,
        }) if is_uuid(&expr, schema) => {
            let list = list.into_iter().map(as_uuid).collect::<Result<_>>()?;
            Ok(Transformed::yes(Expr::InList(InList {
                expr,
                list,
                negated,
            })))
        }
        other => Ok(Transformed::no(other)),
    }
}
