//! A query for the rows of one key — `SELECT columns FROM t WHERE key = $1 [LIMIT n]` — answered by a
//! read of that key (storage's point_read.rs) instead of a planned scan, when `t` can read
//! keys: member_scores and customer_segments while the snapshot answers for the session, and
//! stored tables laid out for point reads. What the CRM screen, the HTTP API and a front desk
//! ask per member, many times a second: planning alone (analysis, optimisation, the physical
//! plan) cost more than reading the page, PostgreSQL's prepared generic plan skips it, and so
//! does this. Anything else — another shape, a transaction block, a snapshot catching up, an
//! analyst's masked columns — is planned as before; EXPLAIN shows that plan, whose rows these
//! are.

use super::session::Session;
use crate::error::Result;
use crate::scores::Scores;
use crate::storage::provider::CipTable;
use crate::warehouse::Guarded;
use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::arrow::record_batch::RecordBatchOptions;
use datafusion::catalog::TableProvider;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::datasource::source_as_provider;
use datafusion::logical_expr::{BinaryExpr, Expr, FetchType, LogicalPlan, Operator, SkipType};
use datafusion::physical_plan::ColumnarValue;
use std::sync::Arc;

/// A plan of the shape this answers: its table, the key column, the expression of the key's
/// value (literals, parameters, functions of them), and the columns returned.
pub(super) struct Lookup {
    provider: Arc<dyn TableProvider>,
    key: usize,
    value: Expr,
    columns: Vec<usize>,
    /// LIMIT n.
    limit: Option<usize>,
}

/// `plan` as a lookup by key, if it is one: a projection of bare columns (under a LIMIT,
/// or not) over a filter `column = value` (value naming no column, not volatile) over a scan
/// of the whole table (under an alias, or not).
pub(super) fn recognise(plan: &LogicalPlan) -> Option<Lookup> {
    let (plan, limit) = match plan {
        LogicalPlan::Limit(l) => match (l.get_skip_type().ok()?, l.get_fetch_type().ok()?) {
            (SkipType::Literal(0), FetchType::Literal(fetch)) => (l.input.as_ref(), fetch),
            _ => return None,
        },
        plan => (plan, None),
    };
    let LogicalPlan::Projection(projection) = plan else {
        return None;
    };
    let LogicalPlan::Filter(filter) = projection.input.as_ref() else {
        return None;
    };
    let scanned = match filter.input.as_ref() {
        LogicalPlan::SubqueryAlias(alias) => alias.input.as_ref(),
        input => input,
    };
    let LogicalPlan::TableScan(scan) = scanned else {
        return None;
    };
    if !scan.filters.is_empty() || scan.fetch.is_some() {
        return None;
    }
    let provider = source_as_provider(&scan.source).ok()?;
    let table = provider.schema();
    // The scan's columns, by name, as indexes into the table's.
    let index_of = |name: &str| -> Option<usize> {
        let at = scan.projected_schema.index_of_column_by_name(None, name)?;
        match &scan.projection {
            Some(p) => p.get(at).copied(),
            None => Some(at),
        }
    };
    let Expr::BinaryExpr(BinaryExpr {
        left,
        op: Operator::Eq,
        right,
    }) = &filter.predicate
    else {
        return None;
    };
    let (column, value) = match (left.as_ref(), right.as_ref()) {
        (Expr::Column(c), v) | (v, Expr::Column(c)) if v.column_refs().is_empty() => (c, v),
        _ => return None,
    };
    if value.is_volatile() {
        return None;
    }
    let key = index_of(&column.name)?;
    let keyed_type = table.field(key).data_type();
    if !(keyed_type.is_string() || keyed_type.is_integer()) {
        return None;
    }
    let columns = projection
        .expr
        .iter()
        .map(|e| match e.clone().unalias() {
            Expr::Column(c) => index_of(&c.name),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Lookup {
        provider,
        key,
        value: value.clone(),
        columns,
        limit,
    })
}

impl Session {
    /// The rows of `lookup` with `params`, read by key; None when its table cannot read the
    /// key now (plan it).
    pub(super) async fn read_by_key(
        &self,
        lookup: &Lookup,
        params: &[ScalarValue],
    ) -> Result<Option<RecordBatch>> {
        let column_type = lookup
            .provider
            .schema()
            .field(lookup.key)
            .data_type()
            .clone();
        // Read in place, not copied (`ctx().state()` copies every function's entry): a
        // copy cost 12% of a lookup (perf, stop 70).
        let (value, config) = {
            let state = self.ctx().state_ref();
            let state = state.read();
            let value = key_value(&*state, &lookup.value, params, &column_type);
            (value, state.config().clone())
        };
        // A value that does not compute (a subquery, a bad argument) is planned: the plan
        // says what is wrong with it.
        let Ok(Some(value)) = value else {
            return Ok(None);
        };
        let (column, columns) = (lookup.key, lookup.columns.clone());
        let provider = &lookup.provider;
        let read = if let Some(scores) = provider.downcast_ref::<Scores>() {
            scores.read_key(&config, column, value, columns).await
        } else if let Some(guarded) = provider.downcast_ref::<Guarded>() {
            guarded.read_key(&config, column, value, columns).await
        } else if let Some(table) = provider.downcast_ref::<CipTable>() {
            table.read_key(&config, column, value, columns).await
        } else {
            None
        };
        let Some(rows) = read.transpose()? else {
            return Ok(None);
        };
        crate::metrics::KEY_READS.add(1);
        let shown = lookup.limit.unwrap_or(usize::MAX).min(rows.num_rows());
        Ok(Some(rows.slice(0, shown)))
    }
}

/// The value of `expr` with `params`, in the key column's type; None when it is not of that
/// type as it stands (a comparison across types is planned, so it compares as DataFusion
/// does) or does not reduce to one value.
fn key_value(
    state: &dyn datafusion::catalog::Session,
    expr: &Expr,
    params: &[ScalarValue],
    column_type: &DataType,
) -> Result<Option<ScalarValue>> {
    let values = super::prepare::param_values(params.to_vec());
    let bound = expr.clone().transform(|e| {
        if let Expr::Placeholder(p) = &e {
            let value = values.get_placeholders_with_values(&p.id)?;
            return Ok(Transformed::yes(Expr::Literal(value.value, value.metadata)));
        }
        Ok(Transformed::no(e))
    })?;
    let physical = state.create_physical_expr(bound.data, &DFSchema::empty())?;
    let one_row = RecordBatchOptions::new().with_row_count(Some(1));
    let batch = RecordBatch::try_new_with_options(Arc::new(Schema::empty()), vec![], &one_row)?;
    let value = match physical.evaluate(&batch)? {
        ColumnarValue::Scalar(v) => v,
        ColumnarValue::Array(a) if a.len() == 1 => ScalarValue::try_from_array(&a, 0)?,
        ColumnarValue::Array(_) => return Ok(None),
    };
    let same_kind = value.data_type() == *column_type
        || (value.data_type().is_string() && column_type.is_string())
        || value.is_null();
    if !same_kind {
        return Ok(None);
    }
    Ok(value.cast_to(column_type).ok())
}
