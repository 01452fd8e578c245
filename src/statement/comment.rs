//! `COMMENT ON TABLE t IS '…'` and `COMMENT ON COLUMN t.c IS '…'` (dbt's `persist_docs`,
//! SQLAlchemy's and knex's `comment`, Alembic) on a table created with SQL: the description
//! is kept with the table's definition (storage/txn_describe.rs), in a block at its COMMIT,
//! and listed where PostgreSQL lists it (pg_description, obj_description, col_description).
//! `COMMENT ON VIEW v` / `COMMENT ON COLUMN v.c` (dbt's persist_docs on a view model) of a
//! view a user saved: kept with the view (catalog/user_views.rs), across CREATE OR REPLACE
//! and a rename. `IS NULL` or `IS ''` removes it. Other objects — cip's built-in views and the
//! warehouse's own tables, documented in DESIGN.md, functions — are refused with 0A000 rather
//! than accepted and forgotten.

use super::ddl::fold;
use super::outcome::{Done, Outcome};
use super::session::Session;
use super::shared_objects::stored_name;
use crate::catalog::user_views::Change;
use crate::error::sqlstate;
use crate::error::{CipError, Result};
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
        (CommentObject::Table | CommentObject::View, [t]) => (public(t), None),
        (CommentObject::Table | CommentObject::View, [s, t]) => ((s.clone(), t.clone()), None),
        (CommentObject::Column, [t, c]) => (public(t), Some(c.clone())),
        (CommentObject::Column, [s, t, c]) => ((s.clone(), t.clone()), Some(c.clone())),
        (CommentObject::Table | CommentObject::View, [db, s, t]) if db == "cip" => {
            ((s.clone(), t.clone()), None)
        }
        (CommentObject::Column, [db, s, t, c]) if db == "cip" => {
            ((s.clone(), t.clone()), Some(c.clone()))
        }
        (CommentObject::Table | CommentObject::View | CommentObject::Column, _) => {
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
        let view = format!("{schema}.{table}");
        if self.has_saved_view(&view) {
            return self.describe_view(kind, view, column, text).await;
        }
        if *kind == CommentObject::View && self.is_run_time(&stored) {
            return Err(not_a(&table, "view"));
        }
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
        self.actor().require_write("COMMENT")?;
        let (at, text) = (stored.clone(), text.map(str::to_string));
        let described = self
            .table_ddl("COMMENT", move |txn| {
                txn.describe(&at, column.as_deref(), text.as_deref())
            })
            .await?;
        self.registered(&stored, described).await?;
        Ok(Outcome::Done(Done::new("COMMENT")))
    }

    /// COMMENT ON VIEW, or on a column of a view, a user saved: kept with the view, at once
    /// or at the block's COMMIT.
    async fn describe_view(
        &self,
        kind: &CommentObject,
        view: String,
        column: Option<String>,
        text: Option<&str>,
    ) -> Result<Outcome> {
        if *kind == CommentObject::Table {
            return Err(not_a(&view, "table"));
        }
        if let Some(c) = &column {
            let (schema, name) = view.split_once('.').unwrap_or(("public", &view));
            let found = self.relation(schema, name).await?;
            if found.is_none_or(|v| v.schema().index_of(c).is_err()) {
                return Err(CipError::invalid(
                    sqlstate::UNDEFINED_COLUMN,
                    format!("column \"{c}\" of relation \"{name}\" does not exist"),
                ));
            }
        }
        let text = text.map(str::to_string);
        self.change_saved(vec![Change::Describe { view, column, text }])
            .await?;
        Ok(Outcome::Done(Done::new("COMMENT")))
    }
}

/// PostgreSQL's 42809 for COMMENT ON TABLE of a view and COMMENT ON VIEW of a table.
fn not_a(name: &str, what: &str) -> CipError {
    CipError::invalid(
        sqlstate::WRONG_OBJECT_TYPE,
        format!("\"{name}\" is not a {what}"),
    )
}
