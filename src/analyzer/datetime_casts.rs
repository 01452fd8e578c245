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
use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::optimizer::analyzer::AnalyzerRule;
use std::sync::Arc;

#[derive(Debug)]
pub struct DatetimeCasts;

impl AnalyzerRule for DatetimeCasts {
    fn name(&self) -> &str {
        "cip_datetime_casts"
    }

    fn analyze(&self, plan: LogicalPlan, _: &ConfigOptions) -> Result<LogicalPlan> {
        super::rewrite_expressions(plan, |e| super::casts_to(e, DataType::is_string), written)
            .map(|t| t.data)
    }
}

fn written(e: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    super::wrap_cast_input(
        e,
        schema,
        DataType::is_string,
        datetime_text::writes,
        |input| {
            Expr::ScalarFunction(ScalarFunction::new_udf(
                Arc::new(datetime_text::udf()),
                vec![input],
            ))
        },
    )
}
