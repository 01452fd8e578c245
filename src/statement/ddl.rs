//! DDL that outlives the session. DataFusion runs CREATE VIEW / CREATE SCHEMA / DROP VIEW in
//! the session's catalog; here cip refuses to drop or replace what it is built on and saves
//! what succeeded (catalog/user_views.rs) — inside a block, at its COMMIT. CREATE TABLE [AS] and DROP TABLE cip runs itself
//! (stored.rs): the table is a durable warehouse table. Every session catches up with both
//! at its next statement (shared_objects.rs).

use super::session::Session;
use crate::catalog::user_views::{Change, SavedView};
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use datafusion::common::TableReference;
use datafusion::sql::sqlparser::ast::{
    ObjectName, ObjectNamePart, ObjectType, SchemaName, Statement,
};

pub(super) use crate::catalog::object_names::{fold, qualified};

/// The schema a `CREATE SCHEMA` names.
pub(super) fn schema_of(name: &SchemaName) -> Option<String> {
    match name {
        SchemaName::Simple(n) | SchemaName::NamedAuthorization(n, _) => {
            qualified(n).map(|(_, s)| s)
        }
        SchemaName::UnnamedAuthorization(i) => Some(fold(i)),
    }
}

/// The schema a `DROP SCHEMA` names: the name's last part.
pub(super) fn schema_named(name: &ObjectName) -> Option<String> {
    match name.0.last()? {
        ObjectNamePart::Identifier(i) => Some(fold(i)),
        _ => None,
    }
}

/// `schema.object` of each name (as saved views and the dependents check name them).
fn dotted(names: &[ObjectName]) -> Vec<String> {
    names
        .iter()
        .filter_map(qualified)
        .map(|(s, o)| format!("{s}.{o}"))
        .collect()
}

impl Session {
    /// DROP SCHEMA … CASCADE: the tables made with SQL in it go too (the session's names for
    /// them went with its schema).
    async fn drop_tables_in(&self, schema: &str) -> Result<()> {
        let prefix = format!("{schema}.");
        for name in self.run_time_names() {
            if name.starts_with(&prefix) {
                self.drop_run_time_table(&name).await?;
            }
        }
        Ok(())
    }

    /// Refuses (42501) an analyst's DDL outside their own schema, and anyone's drop or
    /// replacement of a table of the warehouse or a view of queries/.
    pub(super) fn guard_ddl(&self, statement: &Statement) -> Result<()> {
        self.guard_own_schema(statement)?;
        let targets: Vec<&ObjectName> = match statement {
            Statement::CreateView(v) if v.or_replace && !v.temporary => vec![&v.name],
            Statement::Drop {
                object_type: ObjectType::View | ObjectType::Table,
                names,
                ..
            } => names.iter().collect(),
            Statement::Drop {
                object_type: ObjectType::Schema,
                ..
            } => return self.guard_dependents(statement),
            _ => return Ok(()),
        };
        for name in targets {
            let Some((schema, object)) = qualified(name) else {
                continue;
            };
            if schema != "public" {
                continue;
            }
            if self.engine.view_names().contains(&object) {
                return Err(CipError::invalid(
                    sqlstate::INSUFFICIENT_PRIVILEGE,
                    format!(
                        "\"{object}\" is one of cip's built-in views; change it by editing its \
                         file in queries/ (README, \"Views\") and restarting, or create a view \
                         of your own under another name"
                    ),
                ));
            }
            let store = &self.engine.store;
            if store.table(&object).is_ok() && !store.created_at_run_time(&object) {
                return Err(CipError::invalid(
                    sqlstate::INSUFFICIENT_PRIVILEGE,
                    format!(
                        "\"{object}\" is one of the warehouse's tables and cannot be dropped or \
                         replaced; DELETE or TRUNCATE its rows instead"
                    ),
                ));
            }
        }
        self.guard_dependents(statement)
    }

    /// Refuses (2BP01) a DROP without CASCADE of what saved views read, or of a schema that
    /// holds views or tables.
    fn guard_dependents(&self, statement: &Statement) -> Result<()> {
        let Statement::Drop {
            object_type,
            names,
            cascade: false,
            ..
        } = statement
        else {
            return Ok(());
        };
        let saved = self.saved_now();
        match object_type {
            ObjectType::View | ObjectType::Table => {
                let kind = object_type.to_string().to_lowercase();
                super::dependents::to_drop_first(&saved, &kind, &dotted(names), false)?;
            }
            ObjectType::Schema => {
                for schema in names.iter().filter_map(schema_named) {
                    let prefix = format!("{schema}.");
                    let views = saved.views.iter().map(|v| v.name.clone());
                    let held: Vec<String> = views
                        .chain(self.run_time_names())
                        .filter(|n| n.starts_with(&prefix))
                        .collect();
                    if !held.is_empty() {
                        return Err(super::dependents::still_needed("schema", &schema, &held));
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// After DDL succeeded: saves the view or schema it made, forgets the ones it dropped
    /// (inside a block, at its COMMIT).
    pub(super) async fn remember_ddl(&self, statement: &Statement) -> Result<()> {
        let mut changes = Vec::new();
        match statement {
            Statement::CreateView(v) if !v.temporary && !v.materialized => {
                let Some((schema, object)) = qualified(&v.name) else {
                    return Ok(());
                };
                let mut again = v.clone();
                again.or_replace = true;
                again.if_not_exists = false;
                let view = SavedView {
                    name: format!("{schema}.{object}"),
                    sql: Statement::CreateView(again).to_string(),
                    owner: self.actor().name,
                    descriptions: Vec::new(),
                };
                // IF NOT EXISTS of an existing view changed nothing.
                if !(v.if_not_exists && self.has_saved_view(&view.name)) {
                    let replace = v.or_replace;
                    changes.push(Change::PutView { view, replace });
                }
            }
            Statement::CreateSchema { schema_name, .. } => {
                changes.extend(schema_of(schema_name).map(Change::PutSchema));
            }
            Statement::Drop {
                object_type: object_type @ (ObjectType::View | ObjectType::Table),
                names,
                cascade,
                ..
            } => {
                let targets = dotted(names);
                if *object_type == ObjectType::View {
                    changes.extend(targets.iter().cloned().map(Change::DropView));
                }
                if *cascade {
                    let now = self.saved_now();
                    for view in super::dependents::dependents(&now, &targets).iter().rev() {
                        changes.push(Change::DropView(view.clone()));
                        let r = TableReference::from(view.as_str());
                        super::shared_objects::deregister(self.ctx(), r)?;
                    }
                }
            }
            Statement::Drop {
                object_type: ObjectType::Schema,
                names,
                cascade,
                ..
            } => {
                for schema in names.iter().filter_map(schema_named) {
                    changes.push(Change::DropSchema(schema.clone()));
                    if *cascade {
                        self.drop_tables_in(&schema).await?;
                    }
                }
            }
            _ => {}
        }
        self.change_saved(changes).await
    }
}
