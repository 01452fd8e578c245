//! `COMMENT ON TABLE t IS '…'` and `COMMENT ON COLUMN t.c IS '…'` (dbt's `persist_docs`,
//! SQLAlchemy's and knex's `comment`, Alembic) on a table created with SQL: the description
//! is kept with the table's definition (storage/txn_describe.rs), in a block at its COMMIT,
//! and listed where PostgreSQL lists it (pg_description, obj_description, col_description).
//! `IS NULL` or `IS ''` removes it. Other objects — views among them, kept as SQL text, and
//! the warehouse's own tables, documented in DESIGN.md — are refused with 0A000 rather than
//! accepted and forgotten.

use super::ddl::fold;
use super::outcome::{Done, Outcome};
use super::session::Session;
use super::shared_objects::stored_name;
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use crate::identity::Actor;
use datafusion::sql::sqlparser::ast::{CommentObject, ObjectName, ObjectNamePart};

fn unsupported(what: &str) -> CipError {
    CipError::invalid(
        sqlstate::FEATURE_NOT_SUPPORTED,
        format!(
            "COMMENT ON {what} is not supported: cip keeps descriptions of the tables created \
             with CREATE TABLE and of their columns"
        ),
    )
}

/// (schema, table, column) a COMMENT names.
fn target(kind: &CommentObject, name: &ObjectName) -> Result<(String, String, Option<String>)> {
    let parts: Vec<String> = (name.0.iter())
        .map(|p| match p {
            ObjectNamePart::Identifier(i) => Some(fold(i)),
            _ => None,
        })
        .collect::<Option<_>>()
        .ok_or_else(|| unsupported(&name.to_string()))?;
    let public = |t: &str| ("public".to_string(), t.to_string());
    let ((schema, table), column) = match (kind, parts.as_slice()) {
        (CommentObject::Table, [t]) => (public(t), None),
        (CommentObject::Table, [s, t]) => ((s.clone(), t.clone()), None),
        (CommentObject::Column, [t, c]) => (public(t), Some(c.clone())),
        (CommentObject::Column, [s, t, c]) => ((s.clone(), t.clone()), Some(c.clone())),
        (CommentObject::Table, [db, s, t]) if db == "cip" => ((s.clone(), t.clone()), None),
        (CommentObject::Column, [db, s, t, c]) if db == "cip" => {
            ((s.clone(), t.clone()), Some(c.clone()))
        }
        (CommentObject::Table | CommentObject::Column, _) => {
            return Err(CipError::invalid(
                sqlstate::SYNTAX_ERROR,
                format!("improper relation name (too many dotted names): {name}"),
            ))
        }
        (other, _) => return Err(unsupported(&other.to_string())),
    };
    Ok((schema, table, column))
}

impl Session {
    pub(super) async fn comment(
        &self,
        kind: &CommentObject,
        name: &ObjectName,
        text: Option<&str>,
        if_exists: bool,
    ) -> Result<Outcome> {
        let (schema, table, column) = target(kind, name)?;
        let stored = stored_name(&schema, &table);
        if !self.is_run_time(&stored) {
            match self.relation(&schema, &table).await? {
                Some(_) => {
                    return Err(unsupported(&format!(
                        "\"{table}\", which is a view or one of the warehouse's tables,"
                    )))
                }
                None if if_exists => return Ok(Outcome::Done(Done::new("COMMENT"))),
                None => {
                    return Err(CipError::invalid(
                        sqlstate::UNDEFINED_TABLE,
                        format!("relation \"{table}\" does not exist"),
                    ))
                }
            }
        }
        Actor::of(&self.ctx().state()).require_write("COMMENT")?;
        let (at, text) = (stored.clone(), text.map(str::to_string));
        let described = self
            .table_ddl("COMMENT", move |txn| {
                txn.describe(&at, column.as_deref(), text.as_deref())
            })
            .await?;
        self.registered(&stored, described).await?;
        Ok(Outcome::Done(Done::new("COMMENT")))
    }
}
