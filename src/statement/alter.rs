//! `ALTER TABLE`: RENAME TO (rename.rs) and `ADD [COLUMN] [IF NOT EXISTS] name type` — what
//! dbt's `on_schema_change: append_new_columns` sends, several ADDs in one statement — for
//! tables created with CREATE TABLE. The column's type is planned by DataFusion as in CREATE
//! TABLE; the table gains it without a rewrite (storage/txn_ddl.rs) — in a block, at its COMMIT. Other forms answer 0A000.

use super::ddl::{fold, qualified};
use super::outcome::{Done, Outcome};
use super::rename::undefined;
use super::session::Session;
use super::shared_objects::stored_name;
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use crate::identity::Actor;
use datafusion::arrow::datatypes::Field;
use datafusion::logical_expr::{DdlStatement, LogicalPlan};
use datafusion::sql::sqlparser::ast::{AlterTable, AlterTableOperation, ColumnDef, ColumnOption};

fn unsupported(what: &str) -> CipError {
    CipError::invalid(
        sqlstate::FEATURE_NOT_SUPPORTED,
        format!(
            "ALTER TABLE supports RENAME TO and ADD COLUMN; {what} is not supported (create a \
             new table with CREATE TABLE … AS SELECT, then swap the names with RENAME TO)"
        ),
    )
}

/// The ADD COLUMN operations of `a`, or None when it is not made of them only.
fn added(a: &AlterTable) -> Option<Vec<(&ColumnDef, bool)>> {
    a.operations
        .iter()
        .map(|op| match op {
            AlterTableOperation::AddColumn {
                column_def,
                if_not_exists,
                column_position: None,
                ..
            } => Some((column_def, *if_not_exists)),
            _ => None,
        })
        .collect()
}

/// Whether cip runs `a` itself (else DataFusion is asked, and refuses).
pub(super) fn is_supported(a: &AlterTable) -> bool {
    super::rename::is_rename(a) || added(a).is_some()
}

/// Refuses column options an added column cannot have without rewriting the rows it gives a
/// value: only NULL (the default) is allowed.
fn check_options(c: &ColumnDef) -> Result<()> {
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
        let Some(columns) = added(a) else {
            let ops: Vec<String> = a.operations.iter().map(|o| o.to_string()).collect();
            return Err(unsupported(&ops.join(", ")));
        };
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
                    format!("\"{object}\" is a view: columns are added to its query"),
                ));
            }
            return match a.if_exists {
                true => Ok(done),
                false => Err(undefined(&object)),
            };
        };
        Actor::of(&self.ctx().state()).require_write("ALTER TABLE")?;
        let mut fields: Vec<Field> = Vec::new();
        for (c, if_not_exists) in columns {
            check_options(c)?;
            let field = self.column_field(c).await?;
            let exists = table.def.schema.field_with_name(field.name()).is_ok()
                || fields.iter().any(|f| f.name() == field.name());
            if exists && if_not_exists {
                let message = format!(
                    "column \"{}\" of relation \"{object}\" already exists, skipping",
                    field.name()
                );
                let notice = ("NOTICE", sqlstate::DUPLICATE_COLUMN, message);
                self.state().notices.push(notice);
                continue;
            }
            fields.push(field);
        }
        if fields.is_empty() {
            return Ok(done);
        }
        let n = name.clone();
        let table = self
            .table_ddl("ALTER TABLE", move |txn| txn.add_columns(&n, &fields))
            .await?;
        self.registered(&name, table).await?;
        Ok(done)
    }

    /// The stored field of an added column: its type as CREATE TABLE would give it.
    async fn column_field(&self, c: &ColumnDef) -> Result<Field> {
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
