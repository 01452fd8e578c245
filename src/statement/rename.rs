//! `ALTER TABLE name RENAME TO new` (what dbt sends for its tables and views alike) of a table
//! created with CREATE TABLE or a saved view; the new name stays in the old one's schema, as
//! in PostgreSQL. ADD COLUMN is alter.rs's.

use super::ddl::{fold, qualified};
use super::outcome::{Done, Outcome};
use super::session::Session;
use super::shared_objects::{reference, stored_name as stored};
use crate::catalog::user_views::{Change, SavedView};
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use datafusion::common::TableReference;
use datafusion::sql::sqlparser::ast::{
    AlterTable, AlterTableOperation, Ident, ObjectName, ObjectNamePart, RenameTableNameKind,
    Statement,
};
use datafusion::sql::sqlparser::dialect::PostgreSqlDialect;
use datafusion::sql::sqlparser::parser::Parser;

pub(super) fn is_rename(a: &AlterTable) -> bool {
    matches!(
        a.operations.as_slice(),
        [AlterTableOperation::RenameTable { .. }]
    )
}

pub(super) fn undefined(name: &str) -> CipError {
    CipError::invalid(
        sqlstate::UNDEFINED_TABLE,
        format!("relation \"{name}\" does not exist"),
    )
}

impl Session {
    pub(super) async fn rename(&self, a: &AlterTable) -> Result<Outcome> {
        let [AlterTableOperation::RenameTable {
            table_name: RenameTableNameKind::To(new) | RenameTableNameKind::As(new),
        }] = a.operations.as_slice()
        else {
            return Err(CipError::invalid(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "ALTER TABLE supports RENAME TO only",
            ));
        };
        let (schema, old) = qualified(&a.name).ok_or_else(|| undefined(&a.name.to_string()))?;
        let new = match new.0.last() {
            Some(ObjectNamePart::Identifier(i)) => fold(i),
            _ => return Err(undefined(&new.to_string())),
        };
        let done = Outcome::Done(Done::new("ALTER TABLE"));
        let (from, to) = (stored(&schema, &old), stored(&schema, &new));
        if self.is_run_time(&from) {
            // A table is an operator's; an analyst's own views were let through by
            // guard_own_schema.
            self.actor().require_write("ALTER TABLE")?;
            if self.has_saved_view(&format!("{schema}.{new}")) {
                return Err(CipError::invalid(
                    sqlstate::DUPLICATE_TABLE,
                    format!("relation \"{new}\" already exists"),
                ));
            }
            let (f, t) = (from.clone(), to.clone());
            let table = self
                .table_ddl("ALTER TABLE", move |txn| txn.rename_table(&f, &t))
                .await?;
            self.ctx().deregister_table(reference(&from))?;
            self.registered(&to, table).await?;
            return Ok(done);
        }
        let (old_view, new_view) = (format!("{schema}.{old}"), format!("{schema}.{new}"));
        let saved = self.saved_now();
        if let Some(view) = saved.view(&old_view) {
            if saved.view(&new_view).is_some() || self.table_now(&to).is_some() {
                return Err(CipError::invalid(
                    sqlstate::DUPLICATE_TABLE,
                    format!("relation \"{new}\" already exists"),
                ));
            }
            let sql = renamed(&view.sql, &schema, &new)?;
            self.ctx().sql(&sql).await?.collect().await?;
            self.ctx()
                .deregister_table(TableReference::partial(schema.as_str(), old.as_str()))?;
            let to = SavedView {
                name: new_view,
                sql,
                owner: view.owner.clone(),
                descriptions: Vec::new(),
            };
            let from = old_view;
            self.change_saved(vec![Change::RenameView { from, to }])
                .await?;
            return Ok(done);
        }
        if a.if_exists {
            return Ok(done);
        }
        if self.table_now(&from).is_some() || self.engine.view_names().contains(&old) {
            return Err(CipError::invalid(
                sqlstate::INSUFFICIENT_PRIVILEGE,
                format!("\"{old}\" is one of cip's built-in tables or views and cannot be renamed"),
            ));
        }
        Err(undefined(&old))
    }
}

/// A saved view's statement under a new name in `schema`.
fn renamed(sql: &str, schema: &str, name: &str) -> Result<String> {
    let mut parsed = Parser::parse_sql(&PostgreSqlDialect {}, sql)
        .map_err(|e| CipError::Corrupt(format!("a saved view does not parse: {e}")))?;
    let Some(Statement::CreateView(mut v)) = parsed.pop() else {
        return Err(CipError::Corrupt(
            "a saved view is not a CREATE VIEW".into(),
        ));
    };
    v.name = ObjectName(vec![
        ObjectNamePart::Identifier(Ident::with_quote('"', schema)),
        ObjectNamePart::Identifier(Ident::with_quote('"', name)),
    ]);
    Ok(Statement::CreateView(v).to_string())
}
