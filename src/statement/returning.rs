//! `INSERT … RETURNING`: the rows as stored — serial ids and defaults filled by storage — go
//! back to the client (knex's `.returning('id')`, SQLAlchemy's ORM, any driver reading back
//! a new key). DataFusion refuses the clause, so cip splits the statement in two: the INSERT
//! without it, and `SELECT <returning list> FROM <target> [AS alias]`, both planned by the
//! usual planner. At execution the INSERT runs with the session's `StoredRows` collecting
//! what storage stored, and the SELECT runs with its scan of the target replaced by those
//! rows — the same columns, so every expression PostgreSQL allows there plans as in a query.

use super::outcome::{Outcome, Rows};
use super::prepare::param_values;
use super::session::Session;
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use crate::storage::StoredRows;
use datafusion::arrow::array::RecordBatch;
use datafusion::catalog::MemTable;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{ScalarValue, TableReference};
use datafusion::datasource::{provider_as_source, source_as_provider};
use datafusion::logical_expr::{LogicalPlan, TableScanBuilder};
use datafusion::sql::sqlparser::ast::{SetExpr, Statement, TableObject};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;
use std::sync::Arc;

/// PostgreSQL's INSERT tag carries an OID (always 0) before the row count, which the wire
/// layer appends to a tag of returned rows.
pub(super) const INSERT_TAG: &str = "INSERT 0";

/// An INSERT with RETURNING as the two statements cip plans; None for any other statement.
/// UPDATE and DELETE with RETURNING are refused (0A000) rather than run without it.
pub(super) fn split(statement: &Statement) -> Result<Option<(Statement, Statement)>> {
    let insert = match statement {
        Statement::Insert(i) if i.returning.is_some() => i,
        Statement::Update(u) if u.returning.is_some() => return Err(not_supported("UPDATE")),
        Statement::Delete(d) if d.returning.is_some() => return Err(not_supported("DELETE")),
        _ => return Ok(None),
    };
    let TableObject::TableName(name) = &insert.table else {
        return Err(not_supported("INSERT into a table function"));
    };
    let alias = insert
        .table_alias
        .as_ref()
        .map(|a| format!(" AS {}", a.alias))
        .unwrap_or_default();
    let template = format!("SELECT 1 FROM {name}{alias}");
    let mut parsed = Parser::parse_sql(&PostgreSqlDialect {}, &template)
        .map_err(|e| CipError::invalid(sqlstate::SYNTAX_ERROR, e.to_string()))?;
    let mut select = parsed.pop().ok_or_else(|| lost("the RETURNING query"))?;
    let Statement::Query(query) = &mut select else {
        return Err(lost("the RETURNING query"));
    };
    let SetExpr::Select(body) = query.body.as_mut() else {
        return Err(lost("the RETURNING query"));
    };
    body.projection = insert.returning.clone().unwrap_or_default();
    // The alias names the target for RETURNING only (DataFusion refuses it on an INSERT).
    let mut plain = insert.clone();
    plain.returning = None;
    plain.table_alias = None;
    Ok(Some((Statement::Insert(plain), select)))
}

fn not_supported(what: &str) -> CipError {
    CipError::invalid(
        sqlstate::FEATURE_NOT_SUPPORTED,
        format!(
            "RETURNING is supported on INSERT only, not on {what}: read the rows with a SELECT \
             in the same transaction"
        ),
    )
}

fn lost(what: &str) -> CipError {
    CipError::Corrupt(format!("{what} lost its shape"))
}

/// The table an INSERT plan writes to; 0A000 for one that cannot say what it stored.
pub(super) fn target(insert: &LogicalPlan) -> Result<TableReference> {
    let LogicalPlan::Dml(dml) = insert else {
        return Err(lost("an INSERT plan"));
    };
    let provider = source_as_provider(&dml.target)?;
    if provider.is::<MemTable>() {
        return Err(CipError::invalid(
            sqlstate::FEATURE_NOT_SUPPORTED,
            format!(
                "INSERT … RETURNING into the temporary table {} is not supported",
                dml.table_name
            ),
        ));
    }
    Ok(dml.table_name.clone())
}

/// A prepared INSERT … RETURNING.
#[derive(Debug, Clone)]
pub(super) struct Plans {
    pub insert: LogicalPlan,
    pub select: LogicalPlan,
    /// The table the INSERT writes, as the SELECT's scan names it.
    pub target: TableReference,
}

impl Plans {
    /// Both plans with the statement's parameters bound.
    pub fn bound(&self, params: Vec<ScalarValue>) -> Result<Plans> {
        let mut plans = self.clone();
        if !params.is_empty() {
            plans.insert = plans
                .insert
                .with_param_values(param_values(params.clone()))?;
            plans.select = plans.select.with_param_values(param_values(params))?;
        }
        Ok(plans)
    }
}

impl Session {
    /// Runs the INSERT, then the RETURNING query over the rows it stored.
    pub(super) async fn insert_returning(
        &self,
        plans: Plans,
        columns: datafusion::arrow::datatypes::SchemaRef,
    ) -> Result<Outcome> {
        let Plans {
            insert,
            select,
            target,
        } = plans;
        let stored = self
            .ctx()
            .state()
            .config()
            .get_extension::<StoredRows>()
            .ok_or_else(|| lost("the session's configuration"))?;
        stored.start();
        let done = self.run_plan(insert, Some("INSERT"), None).await;
        let rows = stored.take();
        let Outcome::Done(done) = done? else {
            return Err(lost("an INSERT's outcome"));
        };
        let kept: usize = rows.iter().map(|b| b.num_rows()).sum();
        if done.rows != Some(kept as u64) {
            return Err(CipError::Corrupt(format!(
                "INSERT … RETURNING: {} stored {:?} rows but reported {kept}",
                target, done.rows
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
            tag: INSERT_TAG,
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
