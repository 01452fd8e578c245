//! ALTER TABLE's column operations read into the steps storage applies in order: added
//! columns, and changes of the columns there are (storage's ColumnChange). The statement's
//! own IF [NOT] EXISTS are decided here against the columns as its earlier operations leave
//! them (a notice for each skipped one, as PostgreSQL sends). A column dropped or renamed
//! under a saved view that reads the table is refused with 2BP01: cip keeps a view as its
//! SQL text, which would then name a column the table no longer has.

use super::alter::{check_options, unsupported};
use super::ddl::fold;
use super::session::Session;
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use crate::storage::{ColumnChange, DeclaredDefault, Table};
use datafusion::arrow::datatypes::{DataType, Field};
use datafusion::logical_expr::LogicalPlan;
use datafusion::sql::sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, ColumnDef, DataType as SqlType, Expr,
};

/// One step of an ALTER TABLE: columns added, or changes of columns.
pub(super) enum Step {
    Add(Vec<Field>),
    Change(Vec<ColumnChange>),
}

fn push_add(steps: &mut Vec<Step>, field: Field) {
    match steps.last_mut() {
        Some(Step::Add(fields)) => fields.push(field),
        _ => steps.push(Step::Add(vec![field])),
    }
}

fn push_change(steps: &mut Vec<Step>, change: ColumnChange) {
    match steps.last_mut() {
        Some(Step::Change(changes)) => changes.push(change),
        _ => steps.push(Step::Change(vec![change])),
    }
}

/// Whether a `USING` is the column itself or casts of it ending in the new type — what knex's
/// `.alter()` and Alembic send — so converting the values is what TYPE alone does.
fn is_plain_cast(using: &Expr, column: &str, to: &SqlType) -> bool {
    fn the_column(e: &Expr, column: &str) -> bool {
        match e {
            Expr::Nested(e) => the_column(e, column),
            Expr::Identifier(i) => fold(i) == column,
            Expr::Cast { expr, .. } => the_column(expr, column),
            _ => false,
        }
    }
    match using {
        Expr::Nested(e) => is_plain_cast(e, column, to),
        Expr::Cast {
            expr, data_type, ..
        } => {
            // The rules already renamed the cast's type (varchar(9) is a cast to text).
            (data_type == to || *data_type == super::rules::as_cast(to)) && the_column(expr, column)
        }
        e => the_column(e, column),
    }
}

fn no_column(column: &str, table: &str) -> CipError {
    CipError::invalid(
        sqlstate::UNDEFINED_COLUMN,
        format!("column \"{column}\" of relation \"{table}\" does not exist"),
    )
}

impl Session {
    /// The steps of `operations` on `table` (`schema.object`).
    pub(super) async fn column_steps(
        &self,
        operations: &[AlterTableOperation],
        table: &Table,
        schema: &str,
        object: &str,
    ) -> Result<Vec<Step>> {
        // The columns (name, type) as the operations so far leave them.
        let mut columns: Vec<(String, DataType)> = table
            .def
            .schema
            .fields()
            .iter()
            .map(|f| (f.name().clone(), f.data_type().clone()))
            .collect();
        let has = |columns: &[(String, DataType)], c: &str| columns.iter().any(|(n, _)| n == c);
        let mut steps = Vec::new();
        for op in operations {
            match op {
                AlterTableOperation::AddColumn {
                    column_def,
                    if_not_exists,
                    ..
                } => {
                    check_options(column_def)?;
                    let field = self.column_field(column_def).await?;
                    if *if_not_exists && has(&columns, field.name()) {
                        let message = format!(
                            "column \"{}\" of relation \"{object}\" already exists, skipping",
                            field.name()
                        );
                        self.notice(sqlstate::DUPLICATE_COLUMN, message);
                        continue;
                    }
                    columns.push((field.name().clone(), field.data_type().clone()));
                    push_add(&mut steps, field);
                }
                AlterTableOperation::DropColumn {
                    column_names,
                    if_exists,
                    ..
                } => {
                    for c in column_names.iter().map(fold) {
                        if !has(&columns, &c) {
                            if !*if_exists {
                                return Err(no_column(&c, object));
                            }
                            let message = format!(
                                "column \"{c}\" of relation \"{object}\" does not exist, skipping"
                            );
                            self.notice(sqlstate::SUCCESSFUL_COMPLETION, message);
                            continue;
                        }
                        let code = sqlstate::DEPENDENT_OBJECTS_STILL_EXIST;
                        self.no_view_reads(code, (schema, object), "drop", &c)?;
                        columns.retain(|(n, _)| *n != c);
                        push_change(&mut steps, ColumnChange::Drop(c));
                    }
                }
                AlterTableOperation::RenameColumn {
                    old_column_name,
                    new_column_name,
                } => {
                    let (from, to) = (fold(old_column_name), fold(new_column_name));
                    if !has(&columns, &from) {
                        return Err(no_column(&from, object));
                    }
                    let code = sqlstate::DEPENDENT_OBJECTS_STILL_EXIST;
                    self.no_view_reads(code, (schema, object), "rename", &from)?;
                    for (n, _) in columns.iter_mut().filter(|(n, _)| *n == from) {
                        *n = to.clone();
                    }
                    push_change(&mut steps, ColumnChange::Rename { from, to });
                }
                AlterTableOperation::AlterColumn { column_name, op } => {
                    let column = fold(column_name);
                    let Some(at) = columns.iter().position(|(n, _)| *n == column) else {
                        return Err(no_column(&column, object));
                    };
                    let change = match op {
                        AlterColumnOperation::SetNotNull => ColumnChange::Nullable {
                            column,
                            nullable: false,
                        },
                        AlterColumnOperation::DropNotNull => ColumnChange::Nullable {
                            column,
                            nullable: true,
                        },
                        AlterColumnOperation::DropDefault => ColumnChange::Default {
                            column,
                            value: None,
                        },
                        AlterColumnOperation::SetDefault { value } => {
                            let value = self.default_value(value, &columns[at].1).await?;
                            ColumnChange::Default { column, value }
                        }
                        AlterColumnOperation::SetDataType {
                            data_type, using, ..
                        } if using
                            .as_ref()
                            .is_none_or(|u| is_plain_cast(u, &column, data_type)) =>
                        {
                            let def = ColumnDef {
                                name: column_name.clone(),
                                data_type: data_type.clone(),
                                options: vec![],
                            };
                            let to = self.column_field(&def).await?;
                            let code = sqlstate::FEATURE_NOT_SUPPORTED;
                            self.no_view_reads(
                                code,
                                (schema, object),
                                "alter the type of",
                                &column,
                            )?;
                            columns[at].1 = to.data_type().clone();
                            ColumnChange::Type { column, to }
                        }
                        other => return Err(unsupported(&format!("ALTER COLUMN … {other}"))),
                    };
                    push_change(&mut steps, change);
                }
                other => return Err(unsupported(&other.to_string())),
            }
        }
        Ok(steps)
    }

    fn notice(&self, code: &'static str, message: String) {
        self.state().notices.push(("NOTICE", code, message));
    }

    /// `code` (PostgreSQL's: 2BP01 for a drop, 0A000 for a type) when saved views read the
    /// table `at` (schema, object), whose column `column` would `what`.
    fn no_view_reads(
        &self,
        code: &'static str,
        at: (&str, &str),
        what: &str,
        column: &str,
    ) -> Result<()> {
        let (schema, object) = at;
        let views =
            super::dependents::dependents(&self.saved_now(), &[format!("{schema}.{object}")]);
        if views.is_empty() {
            return Ok(());
        }
        Err(CipError::invalid(
            code,
            format!(
                "cannot {what} column {column} of table {object} because views read the table: \
                 {}; drop them first and create them again after",
                views.join(", ")
            ),
        ))
    }

    /// A SET DEFAULT's value as storage keeps it, in the column's type `ty`.
    async fn default_value(&self, value: &Expr, ty: &DataType) -> Result<Option<DeclaredDefault>> {
        let plan = self
            .ctx()
            .state()
            .create_logical_plan(&format!("SELECT {value}"))
            .await?;
        let LogicalPlan::Projection(p) = plan else {
            return Err(unsupported(&format!("SET DEFAULT {value}")));
        };
        let Some(expr) = p.expr.first() else {
            return Err(unsupported(&format!("SET DEFAULT {value}")));
        };
        self.declared_default(&expr.clone().unalias(), ty).await
    }
}
