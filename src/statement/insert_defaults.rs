//! `DEFAULT` in an INSERT's VALUES rows, and `DEFAULT VALUES`: the column's default, as if
//! the row left the column out. knex writes it for every key a row of a multi-row insert
//! lacks (`VALUES ($1, DEFAULT), ($2, $3)`), as do ORMs for serial ids; DataFusion read it as
//! a column named "default" (42703). A column's default is its table's (a constant as the literal, a serial id or a
//! now() as NULL, which storage fills); a column without one gets NULL, as in PostgreSQL.
//! A NULL for a serial id, written out or bound to a `$n`, is refused (23502) as PostgreSQL
//! refuses it.

use super::session::Session;
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use crate::storage::{ColumnDefault, Table};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::common::{ScalarValue, TableReference};
use datafusion::sql::sqlparser::ast::{
    Expr, Ident, Insert, ObjectNamePart, SetExpr, Statement, TableObject, Value, Values,
};
use datafusion::sql::unparser::expr_to_sql;
use std::sync::Arc;

/// Whether `e` is the bare keyword DEFAULT.
fn is_default(e: &Expr) -> bool {
    matches!(e, Expr::Identifier(Ident { value, quote_style: None, .. })
        if value.eq_ignore_ascii_case("default"))
}

/// The columns an INSERT's rows fill, in order: those it lists, else the table's.
fn target_columns(
    columns: &[datafusion::sql::sqlparser::ast::ObjectName],
    table: &SchemaRef,
) -> Vec<String> {
    if columns.is_empty() {
        return table.fields().iter().map(|f| f.name().clone()).collect();
    }
    columns
        .iter()
        .map(|c| match c.0.last() {
            Some(ObjectNamePart::Identifier(i)) => super::ddl::fold(i),
            _ => String::new(),
        })
        .collect()
}

/// The SQL of `column`'s default: the constant the table declares, `now()` for a time
/// storage fills (the column may be NOT NULL, which the planner checks in VALUES), NULL for a
/// serial id (storage fills it) or a column without a default.
fn default_sql(
    table: &Arc<dyn TableProvider>,
    stored: Option<&Table>,
    column: &str,
) -> Result<Expr> {
    if let Some(e) = table.get_column_default(column) {
        return expr_to_sql(e).map_err(CipError::from);
    }
    match stored.map(|t| t.def.default_of(column)) {
        Some(ColumnDefault::Now) => Ok(super::rules::ast::call("now", vec![])),
        Some(ColumnDefault::RandomUuid) => Ok(super::rules::ast::call("gen_random_uuid", vec![])),
        // `(NULL)`, not the bare literal: the rewritten statement is planned through here
        // again, and a bare NULL for a serial id is refused (refuse_null_ids).
        Some(ColumnDefault::AutoId) => Ok(Expr::Nested(Box::new(super::rules::ast::null()))),
        _ => Ok(super::rules::ast::null()),
    }
}

impl Session {
    /// `statement` with each DEFAULT of its VALUES rows replaced by the column's default; None
    /// when it has none.
    pub(super) async fn insert_defaults(&self, statement: &Statement) -> Result<Option<Statement>> {
        let Statement::Insert(insert) = statement else {
            return Ok(None);
        };
        // `INSERT INTO t DEFAULT VALUES` (knex's `insert({})`): one row of DEFAULTs.
        let default_values =
            insert.source.is_none() && insert.columns.is_empty() && insert.assignments.is_empty();
        let values = values_of(insert);
        let said = |test: fn(&Expr) -> bool| {
            values.is_some_and(|v| v.rows.iter().flat_map(|r| &r.content).any(test))
        };
        let (has_default, has_null) = (said(is_default), said(is_null));
        if !default_values && !has_default && !has_null {
            return Ok(None);
        }
        let Some((schema, table)) = target_of(insert) else {
            return Ok(None);
        };
        let stored = self.table_now(&super::shared_objects::stored_name(&schema, &table));
        let Ok(table) = self
            .ctx()
            .table_provider(TableReference::partial(schema, table))
            .await
        else {
            return Ok(None); // DataFusion names what is missing.
        };
        let columns = target_columns(&insert.columns, &table.schema());
        if let (Some(stored), Some(values)) = (stored.as_deref(), values) {
            refuse_null_ids(stored, &columns, values, is_null)?;
        }
        // Only NULLs: nothing to rewrite (a rewritten statement is planned through here again).
        if !default_values && !has_default {
            return Ok(None);
        }
        let mut rewritten = insert.clone();
        if default_values {
            let mut row = super::rules::ast::template_query("VALUES (DEFAULT)")
                .ok_or_else(|| CipError::Corrupt("the DEFAULT VALUES template".into()))?;
            if let SetExpr::Values(values) = row.body.as_mut() {
                for r in values.rows.iter_mut() {
                    r.content = vec![Expr::Identifier(Ident::new("DEFAULT")); columns.len()];
                }
            }
            rewritten.source = Some(Box::new(row));
        }
        let Some(SetExpr::Values(values)) = rewritten.source.as_mut().map(|q| q.body.as_mut())
        else {
            return Ok(None);
        };
        for row in values.rows.iter_mut() {
            for (i, e) in row.content.iter_mut().enumerate() {
                if !is_default(e) {
                    continue;
                }
                let Some(column) = columns.get(i) else {
                    return Err(CipError::invalid(
                        sqlstate::SYNTAX_ERROR,
                        "INSERT has more expressions than target columns",
                    ));
                };
                *e = default_sql(&table, stored.as_deref(), column)?;
            }
        }
        Ok(Some(Statement::Insert(rewritten)))
    }
}

/// An INSERT's VALUES rows, when they are its source.
fn values_of(insert: &Insert) -> Option<&Values> {
    match insert.source.as_ref().map(|q| q.body.as_ref()) {
        Some(SetExpr::Values(v)) => Some(v),
        _ => None,
    }
}

/// The schema and table an INSERT names.
fn target_of(insert: &Insert) -> Option<(String, String)> {
    match &insert.table {
        TableObject::TableName(name) => super::ddl::qualified(name),
        _ => None,
    }
}

/// Whether `e` is the literal NULL.
fn is_null(e: &Expr) -> bool {
    matches!(e, Expr::Value(v) if v.value == Value::Null)
}

/// The parameter `$n` is, 1-based, under any casts or parentheses.
fn placeholder(e: &Expr) -> Option<usize> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::Placeholder(p) => p.strip_prefix('$')?.parse().ok(),
            _ => None,
        },
        Expr::Cast { expr, .. } | Expr::Nested(expr) => placeholder(expr),
        _ => None,
    }
}

impl Session {
    /// 23502 for a `$n` bound to NULL in a serial / identity column of an INSERT's VALUES
    /// rows (asyncpg and psycopg 3 bind a Python None so): what `insert_defaults` refuses
    /// for a NULL written out, checked once the values are known.
    pub(super) fn refuse_bound_null_ids(
        &self,
        statement: Option<&Statement>,
        params: &[ScalarValue],
    ) -> Result<()> {
        if !params.iter().any(ScalarValue::is_null) {
            return Ok(());
        }
        let Some(Statement::Insert(insert)) = statement else {
            return Ok(());
        };
        let (Some(values), Some((schema, table))) = (values_of(insert), target_of(insert)) else {
            return Ok(());
        };
        let Some(stored) = self.table_now(&super::shared_objects::stored_name(&schema, &table))
        else {
            return Ok(());
        };
        let columns = target_columns(&insert.columns, &stored.def.schema);
        let bound_null = |e: &Expr| {
            placeholder(e)
                .and_then(|n| params.get(n.checked_sub(1)?))
                .is_some_and(ScalarValue::is_null)
        };
        refuse_null_ids(&stored, &columns, values, bound_null)
    }
}

/// 23502 for a NULL (`null(cell)`) written into a serial / identity column: storage fills the
/// column where a row leaves it NULL, so a NULL said outright must be refused here, before
/// it looks like an omitted value — PostgreSQL's identity columns are NOT NULL.
fn refuse_null_ids(
    table: &Table,
    columns: &[String],
    values: &Values,
    null: impl Fn(&Expr) -> bool,
) -> Result<()> {
    for row in &values.rows {
        for (e, column) in row.content.iter().zip(columns) {
            if null(e) && table.def.default_of(column) == ColumnDefault::AutoId {
                return Err(CipError::invalid(
                    sqlstate::NOT_NULL_VIOLATION,
                    format!(
                        "null value in column \"{column}\" of relation \"{}\" violates \
                         not-null constraint",
                        table.def.name
                    ),
                ));
            }
        }
    }
    Ok(())
}
