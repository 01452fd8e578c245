//! CREATE INDEX and DROP INDEX, what migrations (Alembic, knex, Sequelize, Django) and dbt's
//! `indexes` config send, for tables created with CREATE TABLE. The index is part of the
//! table's definition (storage's `TableDef::indexes`): the catalog lists it like PostgreSQL
//! (catalog/indexes.rs) and it goes with the table through renames and drops. It holds no
//! structure of its own — a scan reads Parquet parts by their statistics and page index
//! either way —, so what cip cannot keep as declared is refused (0A000) rather than dropped:
//! an index on an expression, a partial index, INCLUDE, storage parameters, and a UNIQUE index
//! over other columns than the primary key's (the one uniqueness cip enforces).

use super::ddl::{fold, qualified};
use super::outcome::{Done, Outcome};
use super::session::Session;
use super::shared_objects::stored_name;
use crate::catalog::indexes::{is_method, INDEXES_PER_TABLE};
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use crate::storage::{IndexColumn, IndexDef};
use datafusion::catalog::TableProvider;
use datafusion::common::Constraint;
use datafusion::datasource::TableType;
use datafusion::sql::sqlparser::ast::{CreateIndex, Expr, IndexType, ObjectName};
use std::sync::Arc;

/// PostgreSQL's NAMEDATALEN - 1: the longest name it makes.
const MAX_NAME: usize = 63;

fn not_kept(what: &str) -> CipError {
    CipError::invalid(
        sqlstate::FEATURE_NOT_SUPPORTED,
        format!(
            "{what} is not supported in CREATE INDEX: cip keeps indexes over a table's columns \
             (btree, hash or brin, any order)"
        ),
    )
}

pub(super) fn undefined_index(name: &str) -> CipError {
    CipError::invalid(
        sqlstate::UNDEFINED_OBJECT,
        format!("index \"{name}\" does not exist"),
    )
}

/// The access method `using` names (btree when none).
fn method(using: Option<&IndexType>) -> Result<String> {
    let name = match using {
        None | Some(IndexType::BTree) => return Ok("btree".into()),
        Some(IndexType::Custom(i)) => fold(i),
        Some(other) => other.to_string().to_lowercase(),
    };
    if is_method(&name) {
        return Ok(name);
    }
    let known = ["gin", "gist", "spgist", "bloom"];
    Err(match known.contains(&name.as_str()) {
        true => not_kept(&format!("access method {name}")),
        false => CipError::invalid(
            sqlstate::UNDEFINED_OBJECT,
            format!("access method \"{name}\" does not exist"),
        ),
    })
}

/// `name1_name2_label` cut to MAX_NAME bytes as PostgreSQL's makeObjectName cuts it: the
/// longer of the two names loses a character at a time.
fn object_name(name1: &str, name2: &str, label: &str) -> String {
    let avail = MAX_NAME.saturating_sub(label.len() + 2);
    let (mut n1, mut n2) = (name1.len(), name2.len());
    while n1 + n2 > avail {
        if n1 > n2 {
            n1 -= 1;
        } else {
            n2 -= 1;
        }
    }
    let clip = |s: &str, mut n: usize| {
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        s[..n].to_string()
    };
    format!("{}_{}_{label}", clip(name1, n1), clip(name2, n2))
}

impl Session {
    /// The relation `schema.name` as this session's catalog has it (table, view, temporary).
    pub(super) async fn relation(
        &self,
        schema: &str,
        name: &str,
    ) -> Result<Option<Arc<dyn TableProvider>>> {
        let Some(found) = self.ctx().catalog("cip").and_then(|c| c.schema(schema)) else {
            return Ok(None);
        };
        Ok(found.table(name).await?)
    }

    /// The stored table holding the index `schema.index` (CREATE INDEX's), if any.
    pub(super) fn index_table(&self, schema: &str, index: &str) -> Option<String> {
        let tables = self.run_time_tables();
        let any_in_schema = stored_name(schema, index);
        let held =
            crate::storage::index_holder(tables.iter().map(|(_, t)| t), &any_in_schema, index);
        held.map(|t| t.name().to_string())
    }

    /// The table whose primary key's index `schema.index` is (`<table>_pkey`).
    pub(super) async fn key_index_table(
        &self,
        schema: &str,
        index: &str,
    ) -> Result<Option<String>> {
        let Some(table) = index.strip_suffix("_pkey") else {
            return Ok(None);
        };
        let keyed = self.relation(schema, table).await?.is_some_and(|t| {
            t.constraints()
                .is_some_and(|c| c.iter().any(|c| matches!(c, Constraint::PrimaryKey(_))))
        });
        Ok(keyed.then(|| table.to_string()))
    }

    /// Whether `schema.name` names a relation: a table, view or index.
    pub(super) async fn relation_taken(&self, schema: &str, name: &str) -> Result<bool> {
        Ok(self.relation(schema, name).await?.is_some()
            || self.index_table(schema, name).is_some()
            || self.key_index_table(schema, name).await?.is_some())
    }

    /// PostgreSQL's name for an unnamed index: `<table>_<columns>_idx` (`_key` when unique),
    /// numbered from 1 when taken.
    async fn index_name(
        &self,
        schema: &str,
        table: &str,
        columns: &[IndexColumn],
        unique: bool,
    ) -> Result<String> {
        let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
        let label = if unique { "key" } else { "idx" };
        let mut pass = 0;
        loop {
            let label = match pass {
                0 => label.to_string(),
                n => format!("{label}{n}"),
            };
            let name = object_name(table, &names.join("_"), &label);
            if !self.relation_taken(schema, &name).await? {
                return Ok(name);
            }
            pass += 1;
        }
    }

    pub(super) async fn create_index(&self, c: &CreateIndex) -> Result<Outcome> {
        let done = Outcome::Done(Done::new("CREATE INDEX"));
        if c.concurrently && self.status() != super::TxStatus::Idle {
            return Err(CipError::invalid(
                sqlstate::ACTIVE_SQL_TRANSACTION,
                "CREATE INDEX CONCURRENTLY cannot run inside a transaction block",
            ));
        }
        if c.predicate.is_some() {
            return Err(not_kept("a partial index (WHERE …)"));
        }
        if !c.include.is_empty() {
            return Err(not_kept("INCLUDE"));
        }
        if !c.with.is_empty() {
            return Err(not_kept("WITH (storage parameters)"));
        }
        if !c.index_options.is_empty() || !c.alter_options.is_empty() {
            return Err(not_kept("an index option"));
        }
        let method = method(c.using.as_ref())?;
        let Some((schema, object)) = qualified(&c.table_name) else {
            return Err(CipError::invalid(
                sqlstate::UNDEFINED_TABLE,
                format!("relation \"{}\" does not exist", c.table_name),
            ));
        };
        let stored = stored_name(&schema, &object);
        let Some(table) = self.table_now(&stored) else {
            return Err(match self.relation(&schema, &object).await? {
                Some(r) if r.table_type() == TableType::View => CipError::invalid(
                    sqlstate::WRONG_OBJECT_TYPE,
                    format!("cannot create index on relation \"{object}\": it is a view"),
                ),
                Some(_) => not_kept(&format!(
                    "an index on \"{object}\", which is not a table made with CREATE TABLE \
                     (a temporary or system table)"
                )),
                None => CipError::invalid(
                    sqlstate::UNDEFINED_TABLE,
                    format!("relation \"{object}\" does not exist"),
                ),
            });
        };
        let mut columns = Vec::with_capacity(c.columns.len());
        for column in &c.columns {
            let Expr::Identifier(ident) = &column.column.expr else {
                return Err(not_kept(&format!(
                    "an index on an expression ({})",
                    column.column.expr
                )));
            };
            let name = fold(ident);
            if table.def.schema.field_with_name(&name).is_err() {
                return Err(CipError::invalid(
                    sqlstate::UNDEFINED_COLUMN,
                    format!("column \"{name}\" does not exist"),
                ));
            }
            let descending = column.column.options.asc == Some(false);
            let nulls_first = column.column.options.nulls_first.unwrap_or(descending);
            columns.push(IndexColumn {
                name,
                descending,
                nulls_first,
            });
        }
        if c.unique {
            let mut named: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
            let mut key: Vec<&str> = table.def.key.to_vec();
            named.sort_unstable();
            named.dedup();
            key.sort_unstable();
            if !table.def.unique || named != key {
                return Err(not_kept(
                    "a UNIQUE index over other columns than the primary key's (cip enforces \
                     uniqueness through the PRIMARY KEY only)",
                ));
            }
        }
        let name = match &c.name {
            Some(ObjectName(parts)) if parts.len() != 1 => {
                return Err(CipError::invalid(
                    sqlstate::SYNTAX_ERROR,
                    "an index's name cannot be qualified: it is made in its table's schema",
                ))
            }
            Some(n) => match qualified(n) {
                Some((_, name)) => name,
                None => return Err(undefined_index(&n.to_string())),
            },
            None => {
                self.index_name(&schema, &object, &columns, c.unique)
                    .await?
            }
        };
        if self.relation_taken(&schema, &name).await? {
            if c.if_not_exists {
                let message = format!("relation \"{name}\" already exists, skipping");
                let notice = ("NOTICE", sqlstate::DUPLICATE_TABLE, message);
                self.state().notices.push(notice);
                return Ok(done);
            }
            return Err(CipError::invalid(
                sqlstate::DUPLICATE_TABLE,
                format!("relation \"{name}\" already exists"),
            ));
        }
        if table.def.indexes.len() >= INDEXES_PER_TABLE {
            return Err(CipError::invalid(
                sqlstate::PROGRAM_LIMIT_EXCEEDED,
                format!("\"{object}\" has {INDEXES_PER_TABLE} indexes, the most cip keeps"),
            ));
        }
        self.actor().require_write("CREATE INDEX")?;
        let index = IndexDef {
            name,
            columns,
            unique: c.unique,
            method,
        };
        let at = stored.clone();
        let table = self
            .table_ddl("CREATE INDEX", move |txn| txn.create_index(&at, index))
            .await?;
        self.registered(&stored, table).await?;
        Ok(done)
    }

    /// DROP INDEX of each of `names`, all or none.
    pub(super) async fn drop_index(
        &self,
        names: &[ObjectName],
        if_exists: bool,
    ) -> Result<Outcome> {
        let mut drops: Vec<(String, String)> = Vec::new();
        for n in names {
            let Some((schema, index)) = qualified(n) else {
                return Err(undefined_index(&n.to_string()));
            };
            if let Some(table) = self.index_table(&schema, &index) {
                drops.push((table, index));
                continue;
            }
            if let Some(table) = self.key_index_table(&schema, &index).await? {
                return Err(CipError::invalid(
                    sqlstate::DEPENDENT_OBJECTS_STILL_EXIST,
                    format!(
                        "cannot drop index {index} because constraint {index} on table {table} \
                         requires it"
                    ),
                ));
            }
            if self.relation(&schema, &index).await?.is_some() {
                return Err(CipError::invalid(
                    sqlstate::WRONG_OBJECT_TYPE,
                    format!("\"{index}\" is not an index"),
                ));
            }
            if !if_exists {
                return Err(undefined_index(&index));
            }
            let message = format!("index \"{index}\" does not exist, skipping");
            let notice = ("NOTICE", sqlstate::SUCCESSFUL_COMPLETION, message);
            self.state().notices.push(notice);
        }
        let done = Outcome::Done(Done::new("DROP INDEX"));
        if drops.is_empty() {
            return Ok(done);
        }
        self.actor().require_write("DROP INDEX")?;
        let dropped = drops.clone();
        let tables = self
            .table_ddl("DROP INDEX", move |txn| {
                let mut changed = Vec::new();
                for (table, index) in &dropped {
                    changed.push(txn.drop_index(table, index)?);
                }
                Ok(changed)
            })
            .await?;
        // The last object of each table is the one with every drop.
        for table in tables.into_iter().rev() {
            let name = table.name().to_string();
            if self
                .table_now(&name)
                .is_some_and(|t| Arc::ptr_eq(&t, &table))
            {
                self.registered(&name, table).await?;
            }
        }
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::object_name;

    #[test]
    fn names_are_cut_as_postgresql_cuts_them() {
        assert_eq!(object_name("t", "a_b", "idx"), "t_a_b_idx");
        let long = "x".repeat(70);
        let name = object_name(&long, "col", "key");
        assert_eq!(name.len(), 63);
        assert!(name.ends_with("_col_key"));
        let both = object_name(&"a".repeat(40), &"b".repeat(40), "idx1");
        assert_eq!(both.len(), 63);
        assert!(
            both.starts_with(&"a".repeat(29))
                && both.ends_with(&format!("{}_idx1", "b".repeat(28)))
        );
    }
}
