//! CREATE TABLE [AS] and DROP TABLE as durable warehouse tables: DataFusion plans the
//! statement (the columns, the query of CREATE TABLE AS); cip creates the table in the store —
//! Parquet parts, log and manifest like any other — and fills it. A TEMPORARY table stays in
//! the session's memory (temporary.rs).

use super::outcome::{Done, Outcome};
use super::session::Session;
use super::shared_objects::{reference, register_stored};
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use crate::identity::Actor;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::TableReference;
use datafusion::logical_expr::{CreateMemoryTable, DdlStatement, DropTable, LogicalPlan};
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
/// (what the warehouse's Parquet and the wire encode).
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
            .map(|f| Field::new(f.name(), plain(f.data_type()), f.is_nullable()))
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
    pub(super) async fn stored_ddl(&self, plan: &LogicalPlan) -> Result<Option<Outcome>> {
        match plan {
            LogicalPlan::Ddl(DdlStatement::CreateMemoryTable(c)) if c.temporary => {
                self.create_temporary(c).await.map(Some)
            }
            LogicalPlan::Ddl(DdlStatement::CreateMemoryTable(c)) => {
                self.create_stored(c).await.map(Some)
            }
            LogicalPlan::Ddl(DdlStatement::DropTable(d)) => self.drop_stored(d).await,
            _ => Ok(None),
        }
    }

    async fn create_stored(&self, c: &CreateMemoryTable) -> Result<Outcome> {
        let name = stored_name(&c.name)?;
        Actor::of(&self.ctx().state()).require_write("CREATE TABLE")?;
        let store = self.engine.store.clone();
        if store.table(&name).is_ok() {
            if c.if_not_exists {
                return Ok(Outcome::Done(Done::new("CREATE TABLE")));
            }
            if !(c.or_replace && store.created_at_run_time(&name)) {
                return Err(CipError::invalid(
                    sqlstate::DUPLICATE_TABLE,
                    format!("relation \"{name}\" already exists"),
                ));
            }
            let gone = name.clone();
            let s = store.clone();
            super::runtime::blocking("DROP TABLE", move || s.drop_table(&gone)).await?;
        }
        let schema = stored_schema(c.input.schema().inner());
        let (s, n, sc) = (store.clone(), name.clone(), schema.clone());
        let table =
            super::runtime::blocking("CREATE TABLE", move || s.create_table(&n, &sc)).await?;
        register_stored(self.ctx(), &name, table.clone())?;
        // Made at once; a block that does not commit drops it again.
        let (undo_store, made) = (store.clone(), name.clone());
        self.state()
            .tx
            .with_txn(|txn| txn.on_rollback(Box::new(move || undo_store.drop_table(&made))));
        if matches!(*c.input, LogicalPlan::EmptyRelation(_)) {
            return Ok(Outcome::Done(Done::new("CREATE TABLE")));
        }
        let rows = self
            .ctx()
            .execute_logical_plan((*c.input).clone())
            .await?
            .collect()
            .await?;
        let rows = rows
            .iter()
            .map(|b| conform(b, &schema))
            .collect::<Result<Vec<_>>>()?;
        // Inside a block the rows are the block's (the table itself exists at once).
        let slot = self.state().tx.slot();
        let n = super::runtime::blocking("CREATE TABLE AS", move || {
            if let Some(txn) = slot.lock().as_mut() {
                return txn.append(&table, &rows);
            }
            table.append(&rows)
        })
        .await?;
        Ok(Outcome::Done(Done::with_rows("SELECT", n)))
    }

    async fn drop_stored(&self, d: &DropTable) -> Result<Option<Outcome>> {
        let name = stored_name(&d.name)?;
        let store = self.engine.store.clone();
        if !store.created_at_run_time(&name) {
            // A TEMPORARY table, or none: DataFusion answers (IF EXISTS, 42P01).
            return Ok(None);
        }
        Actor::of(&self.ctx().state()).require_write("DROP TABLE")?;
        self.drop_run_time_table(&name).await?;
        self.ctx().deregister_table(reference(&name))?;
        Ok(Some(Outcome::Done(Done::new("DROP TABLE"))))
    }

    /// Drops a table created at run time. In a block its folder is only moved aside until
    /// the block commits, and put back if it does not (storage/detach.rs).
    pub(super) async fn drop_run_time_table(&self, name: &str) -> Result<()> {
        let store = self.engine.store.clone();
        let gone = name.to_string();
        if self.state().tx.with_txn(|_| ()).is_none() {
            return super::runtime::blocking("DROP TABLE", move || store.drop_table(&gone)).await;
        }
        let s = store.clone();
        let detached =
            super::runtime::blocking("DROP TABLE", move || s.detach_table(&gone)).await?;
        let (undo, finish) = crate::storage::undo_and_finish(&store, detached);
        self.state().tx.with_txn(|txn| {
            txn.forget(name);
            txn.on_rollback_or_commit(undo, finish);
        });
        Ok(())
    }
}
