//! `ALTER INDEX name RENAME TO new` (Django's and Alembic's renames) of an index CREATE INDEX
//! made (index.rs): the table's definition keeps it under the new name. A primary key's
//! index is named after its table in cip (`<table>_pkey`), so it follows a table's rename
//! instead (0A000).

use super::ddl::{fold, qualified};
use super::index::undefined_index;
use super::outcome::{Done, Outcome};
use super::session::Session;
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use datafusion::sql::sqlparser::ast::{AlterIndexOperation, ObjectName, ObjectNamePart};

impl Session {
    pub(super) async fn alter_index(
        &self,
        name: &ObjectName,
        operation: &AlterIndexOperation,
    ) -> Result<Outcome> {
        let AlterIndexOperation::RenameIndex { index_name } = operation;
        let Some((schema, index)) = qualified(name) else {
            return Err(undefined_index(&name.to_string()));
        };
        let to = match index_name.0.as_slice() {
            [ObjectNamePart::Identifier(i)] => fold(i),
            _ => {
                return Err(CipError::invalid(
                    sqlstate::SYNTAX_ERROR,
                    "an index's new name cannot be qualified: it stays in its table's schema",
                ))
            }
        };
        let Some(table) = self.index_table(&schema, &index) else {
            if self.key_index_table(&schema, &index).await?.is_some() {
                return Err(CipError::invalid(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    format!(
                        "\"{index}\" is a primary key's index, named after its table in cip; \
                         it follows ALTER TABLE … RENAME TO"
                    ),
                ));
            }
            if self.relation(&schema, &index).await?.is_some() {
                return Err(CipError::invalid(
                    sqlstate::WRONG_OBJECT_TYPE,
                    format!("\"{index}\" is not an index"),
                ));
            }
            return Err(undefined_index(&index));
        };
        if self.relation_taken(&schema, &to).await? {
            return Err(CipError::invalid(
                sqlstate::DUPLICATE_TABLE,
                format!("relation \"{to}\" already exists"),
            ));
        }
        self.actor().require_write("ALTER INDEX")?;
        let at = table.clone();
        let renamed = self
            .table_ddl("ALTER INDEX", move |txn| txn.rename_index(&at, &index, &to))
            .await?;
        self.registered(&table, renamed).await?;
        Ok(Outcome::Done(Done::new("ALTER INDEX")))
    }
}
