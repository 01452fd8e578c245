//! `generate_series(…)` and `range(…)` as table functions on a cluster. DataFusion's own
//! answer with a table Ballista cannot serialize (fit_population cross joins with them);
//! here they answer with the same integers as a VALUES list, which travels in the plan.

use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{plan_err, Result, ScalarValue};
use datafusion::datasource::ViewTable;
use datafusion::logical_expr::{col, lit, Expr, LogicalPlanBuilder};
use std::sync::Arc;

/// The most values one call may give on a cluster (they are planned as literals).
const MAX_VALUES: i64 = 1_000_000;

/// `generate_series` (`inclusive`) or `range` over integers.
#[derive(Debug)]
pub struct Series {
    pub name: &'static str,
    pub inclusive: bool,
}

impl TableFunctionImpl for Series {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let ints = args
            .exprs()
            .iter()
            .map(|e| match e {
                Expr::Literal(v, _) => {
                    match v.cast_to(&datafusion::arrow::datatypes::DataType::Int64)? {
                        ScalarValue::Int64(Some(i)) => Ok(i),
                        _ => plan_err!("{}: NULL bounds are not supported on a cluster", self.name),
                    }
                }
                _ => plan_err!(
                    "{} on a cluster takes integer literals (start, stop [, step])",
                    self.name
                ),
            })
            .collect::<Result<Vec<i64>>>()?;
        let (start, stop, step) = match ints[..] {
            [stop] => (0, stop, 1),
            [start, stop] => (start, stop, 1),
            [start, stop, step] => (start, stop, step),
            _ => return plan_err!("{} takes one to three arguments", self.name),
        };
        if step == 0 {
            return plan_err!("{}: step cannot be 0", self.name);
        }
        let mut values = Vec::new();
        let mut v = start;
        loop {
            let past = match (step > 0, self.inclusive) {
                (true, true) => v > stop,
                (true, false) => v >= stop,
                (false, true) => v < stop,
                (false, false) => v <= stop,
            };
            if past {
                break;
            }
            if values.len() as i64 >= MAX_VALUES {
                return plan_err!(
                    "{} of more than {MAX_VALUES} values is not supported on a cluster",
                    self.name
                );
            }
            values.push(vec![lit(v)]);
            match v.checked_add(step) {
                Some(next) => v = next,
                None => break,
            }
        }
        let plan = if values.is_empty() {
            LogicalPlanBuilder::empty(false)
                .project(vec![lit(ScalarValue::Int64(None)).alias("value")])?
        } else {
            LogicalPlanBuilder::values(values)?.project(vec![col("column1").alias("value")])?
        };
        Ok(Arc::new(ViewTable::new(plan.build()?, None)))
    }
}
