//! Every statement runs with its own session's functions. The views of queries/ are planned
//! once per engine and shared by every session (planning them for each connection cost about
//! 100 ms in a debug build and 3.6 MiB that every open connection held: 1,000 idle
//! connections took the server to 3.7 GB). A shared view's plan, inlined into a statement,
//! calls the functions of the session that planned it; before a statement is planned for
//! execution its calls are bound by name to the session's own (a model fit then asks its own
//! statement's stop at a timeout or cancel).

use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::Result;
use datafusion::execution::context::QueryPlanner;
use datafusion::logical_expr::{Expr, LogicalPlan, WindowFunctionDefinition};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_planner::{DefaultPhysicalPlanner, PhysicalPlanner};
use std::collections::HashMap;
use std::sync::Arc;

/// DataFusion's planner, after binding the statement's functions to the session's.
#[derive(Debug)]
pub struct BindingPlanner;

#[async_trait]
impl QueryPlanner for BindingPlanner {
    async fn create_physical_plan(
        &self,
        logical_plan: &LogicalPlan,
        session_state: &dyn Session,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let plan = bind(logical_plan.clone(), session_state)?;
        DefaultPhysicalPlanner::default()
            .create_physical_plan(&plan, session_state)
            .await
    }
}

/// `plan` with every function call bound to `state`'s function of that name.
fn bind(plan: LogicalPlan, state: &dyn Session) -> Result<LogicalPlan> {
    plan.transform_up_with_subqueries(|node| {
        node.map_expressions(|e| e.transform_up(|e| bind_expr(e, state)))
    })
    .map(|t| t.data)
}

/// The session's function of `f`'s name, when it is not `f` itself.
fn own<T>(functions: &HashMap<String, Arc<T>>, name: &str, f: &Arc<T>) -> Option<Arc<T>> {
    functions
        .get(name)
        .filter(|own| !Arc::ptr_eq(own, f))
        .cloned()
}

fn bind_expr(e: Expr, state: &dyn Session) -> Result<Transformed<Expr>> {
    Ok(match e {
        Expr::ScalarFunction(mut f) => {
            match own(state.scalar_functions(), f.func.name(), &f.func) {
                Some(func) => {
                    f.func = func;
                    Transformed::yes(Expr::ScalarFunction(f))
                }
                None => Transformed::no(Expr::ScalarFunction(f)),
            }
        }
        Expr::AggregateFunction(mut f) => {
            match own(state.aggregate_functions(), f.func.name(), &f.func) {
                Some(func) => {
                    f.func = func;
                    Transformed::yes(Expr::AggregateFunction(f))
                }
                None => Transformed::no(Expr::AggregateFunction(f)),
            }
        }
        Expr::WindowFunction(mut w) => {
            let fun = match &w.fun {
                WindowFunctionDefinition::AggregateUDF(u) => {
                    own(state.aggregate_functions(), u.name(), u)
                        .map(WindowFunctionDefinition::AggregateUDF)
                }
                WindowFunctionDefinition::WindowUDF(u) => {
                    own(state.window_functions(), u.name(), u)
                        .map(WindowFunctionDefinition::WindowUDF)
                }
            };
            match fun {
                Some(fun) => {
                    w.fun = fun;
                    Transformed::yes(Expr::WindowFunction(w))
                }
                None => Transformed::no(Expr::WindowFunction(w)),
            }
        }
        other => Transformed::no(other),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Int64Array;
    use datafusion::arrow::datatypes::DataType;
    use datafusion::execution::session_state::SessionStateBuilder;
    use datafusion::logical_expr::{create_udf, ColumnarValue, Volatility};
    use datafusion::prelude::SessionContext;
    use datafusion::scalar::ScalarValue;

    /// A session whose function `which()` answers `n`.
    fn session(n: i64) -> SessionContext {
        let state = SessionStateBuilder::new()
            .with_default_features()
            .with_query_planner(Arc::new(BindingPlanner))
            .build();
        let ctx = SessionContext::new_with_state(state);
        ctx.register_udf(create_udf(
            "which",
            vec![],
            DataType::Int64,
            Volatility::Volatile,
            Arc::new(move |_: &[ColumnarValue]| {
                Ok(ColumnarValue::Scalar(ScalarValue::Int64(Some(n))))
            }),
        ));
        ctx
    }

    async fn answer(ctx: &SessionContext) -> i64 {
        let batches = ctx
            .sql("SELECT x FROM v")
            .await
            .expect("plan")
            .collect()
            .await
            .expect("run");
        let column = batches[0].column(0);
        column
            .as_any()
            .downcast_ref::<Int64Array>()
            .expect("int64")
            .value(0)
    }

    #[tokio::test]
    async fn a_shared_view_calls_the_functions_of_the_session_reading_it() {
        let first = session(1);
        first
            .sql("CREATE VIEW v AS SELECT which() AS x")
            .await
            .expect("create")
            .collect()
            .await
            .expect("create");
        let view = first.table_provider("v").await.expect("v");
        let second = session(2);
        second.register_table("v", view).expect("register");
        assert_eq!(answer(&first).await, 1);
        assert_eq!(answer(&second).await, 2);
    }
}
