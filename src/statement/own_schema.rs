//! What an analyst may define: views in a schema of their own, named as they are (PostgreSQL's
//! `$user` schema), and that schema itself. Everything else that defines or drops objects is
//! an operator's (42501): views elsewhere, which others read as the warehouse's, and tables,
//! which hold data. Temporary views and tables are the session's own and anyone's.

use super::ddl::{qualified, schema_named, schema_of};
use super::session::Session;
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use crate::identity::{Actor, Role};
use datafusion::sql::sqlparser::ast::{CommentObject, ObjectName, ObjectType, Statement};

fn refused(actor: &Actor, what: &str) -> CipError {
    CipError::invalid(
        sqlstate::INSUFFICIENT_PRIVILEGE,
        format!(
            "permission denied: an analyst defines views in the schema named after them only \
             (CREATE SCHEMA IF NOT EXISTS \"{0}\"; CREATE VIEW \"{0}\".… AS …); {what} needs \
             the operator role",
            actor.name
        ),
    )
}

impl Session {
    /// Refuses (42501) an analyst's DDL outside their own schema.
    pub(super) fn guard_own_schema(&self, statement: &Statement) -> Result<()> {
        let actor = self.actor();
        if actor.role != Role::Analyst {
            return Ok(());
        }
        let own = |schema: Option<String>| schema.as_deref() == Some(actor.name.as_str());
        let object_schema = |name: &ObjectName| qualified(name).map(|(s, _)| s);
        let allowed = match statement {
            Statement::CreateView(v) if v.temporary => true,
            Statement::CreateView(v) => !v.materialized && own(object_schema(&v.name)),
            Statement::Drop {
                object_type: ObjectType::View,
                names,
                ..
            } => names.iter().all(|n| own(object_schema(n))),
            Statement::CreateSchema { schema_name, .. } => own(schema_of(schema_name)),
            Statement::Drop {
                object_type: ObjectType::Schema,
                names,
                ..
            } => names.iter().all(|n| own(schema_named(n))),
            // Renaming a view of their own (dbt's swap of a view model).
            Statement::AlterTable(a) => {
                super::rename::is_rename(a)
                    && own(object_schema(&a.name))
                    && qualified(&a.name)
                        .is_some_and(|(s, o)| self.has_saved_view(&format!("{s}.{o}")))
            }
            Statement::CreateTable(c) => c.temporary,
            // Describing a view of their own, or one of its columns (dbt's persist_docs).
            Statement::Comment {
                object_type,
                object_name,
                ..
            } => {
                let parts = &object_name.0;
                let view = match object_type {
                    CommentObject::View => qualified(object_name),
                    CommentObject::Column if parts.len() == 3 => {
                        qualified(&ObjectName(parts[..2].to_vec()))
                    }
                    _ => None,
                };
                view.is_some_and(|(s, v)| {
                    s == actor.name && self.has_saved_view(&format!("{s}.{v}"))
                })
            }
            Statement::CreateIndex(_)
            | Statement::AlterIndex { .. }
            | Statement::Drop {
                object_type: ObjectType::Index,
                ..
            } => false,
            _ => return Ok(()),
        };
        if allowed {
            Ok(())
        } else {
            Err(refused(&actor, &statement_kind(statement)))
        }
    }
}

fn statement_kind(statement: &Statement) -> String {
    let text = statement.to_string();
    text.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}
