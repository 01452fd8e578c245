//! UPDATE and DELETE as an execution plan that acts when executed, never when planned, so
//! EXPLAIN or a Describe of a prepared statement changes nothing.

use super::provider::StoredRows;
use super::table::Table;
use super::txn::TxnSlot;
use super::write::Rewrite;
use crate::deferred::{Act, ActExec};
use crate::error::sqlstate;
use crate::error::{to_df, CipError};
use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, RecordBatch, UInt64Array};
use datafusion::arrow::compute::kernels::zip::zip;
use datafusion::arrow::compute::{and, cast, filter_record_batch};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::common::{DFSchema, DataFusionError, Result};
use datafusion::logical_expr::execution_props::ExecutionProps;
use datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext;
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::{create_physical_expr, PhysicalExpr};
use std::sync::Arc;

#[derive(Debug, Clone)]
pub enum DmlOp {
    Delete {
        filters: Vec<Expr>,
    },
    Update {
        assignments: Vec<(String, Expr)>,
        filters: Vec<Expr>,
    },
}

/// The plan of an UPDATE / DELETE / TRUNCATE on `table`: it rewrites the table when
/// executed (inside the session's transaction, if one is open) and returns the row count.
/// With `returned`, the rows it removed (DELETE) or wrote (UPDATE) are handed there too.
pub fn dml_exec(
    table: Arc<Table>,
    op: DmlOp,
    props: ExecutionProps,
    slot: Option<Arc<TxnSlot>>,
    returned: Option<Arc<StoredRows>>,
) -> ActExec {
    let schema = Arc::new(Schema::new(vec![Field::new(
        "count",
        DataType::UInt64,
        false,
    )]));
    let what = match op {
        DmlOp::Delete { .. } => "DELETE",
        DmlOp::Update { .. } => "UPDATE",
    };
    let label = format!("{what} {}", table.name());
    let out = schema.clone();
    let act: Act = Arc::new(move || {
        let (table, op, props, schema) = (table.clone(), op.clone(), props.clone(), out.clone());
        let (slot, returned) = (slot.clone(), returned.clone());
        Box::pin(async move {
            let count = tokio::task::spawn_blocking(move || {
                // The rows written or removed, gathered only for a statement that returns them.
                let returned = returned.filter(|r| r.wants(table.name()));
                let mut changed = returned.is_some().then(Vec::new);
                let count = run(&table, &op, &props, slot, changed.as_mut())?;
                if let (Some(returned), Some(changed)) = (returned, changed) {
                    returned.keep_all(table.name(), changed);
                }
                Ok::<u64, DataFusionError>(count)
            })
            .await
            .map_err(|e| DataFusionError::External(Box::new(e)))??;
            RecordBatch::try_new(schema, vec![Arc::new(UInt64Array::from(vec![count]))])
                .map_err(|e| DataFusionError::ArrowError(Box::new(e), None))
        })
    });
    ActExec::new("CipDmlExec", label, schema, act)
}

fn run(
    table: &Arc<Table>,
    op: &DmlOp,
    props: &ExecutionProps,
    slot: Option<Arc<TxnSlot>>,
    mut changed: Option<&mut Vec<RecordBatch>>,
) -> Result<u64> {
    let schema = table.def.schema.clone();
    let df_schema = DFSchema::try_from(schema.clone())?;
    let physical =
        |e: &Expr| create_physical_expr(e, &df_schema, props, &PhysicalPlanningContext::default());
    let (filters, assignments) = match op {
        DmlOp::Delete { filters } => (filters, None),
        DmlOp::Update {
            assignments,
            filters,
        } => (filters, Some(assignments)),
    };
    let filters = filters.iter().map(physical).collect::<Result<Vec<_>>>()?;
    let assignments = match assignments {
        None => None,
        Some(a) => Some(
            a.iter()
                .map(|(col, e)| {
                    let idx = schema.index_of(col)?;
                    Ok((idx, physical(e)?))
                })
                .collect::<Result<Vec<(usize, Arc<dyn PhysicalExpr>)>>>()?,
        ),
    };
    let mut f = |batch: &RecordBatch| -> crate::error::Result<Rewrite> {
        let mask = matches(&filters, batch).map_err(CipError::from)?;
        let hits = mask.true_count() as u64;
        if hits == 0 {
            return Ok(Rewrite::Keep);
        }
        match &assignments {
            None => {
                if let Some(changed) = changed.as_mut() {
                    changed.push(filter_record_batch(batch, &mask)?);
                }
                Ok(Rewrite::Remove(mask))
            }
            Some(assign) => {
                let out = update_batch(batch, &mask, assign).map_err(CipError::from)?;
                if let Some(changed) = changed.as_mut() {
                    changed.push(filter_record_batch(&out, &mask)?);
                }
                Ok(Rewrite::Replace(out, hits))
            }
        }
    };
    if let Some(slot) = slot {
        if let Some(txn) = slot.lock().as_mut() {
            return txn.rewrite(table, &mut f).map_err(to_df);
        }
    }
    table.rewrite(Some(&mut f), &[]).map_err(to_df)
}

/// Rows where every filter is true (NULL counts as false, as in SQL).
fn matches(filters: &[Arc<dyn PhysicalExpr>], batch: &RecordBatch) -> Result<BooleanArray> {
    let mut mask = BooleanArray::from(vec![true; batch.num_rows()]);
    for f in filters {
        let v = f.evaluate(batch)?.into_array(batch.num_rows())?;
        let b = v.as_any().downcast_ref::<BooleanArray>().ok_or_else(|| {
            DataFusionError::Plan("a WHERE clause must be a boolean expression".into())
        })?;
        mask = and(&mask, b)?;
    }
    // Nulls become false.
    Ok(mask.iter().map(|v| Some(v == Some(true))).collect())
}

fn update_batch(
    batch: &RecordBatch,
    mask: &BooleanArray,
    assignments: &[(usize, Arc<dyn PhysicalExpr>)],
) -> Result<RecordBatch> {
    let schema = batch.schema();
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    for (idx, expr) in assignments {
        let field = schema.field(*idx);
        // Evaluate only on the rows being updated, so e.g. a division by zero on a row the
        // WHERE clause excludes does not fail the statement.
        let new = expr
            .evaluate_selection(batch, mask)?
            .into_array(batch.num_rows())?;
        let new = cast(&new, field.data_type())?;
        if !field.is_nullable()
            && new
                .logical_nulls()
                .is_some_and(|n| (0..n.len()).any(|i| mask.value(i) && n.is_null(i)))
        {
            return Err(DataFusionError::External(Box::new(CipError::invalid(
                sqlstate::NOT_NULL_VIOLATION,
                format!(
                    "null value in column \"{}\" violates not-null constraint",
                    field.name()
                ),
            ))));
        }
        columns[*idx] = zip(mask, &new, &batch.column(*idx))?;
    }
    let updated = RecordBatch::try_new(schema.clone(), columns)?;
    crate::column_types::conform(&schema, updated)
        .map_err(|e| DataFusionError::External(Box::new(e)))
}
