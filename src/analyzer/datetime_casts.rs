//! A timestamp, timestamptz or time cast to text — `x::text`, `CAST(x AS varchar)`, or the
//! cast type coercion makes for `'at ' || x` — is written as PostgreSQL writes it
//! (catalog/datetime_text.rs) rather than by Arrow's cast (`2026-01-01T10:00:00`, offsets as
//! `+08:00`, nanoseconds). Runs after DataFusion's type coercion, which makes the implicit
//! casts.

use crate::catalog::datetime_text;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::Transformed;
use datafusion::common::{DFSchema, Result};
use datafusion::config::ConfigOptions;
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::{Cast, Expr, ExprSchemable, LogicalPlan, TryCast};
use datafusion::optimizer::analyzer::AnalyzerRule;
use std::sync::Arc;

#[derive(Debug)]
pub struct DatetimeCasts;

fn text(t: &DataType) -> bool {
    matches!(t, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8)
}

/// A cast to a text type: the expression cast.
fn to_text(e: &Expr) -> Option<&Expr> {
    match e {
        Expr::Cast(Cast { expr, field }) if text(field.data_type()) => Some(expr),
        Expr::TryCast(TryCast { expr, field }) if text(field.data_type()) => Some(expr),
        _ => None,
    }
}

impl AnalyzerRule for DatetimeCasts {
    fn name(&self) -> &str {
        "cip_datetime_casts"
    }

    fn analyze(&self, plan: LogicalPlan, _: &ConfigOptions) -> Result<LogicalPlan> {
        super::rewrite_expressions(plan, |e| to_text(e).is_some(), written)
    }
}

fn written(e: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    let datetime = match to_text(&e) {
        Some(inner) => inner
            .get_type(schema)
            .is_ok_and(|t| datetime_text::writes(&t)),
        None => false,
    };
    if !datetime {
        return Ok(Transformed::no(e));
    }
    let call = |inner: Box<Expr>| {
        Box::new(Expr::ScalarFunction(ScalarFunction::new_udf(
            Arc::new(datetime_text::udf()),
            vec![*inner],
        )))
    };
    Ok(Transformed::yes(match e {
        Expr::Cast(Cast { expr, field }) => Expr::Cast(Cast {
            expr: call(expr),
            field,
        }),
        Expr::TryCast(TryCast { expr, field }) => Expr::TryCast(TryCast {
            expr: call(expr),
            field,
        }),
        other => other,
    }))
}
