//! A timestamptz made a timestamp without time zone — `at::timestamp`, or an INSERT of one
//! into a timestamp column — is its wall-clock time in its zone, as PostgreSQL gives it in the
//! session's zone. Arrow's cast keeps the UTC clock instead (10:00+08 became 02:00), which
//! would put a venue's evening on the wrong day. Runs after DataFusion's type coercion, which
//! makes the implicit casts.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::Transformed;
use datafusion::common::{DFSchema, Result};
use datafusion::config::ConfigOptions;
use datafusion::logical_expr::{Cast, Expr, ExprSchemable, LogicalPlan, TryCast};
use datafusion::optimizer::analyzer::AnalyzerRule;

#[derive(Debug)]
pub struct ZonedToLocal;

/// A cast to a timestamp without time zone, and the expression cast.
fn to_naive(e: &Expr) -> Option<&Expr> {
    let (expr, to) = match e {
        Expr::Cast(Cast { expr, field }) => (expr.as_ref(), field.data_type()),
        Expr::TryCast(TryCast { expr, field }) => (expr.as_ref(), field.data_type()),
        _ => return None,
    };
    matches!(to, DataType::Timestamp(_, None)).then_some(expr)
}

impl AnalyzerRule for ZonedToLocal {
    fn name(&self) -> &str {
        "cip_zoned_to_local"
    }

    fn analyze(&self, plan: LogicalPlan, _: &ConfigOptions) -> Result<LogicalPlan> {
        super::rewrite_expressions(plan, |e| to_naive(e).is_some(), local)
    }
}

fn local(e: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    let zoned = match to_naive(&e) {
        Some(inner) => matches!(inner.get_type(schema), Ok(DataType::Timestamp(_, Some(_)))),
        None => false,
    };
    if !zoned {
        return Ok(Transformed::no(e));
    }
    let wall =
        |inner: Box<Expr>| Box::new(datafusion::functions::expr_fn::to_local_time(vec![*inner]));
    Ok(Transformed::yes(match e {
        Expr::Cast(Cast { expr, field }) => Expr::Cast(Cast {
            expr: wall(expr),
            field,
        }),
        Expr::TryCast(TryCast { expr, field }) => Expr::TryCast(TryCast {
            expr: wall(expr),
            field,
        }),
        other => other,
    }))
}
