//! `CREATE TEMP[ORARY] TABLE`: a table in the session's memory, seen by that session only and
//! gone when it ends (dbt's incremental models stage their new rows in one). DataFusion
//! refuses temporary tables when planning and running, so cip plans the statement as a plain
//! CREATE TABLE, marks the plan temporary, and fills an in-memory table itself. Like
//! PostgreSQL's, it shadows a table of the same name for this session.

use super::outcome::{Done, Outcome};
use super::session::Session;
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use datafusion::catalog::MemTable;
use datafusion::logical_expr::{CreateMemoryTable, DdlStatement, LogicalPlan};
use datafusion::sql::sqlparser::ast::Statement;
use std::sync::Arc;

/// The statement to plan for a temporary CREATE TABLE, or None for any other statement.
pub(super) fn as_plain(statement: &Statement) -> Option<Statement> {
    match statement {
        Statement::CreateTable(c) if c.temporary => {
            let mut plain = c.clone();
            plain.temporary = false;
            Some(Statement::CreateTable(plain))
        }
        _ => None,
    }
}

/// The plan of `as_plain`'s statement, marked temporary again.
pub(super) fn marked(plan: LogicalPlan) -> LogicalPlan {
    match plan {
        LogicalPlan::Ddl(DdlStatement::CreateMemoryTable(mut c)) => {
            c.temporary = true;
            LogicalPlan::Ddl(DdlStatement::CreateMemoryTable(c))
        }
        other => other,
    }
}

impl Session {
    pub(super) async fn create_temporary(&self, c: &CreateMemoryTable) -> Result<Outcome> {
        let ctx = self.ctx();
        if ctx.table_exist(c.name.clone())? {
            if c.if_not_exists {
                return Ok(Outcome::Done(Done::new("CREATE TABLE")));
            }
            if !c.or_replace {
                return Err(CipError::invalid(
                    sqlstate::DUPLICATE_TABLE,
                    format!("relation \"{}\" already exists", c.name.table()),
                ));
            }
        }
        let schema = c.input.schema().inner().clone();
        let empty = matches!(*c.input, LogicalPlan::EmptyRelation(_));
        let rows = if empty {
            Vec::new()
        } else {
            ctx.execute_logical_plan((*c.input).clone())
                .await?
                .collect()
                .await?
        };
        let n: usize = rows.iter().map(|b| b.num_rows()).sum();
        let table = MemTable::try_new(schema, vec![rows])?;
        ctx.deregister_table(c.name.clone())?;
        ctx.register_table(c.name.clone(), Arc::new(table))?;
        Ok(Outcome::Done(if empty {
            Done::new("CREATE TABLE")
        } else {
            Done::with_rows("SELECT", n as u64)
        }))
    }
}
