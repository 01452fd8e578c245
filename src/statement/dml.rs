//! DELETE and UPDATE, applied by cip from the statement's own condition. DataFusion's planner
//! hands a table's `delete_from` / `update` the filters it finds in the *optimized* plan, so
//! whatever the optimizer folded away was lost and the statement applied to every row:
//! `DELETE FROM t WHERE 1 = 0` (the filter becomes an empty relation) and `DELETE FROM t WHERE
//! x IN (SELECT …)` (the subquery becomes a join) both emptied the table. Here the condition
//! is taken from the analyzed, unoptimized plan and handed to the table as it is.
//!
//! Each uncorrelated subquery in the condition or the SET list is run once first and replaced
//! by its value — a scalar, EXISTS's boolean, IN's rows as a list — so the condition is row
//! by row. What still reaches beyond the target (a correlated subquery, UPDATE … FROM) is
//! refused with 0A000 rather than applied to the wrong rows.

use super::outcome::{Done, Outcome};
use super::session::Session;
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use datafusion::arrow::compute::concat;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{Column, ScalarValue};
use datafusion::datasource::source_as_provider;
use datafusion::logical_expr::utils::split_conjunction;
use datafusion::logical_expr::{lit, Expr, LogicalPlan, LogicalPlanBuilder, Subquery, WriteOp};
use datafusion::physical_plan::collect;
use std::collections::HashMap;

fn is_subquery(e: &Expr) -> bool {
    matches!(
        e,
        Expr::ScalarSubquery(_) | Expr::Exists(_) | Expr::InSubquery(_)
    )
}

/// Whether `e` holds a subquery or a column of an outer query: it reaches beyond the row.
pub(super) fn reaches_out(e: &Expr) -> bool {
    e.exists(|x| Ok(is_subquery(x) || matches!(x, Expr::OuterReferenceColumn(..))))
        .unwrap_or(true)
}

fn subquery_of(e: &Expr) -> Option<&Subquery> {
    match e {
        Expr::ScalarSubquery(s) => Some(s),
        Expr::Exists(x) => Some(&x.subquery),
        Expr::InSubquery(i) => Some(&i.subquery),
        _ => None,
    }
}

/// The subquery expressions in `plan`'s own expressions (not inside other subqueries).
fn subqueries(plan: &LogicalPlan) -> Result<Vec<Expr>> {
    let mut found = Vec::new();
    plan.apply(|node| {
        for e in node.expressions() {
            e.apply(|x| {
                if is_subquery(x) {
                    found.push(x.clone());
                    return Ok(TreeNodeRecursion::Jump);
                }
                Ok(TreeNodeRecursion::Continue)
            })?;
        }
        Ok(TreeNodeRecursion::Continue)
    })?;
    Ok(found)
}

fn not_row_local(op: &WriteOp) -> CipError {
    CipError::invalid(
        sqlstate::FEATURE_NOT_SUPPORTED,
        format!(
            "{op} with a condition that joins or correlates with another table is not \
             supported: write it with an uncorrelated `IN (SELECT …)` over the other table"
        ),
    )
}

/// Whether `input` filters and projects the target's own rows only.
fn is_row_local(input: &LogicalPlan) -> Result<bool> {
    let mut local = true;
    input.apply(|node| {
        let allowed = matches!(
            node,
            LogicalPlan::Filter(_)
                | LogicalPlan::Projection(_)
                | LogicalPlan::SubqueryAlias(_)
                | LogicalPlan::TableScan(_)
        );
        let pure = !node.expressions().iter().any(reaches_out);
        local &= allowed && pure;
        Ok(if local {
            TreeNodeRecursion::Continue
        } else {
            TreeNodeRecursion::Stop
        })
    })?;
    Ok(local)
}

/// `expr` with its columns unqualified, as the table's own schema names them.
fn unqualified(expr: &Expr) -> datafusion::common::Result<Expr> {
    Ok(expr
        .clone()
        .transform(|e| match e {
            Expr::Column(c) => Ok(Transformed::yes(Expr::Column(Column::new_unqualified(
                c.name,
            )))),
            other => Ok(Transformed::no(other)),
        })?
        .data)
}

/// Every conjunct of the condition of a row-local DELETE / UPDATE input.
fn conditions(input: &LogicalPlan) -> Result<Vec<Expr>> {
    let mut out = Vec::new();
    input.apply(|node| {
        if let LogicalPlan::Filter(f) = node {
            for c in split_conjunction(&f.predicate) {
                out.push(unqualified(c)?);
            }
        }
        Ok(TreeNodeRecursion::Continue)
    })?;
    Ok(out)
}

/// `plan` with each subquery of `values` replaced by its value.
pub(super) fn with_values(plan: LogicalPlan, values: &HashMap<Expr, Expr>) -> Result<LogicalPlan> {
    if values.is_empty() {
        return Ok(plan);
    }
    Ok(plan
        .transform_up(|node| {
            node.map_expressions(|e| {
                e.transform_down(|x| match values.get(&x) {
                    Some(v) => Ok(Transformed::new(v.clone(), true, TreeNodeRecursion::Jump)),
                    None => Ok(Transformed::no(x)),
                })
            })
        })?
        .data)
}

/// UPDATE's `column = value` pairs: its projection's items that are not the column itself.
fn assignments(input: &LogicalPlan) -> Result<Vec<(String, Expr)>> {
    let LogicalPlan::Projection(p) = input else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for e in &p.expr {
        if let Expr::Alias(a) = e {
            if !matches!(a.expr.as_ref(), Expr::Column(c) if c.name == a.name) {
                out.push((a.name.clone(), unqualified(&a.expr)?));
            }
        }
    }
    Ok(out)
}

impl Session {
    /// Runs a DELETE or UPDATE; None for any other plan.
    pub(super) async fn run_dml(&self, plan: &LogicalPlan) -> Result<Option<Outcome>> {
        let LogicalPlan::Dml(dml) = plan else {
            return Ok(None);
        };
        if !matches!(dml.op, WriteOp::Delete | WriteOp::Update) {
            return Ok(None);
        }
        let plan = self.row_local(plan.clone()).await?;
        let state = self.ctx().state();
        let plan = state
            .analyzer()
            .execute_and_check(plan, state.config_options(), |_, _| {})?;
        let LogicalPlan::Dml(dml) = &plan else {
            return Err(CipError::Corrupt(
                "a DELETE / UPDATE plan lost its shape".into(),
            ));
        };
        let table = source_as_provider(&dml.target)?;
        let filters = conditions(&dml.input)?;
        let (tag, exec) = match dml.op {
            WriteOp::Update => (
                "UPDATE",
                table
                    .update(&state, assignments(&dml.input)?, filters)
                    .await?,
            ),
            _ => ("DELETE", table.delete_from(&state, filters).await?),
        };
        let batches = collect(exec, state.task_ctx()).await?;
        Ok(Some(Outcome::Done(Done::with_rows(
            tag,
            super::count_of(&batches),
        ))))
    }

    /// A DELETE or UPDATE whose uncorrelated subqueries are values; 0A000 if it still
    /// reaches beyond its table.
    async fn row_local(&self, plan: LogicalPlan) -> Result<LogicalPlan> {
        let LogicalPlan::Dml(dml) = &plan else {
            return Ok(plan);
        };
        let values = self.subquery_values(&dml.input).await?;
        let plan = with_values(plan, &values)?;
        let LogicalPlan::Dml(dml) = &plan else {
            return Ok(plan);
        };
        if !is_row_local(&dml.input)? {
            return Err(not_row_local(&dml.op));
        }
        Ok(plan)
    }

    /// The value of each uncorrelated subquery in `plan`'s own expressions, each run once.
    pub(super) async fn subquery_values(&self, plan: &LogicalPlan) -> Result<HashMap<Expr, Expr>> {
        let mut values: HashMap<Expr, Expr> = HashMap::new();
        for e in subqueries(plan)? {
            let Some(sub) = subquery_of(&e) else { continue };
            if !sub.outer_ref_columns.is_empty() || values.contains_key(&e) {
                continue;
            }
            let value = self.value_of(&e, sub).await?;
            values.insert(e, value);
        }
        Ok(values)
    }

    /// Runs an uncorrelated subquery once: the expression that stands for its answer.
    async fn value_of(&self, e: &Expr, sub: &Subquery) -> Result<Expr> {
        let query = (*sub.subquery).clone();
        let query = match e {
            // Whether there is a row; PostgreSQL stops at the first one too.
            Expr::Exists(_) => LogicalPlanBuilder::from(query).limit(0, Some(1))?.build()?,
            _ => query,
        };
        let batches = self
            .ctx()
            .execute_logical_plan(query)
            .await?
            .collect()
            .await?;
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        let column = || -> Result<_> {
            let arrays: Vec<_> = batches.iter().map(|b| b.column(0).clone()).collect();
            let refs: Vec<&dyn datafusion::arrow::array::Array> =
                arrays.iter().map(|a| a.as_ref()).collect();
            if refs.is_empty() {
                return Err(CipError::Corrupt("a subquery returned no batch".into()));
            }
            Ok(concat(&refs)?)
        };
        Ok(match e {
            Expr::Exists(x) => lit((rows > 0) != x.negated),
            Expr::ScalarSubquery(s) => match rows {
                0 => {
                    let t = s.subquery.schema().field(0).data_type().clone();
                    lit(ScalarValue::try_from(&t)?)
                }
                1 => lit(ScalarValue::try_from_array(&column()?, 0)?),
                _ => {
                    return Err(CipError::invalid(
                        sqlstate::CARDINALITY_VIOLATION,
                        "more than one row returned by a subquery used as an expression",
                    ))
                }
            },
            Expr::InSubquery(i) if rows == 0 => lit(i.negated),
            Expr::InSubquery(i) => {
                let column = column()?;
                let list = (0..column.len())
                    .map(|k| ScalarValue::try_from_array(&column, k).map(lit))
                    .collect::<std::result::Result<Vec<_>, _>>()?;
                (*i.expr).clone().in_list(list, i.negated)
            }
            other => other.clone(),
        })
    }
}
