//! CREATE TABLE [AS] and DROP TABLE as durable warehouse tables: DataFusion plans the
//! statement (the columns, the query of CREATE TABLE AS); cip creates the table in the store —
//! Parquet parts, log and manifest like any other — and fills it, in one transaction (a
//! block's: others see the table at its COMMIT). A TEMPORARY table stays in the session's
//! memory (temporary.rs).

use super::outcome::{Done, Outcome};
use super::session::Session;
use super::shared_objects::reference;
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::TableReference;
use datafusion::logical_expr::{CreateMemoryTable, DdlStatement, DropTable, LogicalPlan};
use datafusion::sql::sqlparser::ast::Statement;
use std::sync::Arc;

/// The store's name of a table: `table` in public, else `schema.table`.
fn stored_name(r: &TableReference) -> Result<String> {
    if r.catalog().is_some_and(|c| c != "cip") {
        return Err(CipError::invalid(
            sqlstate::FEATURE_NOT_SUPPORTED,
            format!("cross-database references are not implemented: {r}"),
        ));
    }
    Ok(super::shared_objects::stored_name(
        r.schema().unwrap_or("public"),
        r.table(),
    ))
}

/// The types a stored table keeps: view and large string / binary types as their plain ones
/// (what the warehouse's Parquet and the wire encode), and the types declared over them.
pub(super) fn stored_schema(schema: &Schema) -> SchemaRef {
    let plain = |t: &DataType| match t {
        DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
        DataType::BinaryView | DataType::LargeBinary => DataType::Binary,
        other => other.clone(),
    };
    Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| {
                let stored = Field::new(f.name(), plain(f.data_type()), f.is_nullable());
                // A declared type (uuid, varchar(n)) stays one, as in PostgreSQL.
                match crate::column_types::ColumnType::of(f) {
                    Some(t) => t.tag(stored),
                    None => stored,
                }
            })
            .collect::<Vec<_>>(),
    ))
}

fn conform(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| cast(c, f.data_type()))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

impl Session {
    /// Runs CREATE TABLE [AS] / DROP TABLE of a stored table; None for any other plan.
    pub(super) async fn stored_ddl(
        &self,
        plan: &LogicalPlan,
        statement: Option<&Statement>,
    ) -> Result<Option<Outcome>> {
        match plan {
            LogicalPlan::Ddl(DdlStatement::CreateMemoryTable(c)) if c.temporary => {
                self.create_temporary(c).await.map(Some)
            }
            LogicalPlan::Ddl(DdlStatement::CreateMemoryTable(c)) => {
                self.create_stored(c, statement).await.map(Some)
            }
            LogicalPlan::Ddl(DdlStatement::DropTable(d)) => self.drop_stored(d).await,
            _ => Ok(None),
        }
    }

    async fn create_stored(
        &self,
        c: &CreateMemoryTable,
        statement: Option<&Statement>,
    ) -> Result<Outcome> {
        let name = stored_name(&c.name)?;
        self.actor().require_write("CREATE TABLE")?;
        let schema = c.name.schema().unwrap_or("public");
        if self.index_table(schema, c.name.table()).is_some() {
            return Err(CipError::invalid(
                sqlstate::DUPLICATE_TABLE,
                format!("relation \"{}\" already exists (an index)", c.name.table()),
            ));
        }
        let replace = match self.table_now(&name) {
            None => false,
            Some(_) if c.if_not_exists => return Ok(Outcome::Done(Done::new("CREATE TABLE"))),
            Some(_) if c.or_replace && self.is_run_time(&name) => true,
            Some(_) => {
                return Err(CipError::invalid(
                    sqlstate::DUPLICATE_TABLE,
                    format!("relation \"{name}\" already exists"),
                ))
            }
        };
        let schema = stored_schema(c.input.schema().inner());
        let declared = self.declared(c, statement).await?;
        let rows = match *c.input {
            LogicalPlan::EmptyRelation(_) => None,
            _ => {
                let batches = self
                    .ctx()
                    .execute_logical_plan((*c.input).clone())
                    .await?
                    .collect()
                    .await?;
                let conformed = batches.iter().map(|b| conform(b, &schema));
                Some(conformed.collect::<Result<Vec<_>>>()?)
            }
        };
        // The table and its rows are one transaction: the block's, or one of its own.
        let n = name.clone();
        let (table, added) = self
            .table_ddl("CREATE TABLE", move |txn| {
                if replace {
                    txn.drop_table(&n)?;
                }
                let table = txn.create_table(&n, &schema, &declared)?;
                let added = match &rows {
                    Some(rows) => Some(txn.append(&table, rows)?),
                    None => None,
                };
                Ok((table, added))
            })
            .await?;
        self.registered(&name, table).await?;
        Ok(Outcome::Done(match added {
            Some(n) => Done::with_rows("SELECT", n),
            None => Done::new("CREATE TABLE"),
        }))
    }

    async fn drop_stored(&self, d: &DropTable) -> Result<Option<Outcome>> {
        let name = stored_name(&d.name)?;
        if !self.is_run_time(&name) {
            // A TEMPORARY table, or none: DataFusion answers (IF EXISTS, 42P01).
            return Ok(None);
        }
        self.actor().require_write("DROP TABLE")?;
        self.drop_run_time_table(&name).await?;
        Ok(Some(Outcome::Done(Done::new("DROP TABLE"))))
    }

    /// Drops a table created at run time: in a block, at its COMMIT (the session stops seeing
    /// it at once).
    pub(super) async fn drop_run_time_table(&self, name: &str) -> Result<()> {
        let gone = name.to_string();
        self.table_ddl("DROP TABLE", move |txn| txn.drop_table(&gone))
            .await?;
        super::shared_objects::deregister(self.ctx(), reference(name))
    }
}
