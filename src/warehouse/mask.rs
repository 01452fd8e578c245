//! Analyst masking at scan time: a table with masked columns (members.name, members.phone)
//! is read through mask_name / mask_phone when the session's actor is an analyst, so every
//! view, filter, join and export an analyst runs sees only masked values (policy.rs).

use crate::identity::{Actor, Role};
use datafusion::catalog::Session;
use datafusion::common::{Column, DFSchema, DataFusionError, Result};
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::ExecutionPlan;
use std::sync::Arc;

/// Whether `state` runs as an analyst.
pub fn is_analyst(state: &dyn Session) -> bool {
    Actor::of(state).role == Role::Analyst
}

/// `plan` with the masked columns of `masked` replaced by their masking function.
pub fn mask(
    state: &dyn Session,
    masked: &[(&str, &str)],
    plan: Arc<dyn ExecutionPlan>,
) -> Result<Arc<dyn ExecutionPlan>> {
    let schema = plan.schema();
    let df_schema = DFSchema::try_from(schema.as_ref().clone())?;
    let mut exprs: Vec<(Arc<dyn PhysicalExpr>, String)> = Vec::new();
    for field in schema.fields() {
        let column = Expr::Column(Column::from_name(field.name()));
        let logical = match masked.iter().find(|(c, _)| c == field.name()) {
            None => column,
            Some((_, function)) => {
                let udf = state
                    .scalar_functions()
                    .get(*function)
                    .cloned()
                    .ok_or_else(|| {
                        DataFusionError::Internal(format!(
                            "masking function {function} is not registered"
                        ))
                    })?;
                Expr::ScalarFunction(ScalarFunction::new_udf(udf, vec![column]))
            }
        };
        let physical = state.create_physical_expr(logical, &df_schema)?;
        exprs.push((physical, field.name().clone()));
    }
    Ok(Arc::new(ProjectionExec::try_new(exprs, plan)?))
}
