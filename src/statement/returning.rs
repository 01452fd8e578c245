//! `… RETURNING`: the rows an INSERT stored (serial ids and defaults filled by storage), an
//! UPDATE wrote or a DELETE removed go back to the client (knex's `.returning('id')`,
//! SQLAlchemy's ORM, pgjdbc's generated keys, any driver reading back a new key). DataFusion
//! refuses the clause, so cip splits the statement in two: the statement without it, and
//! `SELECT <returning list> FROM <target> [AS alias]`, both planned by the usual planner. At
//! execution the write runs with the session's `StoredRows` collecting its rows, and the
//! SELECT runs with its scan of the target replaced by those rows — the same columns, so
//! every expression PostgreSQL allows there plans as in a query.

use super::outcome::{Outcome, Rows};
use super::prepare::param_values;
use super::rules::ast::template_query;
use super::rules::unique_output_names::UniqueOutputNames;
use super::session::Session;
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use crate::storage::StoredRows;
use datafusion::arrow::array::RecordBatch;
use datafusion::catalog::MemTable;
use datafusion::common::tree_node::{Transformed, TreeNode, TreeNodeRecursion};
use datafusion::common::{ScalarValue, TableReference};
use datafusion::datasource::{provider_as_source, source_as_provider};
use datafusion::logical_expr::{LogicalPlan, TableScanBuilder};
use datafusion::sql::sqlparser::ast::{FromTable, SetExpr, Statement, TableObject};
use datafusion_postgres::datafusion_pg_catalog::sql::rules::SqlStatementRewriteRule;
use std::sync::Arc;

/// The command tag of returned rows, before the row count the wire layer appends.
/// PostgreSQL's INSERT tag carries an OID, always 0, before the count.
fn rows_tag(verb: &str) -> &'static str {
    match verb {
        "INSERT" => "INSERT 0",
        "UPDATE" => "UPDATE",
        _ => "DELETE",
    }
}

/// A statement with RETURNING as the statement without it, the SELECT of the list, and the
/// statement's verb; None for any other statement.
pub(super) fn split(statement: &Statement) -> Result<Option<(Statement, Statement, &'static str)>> {
    let (plain, target, returning, verb) = match statement {
        Statement::Insert(i) if i.returning.is_some() => {
            let TableObject::TableName(name) = &i.table else {
                return Err(not_supported("an INSERT into a table function"));
            };
            let alias = i
                .table_alias
                .as_ref()
                .map(|a| format!(" AS {}", a.alias))
                .unwrap_or_default();
            // The alias names the target for RETURNING, and for ON CONFLICT, which takes it
            // off itself (DataFusion refuses it on an INSERT).
            let mut plain = i.clone();
            plain.returning = None;
            if plain.on.is_none() {
                plain.table_alias = None;
            }
            let target = format!("{name}{alias}");
            (Statement::Insert(plain), target, &i.returning, "INSERT")
        }
        Statement::Update(u) if u.returning.is_some() => {
            if !u.table.joins.is_empty() || u.from.is_some() {
                return Err(not_supported("an UPDATE over several tables"));
            }
            let mut plain = u.clone();
            plain.returning = None;
            let target = u.table.relation.to_string();
            (Statement::Update(plain), target, &u.returning, "UPDATE")
        }
        Statement::Delete(d) if d.returning.is_some() => {
            let (FromTable::WithFromKeyword(tables) | FromTable::WithoutKeyword(tables)) = &d.from;
            let ([table], None) = (tables.as_slice(), &d.using) else {
                return Err(not_supported("a DELETE over several tables"));
            };
            if !table.joins.is_empty() {
                return Err(not_supported("a DELETE over several tables"));
            }
            let mut plain = d.clone();
            plain.returning = None;
            let target = table.relation.to_string();
            (Statement::Delete(plain), target, &d.returning, "DELETE")
        }
        _ => return Ok(None),
    };
    // The target was parsed from the statement, so its text parses again.
    let mut query = template_query(&format!("SELECT 1 FROM {target}"))
        .ok_or_else(|| lost("the RETURNING query"))?;
    let SetExpr::Select(body) = query.body.as_mut() else {
        return Err(lost("the RETURNING query"));
    };
    body.projection = returning.clone().unwrap_or_default();
    // A name given twice (`RETURNING id AS x, id AS x`) as in any select list.
    let select = UniqueOutputNames.rewrite(Statement::Query(Box::new(query)));
    Ok(Some((plain, select, verb)))
}

fn not_supported(what: &str) -> CipError {
    CipError::invalid(
        sqlstate::FEATURE_NOT_SUPPORTED,
        format!("RETURNING is not supported on {what}"),
    )
}

fn lost(what: &str) -> CipError {
    CipError::Corrupt(format!("{what} lost its shape"))
}

/// The table a write's plan writes to, as its plan and storage name it; 0A000 for one that
/// is not one of cip's stored tables (a temporary table keeps no count of what it wrote).
pub(super) fn target(write: &LogicalPlan) -> Result<(TableReference, &'static str)> {
    let LogicalPlan::Dml(dml) = super::on_conflict::write_of(write) else {
        return Err(lost("a write's plan"));
    };
    let provider = source_as_provider(&dml.target)?;
    let Some(def) = crate::warehouse::stored_definition(&provider) else {
        return Err(CipError::invalid(
            sqlstate::FEATURE_NOT_SUPPORTED,
            format!(
                "RETURNING is not supported on {}: only on stored tables, not temporary ones",
                dml.table_name
            ),
        ));
    };
    Ok((dml.table_name.clone(), def.name))
}

/// 42803 for an aggregate or window function in the RETURNING list itself (not in a
/// subquery of it), as PostgreSQL refuses them: RETURNING is per row.
pub(super) fn check_per_row(select: &LogicalPlan) -> Result<()> {
    let mut found = None;
    select.apply(|node| {
        found = match node {
            LogicalPlan::Aggregate(_) => Some("aggregate"),
            LogicalPlan::Window(_) => Some("window"),
            _ => None,
        };
        Ok(if found.is_some() {
            TreeNodeRecursion::Stop
        } else {
            TreeNodeRecursion::Continue
        })
    })?;
    match found {
        Some(kind) => Err(CipError::invalid(
            sqlstate::GROUPING_ERROR,
            format!("{kind} functions are not allowed in RETURNING"),
        )),
        None => Ok(()),
    }
}

/// A prepared statement with RETURNING.
#[derive(Debug, Clone)]
pub(super) struct Plans {
    /// The statement without RETURNING.
    pub write: LogicalPlan,
    pub select: LogicalPlan,
    /// The table written, as the SELECT's scan names it.
    pub target: TableReference,
    /// The same table, as storage names it.
    pub table: &'static str,
    /// INSERT, UPDATE or DELETE.
    pub verb: &'static str,
}

impl Plans {
    /// Both plans with the statement's parameters bound.
    pub fn bound(&self, params: Vec<ScalarValue>) -> Result<Plans> {
        let mut plans = self.clone();
        if !params.is_empty() {
            plans.write = plans
                .write
                .with_param_values(param_values(params.clone()))?;
            plans.select = plans.select.with_param_values(param_values(params))?;
        }
        Ok(plans)
    }
}

impl Session {
    /// Runs the write, then the RETURNING query over the rows it wrote.
    pub(super) async fn write_returning(
        &self,
        plans: Plans,
        columns: datafusion::arrow::datatypes::SchemaRef,
    ) -> Result<Outcome> {
        let Plans {
            write,
            select,
            target,
            table,
            verb,
        } = plans;
        let kept = self
            .extension::<StoredRows>()
            .ok_or_else(|| lost("the session's configuration"))?;
        kept.start(table);
        let done = self.run_plan(write, Some(verb), None).await;
        let rows = kept.take();
        let Outcome::Done(done) = done? else {
            return Err(lost("a write's outcome"));
        };
        let returned: usize = rows.iter().map(|b| b.num_rows()).sum();
        if done.rows != Some(returned as u64) {
            return Err(CipError::Corrupt(format!(
                "{verb} … RETURNING on {target}: {:?} rows written but {returned} returned",
                done.rows
            )));
        }
        let select = with_rows(select, &target, rows)?;
        let stream = self
            .ctx()
            .execute_logical_plan(select)
            .await?
            .execute_stream()
            .await?;
        Ok(Outcome::Rows(Rows {
            stream: super::execute::described(stream, columns.clone()),
            schema: columns,
            tag: rows_tag(verb),
        }))
    }
}

/// `select` reading `rows` where it scanned `target` (its own FROM, not its subqueries').
fn with_rows(
    select: LogicalPlan,
    target: &TableReference,
    rows: Vec<RecordBatch>,
) -> Result<LogicalPlan> {
    let replaced = select.transform_up(|node| match node {
        LogicalPlan::TableScan(scan) if &scan.table_name == target => {
            let schema = scan.source.schema();
            // Storage's rows carry its input schema (all nullable); the scan's is the table's.
            let rows = rows
                .iter()
                .map(|b| RecordBatch::try_new(schema.clone(), b.columns().to_vec()))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            let table = MemTable::try_new(schema, vec![rows])?;
            let scan = TableScanBuilder::new(scan.table_name, provider_as_source(Arc::new(table)))
                .with_projection(scan.projection)
                .with_filters(scan.filters)
                .with_fetch(scan.fetch)
                .build()?;
            Ok(Transformed::yes(LogicalPlan::TableScan(scan)))
        }
        other => Ok(Transformed::no(other)),
    })?;
    if !replaced.transformed {
        return Err(lost("the RETURNING query's scan"));
    }
    Ok(replaced.data)
}
