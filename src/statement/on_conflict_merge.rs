//! DO UPDATE's SELECT (on_conflict.rs) as the function storage calls on each conflicting
//! row: its expressions, analyzed and made physical once per statement, evaluated over the
//! stored row's columns and the proposed row's (`excluded`) side by side.

use super::on_conflict::EXCLUDED;
use super::session::Session;
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use crate::storage::{MergeFn, TableDef};
use datafusion::arrow::array::{ArrayRef, AsArray, BooleanArray, RecordBatch};
use datafusion::arrow::compute::{cast_with_options, CastOptions};
use datafusion::arrow::datatypes::{DataType, Schema, SchemaRef};
use datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion::logical_expr::{ExprSchemable, LogicalPlan};
use datafusion::physical_expr::{create_physical_expr, PhysicalExpr};
use std::sync::Arc;

impl Session {
    /// DO UPDATE's SELECT as the function storage calls on the stored and proposed rows.
    pub(super) async fn merge_of(&self, set: LogicalPlan, def: &TableDef) -> Result<Arc<MergeFn>> {
        let values = self.subquery_values(&set).await?;
        let set = super::dml::with_values(set, &values)?;
        // Read in place: `ctx().state()` would copy the whole session state per statement.
        let state = self.ctx().state_ref();
        let state = state.read();
        let set = state
            .analyzer()
            .execute_and_check(set, state.config_options(), |_, _| {})?;
        let LogicalPlan::Projection(p) = &set else {
            return Err(CipError::Corrupt(
                "the ON CONFLICT query lost its shape".into(),
            ));
        };
        if p.expr.iter().any(super::dml::reaches_out) {
            return Err(CipError::invalid(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "ON CONFLICT DO UPDATE with a correlated subquery is not supported",
            ));
        }
        let out = def.input_schema();
        // The item after the columns is the WHERE condition, as PostgreSQL checks it: once,
        // whether or not a row conflicts.
        if let Some(condition) = p.expr.get(out.fields().len()) {
            if condition.get_type(p.input.schema())? != DataType::Boolean {
                return Err(CipError::invalid(
                    sqlstate::DATATYPE_MISMATCH,
                    "argument of WHERE must be type boolean",
                ));
            }
        }
        let input = p.input.schema();
        let props = state.execution_props();
        let planning = PhysicalPlanningContext::default();
        let exprs = p
            .expr
            .iter()
            .map(|e| create_physical_expr(&e.clone().unalias(), input, props, &planning))
            .collect::<datafusion::common::Result<Vec<_>>>()?;
        // Where each column the expressions read comes from: the proposed row or the stored.
        let sources = input
            .iter()
            .map(|(q, f)| {
                let proposed = q.is_some_and(|q| q.table() == EXCLUDED);
                Ok((proposed, def.schema.index_of(f.name())?))
            })
            .collect::<Result<Vec<_>>>()?;
        let read = Arc::new(Schema::new(
            input
                .fields()
                .iter()
                .map(|f| f.as_ref().clone().with_nullable(true))
                .collect::<Vec<_>>(),
        ));
        let merge = Merge {
            exprs,
            sources,
            read,
            out,
        };
        Ok(Arc::new(
            move |stored: &RecordBatch, proposed: &RecordBatch| merge.apply(stored, proposed),
        ))
    }
}

/// DO UPDATE's expressions, ready to evaluate over a stored and a proposed row.
struct Merge {
    exprs: Vec<Arc<dyn PhysicalExpr>>,
    sources: Vec<(bool, usize)>,
    read: SchemaRef,
    out: SchemaRef,
}

impl Merge {
    fn apply(
        &self,
        stored: &RecordBatch,
        proposed: &RecordBatch,
    ) -> Result<(RecordBatch, BooleanArray)> {
        let rows = stored.num_rows();
        let columns: Vec<ArrayRef> = self
            .sources
            .iter()
            .map(|&(from_proposed, i)| match from_proposed {
                true => proposed.column(i).clone(),
                false => stored.column(i).clone(),
            })
            .collect();
        let batch = RecordBatch::try_new(self.read.clone(), columns)?;
        let strict = CastOptions {
            safe: false,
            ..Default::default()
        };
        let mut values = Vec::with_capacity(self.out.fields().len());
        for (expr, field) in self.exprs.iter().zip(self.out.fields()) {
            let v = expr.evaluate(&batch)?.into_array(rows)?;
            values.push(cast_with_options(&v, field.data_type(), &strict)?);
        }
        let chosen = match self.exprs.get(values.len()) {
            None => BooleanArray::from(vec![true; rows]),
            // A boolean: merge_of checked its type.
            Some(condition) => condition
                .evaluate(&batch)?
                .into_array(rows)?
                .as_boolean_opt()
                .cloned()
                .ok_or_else(|| CipError::Corrupt("a WHERE gave no boolean".into()))?,
        };
        Ok((RecordBatch::try_new(self.out.clone(), values)?, chosen))
    }
}
