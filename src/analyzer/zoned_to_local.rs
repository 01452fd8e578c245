//! A timestamptz made a timestamp without time zone — `at::timestamp`, or an INSERT of one
//! into a timestamp column — is its wall-clock time in its zone, as PostgreSQL gives it in the
//! session's zone. Arrow's cast keeps the UTC clock instead (10:00+08 became 02:00), which
//! would put a venue's evening on the wrong day. Runs after DataFusion's type coercion, which
//! makes the implicit casts.

use datafusion::arrow::datatypes::DataType;
use datafusion::common::tree_node::Transformed;
use datafusion::common::{DFSchema, Result};
use datafusion::config::ConfigOptions;
use datafusion::logical_expr::{Expr, LogicalPlan};
use datafusion::optimizer::analyzer::AnalyzerRule;

#[derive(Debug)]
pub struct ZonedToLocal;

/// A timestamp without time zone.
fn naive(t: &DataType) -> bool {
    matches!(t, DataType::Timestamp(_, None))
}

fn zoned(t: &DataType) -> bool {
    matches!(t, DataType::Timestamp(_, Some(_)))
}

impl AnalyzerRule for ZonedToLocal {
    fn name(&self) -> &str {
        "cip_zoned_to_local"
    }

    fn analyze(&self, plan: LogicalPlan, _: &ConfigOptions) -> Result<LogicalPlan> {
        super::rewrite_expressions(plan, |e| super::casts_to(e, naive), local).map(|t| t.data)
    }
}

fn local(e: Expr, schema: &DFSchema) -> Result<Transformed<Expr>> {
    super::wrap_cast_input(e, schema, naive, zoned, |input| {
        datafusion::functions::expr_fn::to_local_time(vec![input])
    })
}
