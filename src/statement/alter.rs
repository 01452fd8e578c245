//! `ALTER TABLE` of tables created with CREATE TABLE: RENAME TO (rename.rs), and the column
//! operations migrations send (knex's renameColumn / dropColumn / .alter(), dbt's
//! `on_schema_change`), several in one statement, applied in order as one change — in a
//! block, at its COMMIT: `ADD [COLUMN] [IF NOT EXISTS] name type` (nullable, nothing
//! rewritten: storage/txn_ddl.rs), and `DROP COLUMN`, `RENAME COLUMN`, `ALTER COLUMN … SET /
//! DROP DEFAULT | SET / DROP NOT NULL | TYPE` (alter_columns.rs; storage/txn_reshape.rs
//! rewrites the rows when they must follow). Types are planned by DataFusion as in CREATE
//! TABLE. Other forms answer 0A000.

use super::alter_columns::Step;
use super::ddl::{fold, qualified};
use super::outcome::{Done, Outcome};
use super::rename::undefined;
use super::session::Session;
use super::shared_objects::stored_name;
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use datafusion::arrow::datatypes::Field;
use datafusion::logical_expr::{DdlStatement, LogicalPlan};
use datafusion::sql::sqlparser::ast::{AlterTable, AlterTableOperation, ColumnDef, ColumnOption};

pub(super) fn unsupported(what: &str) -> CipError {
    CipError::invalid(
        sqlstate::FEATURE_NOT_SUPPORTED,
        format!(
            "ALTER TABLE supports RENAME TO and ADD / DROP / RENAME / ALTER COLUMN; {what} is \
             not supported (create a new table with CREATE TABLE … AS SELECT, then swap the \
             names with RENAME TO)"
        ),
    )
}

/// Whether cip runs `op` as a column operation.
fn is_column_op(op: &AlterTableOperation) -> bool {
    matches!(
        op,
        AlterTableOperation::AddColumn {
            column_position: None,
            ..
        } | AlterTableOperation::DropColumn { .. }
            | AlterTableOperation::RenameColumn { .. }
            | AlterTableOperation::AlterColumn { .. }
    )
}

/// Whether cip runs `a` itself (else DataFusion is asked, and refuses).
pub(super) fn is_supported(a: &AlterTable) -> bool {
    super::rename::is_rename(a) || a.operations.iter().all(is_column_op)
}

/// Refuses column options an added column cannot have without rewriting the rows it gives a
/// value: only NULL (the default) is allowed.
pub(super) fn check_options(c: &ColumnDef) -> Result<()> {
    for option in &c.options {
        match &option.option {
            ColumnOption::Null => {}
            ColumnOption::NotNull => {
                return Err(CipError::invalid(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    format!(
                        "an added column cannot be NOT NULL: the rows the table has would have \
                         no value in \"{}\"; add it, fill it with UPDATE",
                        fold(&c.name)
                    ),
                ))
            }
            other => return Err(unsupported(&format!("a column added with {other}"))),
        }
    }
    Ok(())
}

impl Session {
    pub(super) async fn alter_table(&self, a: &AlterTable) -> Result<Outcome> {
        if super::rename::is_rename(a) {
            return self.rename(a).await;
        }
        if a.operations.is_empty() || !a.operations.iter().all(is_column_op) {
            let ops: Vec<String> = a.operations.iter().map(|o| o.to_string()).collect();
            return Err(unsupported(&ops.join(", ")));
        }
        let done = Outcome::Done(Done::new("ALTER TABLE"));
        let Some((schema, object)) = qualified(&a.name) else {
            return Err(undefined(&a.name.to_string()));
        };
        let name = stored_name(&schema, &object);
        let Some(table) = self.table_now(&name) else {
            if self.has_saved_view(&format!("{schema}.{object}"))
                || (schema == "public" && self.engine.view_names().contains(&object))
            {
                return Err(CipError::invalid(
                    sqlstate::WRONG_OBJECT_TYPE,
                    format!("\"{object}\" is a view: its columns are its query's"),
                ));
            }
            return match a.if_exists {
                true => Ok(done),
                false => Err(undefined(&object)),
            };
        };
        self.actor().require_write("ALTER TABLE")?;
        let steps = self
            .column_steps(&a.operations, &table, &schema, &object)
            .await?;
        if steps.is_empty() {
            return Ok(done);
        }
        let n = name.clone();
        let table = self
            .table_ddl("ALTER TABLE", move |txn| {
                let mut last = None;
                for step in &steps {
                    last = Some(match step {
                        Step::Add(fields) => txn.add_columns(&n, fields)?,
                        Step::Change(changes) => txn.alter_columns(&n, changes)?,
                    });
                }
                last.ok_or_else(|| CipError::Corrupt("an ALTER TABLE with no step".into()))
            })
            .await?;
        self.registered(&name, table).await?;
        Ok(done)
    }

    /// The stored field of an added column: its type as CREATE TABLE would give it.
    pub(super) async fn column_field(&self, c: &ColumnDef) -> Result<Field> {
        let bare = ColumnDef {
            options: vec![],
            ..c.clone()
        };
        let sql = format!("CREATE TABLE cip_added_column ({bare})");
        let plan = self.ctx().state().create_logical_plan(&sql).await?;
        let LogicalPlan::Ddl(DdlStatement::CreateMemoryTable(t)) = plan else {
            return Err(unsupported(&format!("a column of type {}", c.data_type)));
        };
        let stored = super::stored::stored_schema(t.input.schema().inner());
        let field = stored.field(0).clone().with_nullable(true);
        Ok(field)
    }
}
