//! What a CREATE TABLE declares beyond its columns, read into the form storage keeps and
//! enforces (storage::Declared): the primary key, identity columns (serial becomes one,
//! rules/serial_columns.rs), and defaults that are constants or the current time. What cip
//! would not enforce is refused with 0A000, never accepted and dropped: a UNIQUE constraint
//! other than the primary key, CHECK, a generated column, a default computed per row.

use super::session::Session;
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use crate::storage::{Declared, DeclaredDefault};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Constraint, ScalarValue};
use datafusion::logical_expr::{cast, CreateMemoryTable, Expr, LogicalPlanBuilder};
use datafusion::sql::sqlparser::ast::{
    ColumnOption, CreateTable, GeneratedAs, Statement, TableConstraint,
};

/// The functions whose value as a default is the time of the INSERT.
const NOW: &[&str] = &[
    "now",
    "current_timestamp",
    "localtimestamp",
    "statement_timestamp",
    "transaction_timestamp",
];

fn not_enforced(what: &str) -> CipError {
    CipError::invalid(
        sqlstate::FEATURE_NOT_SUPPORTED,
        format!(
            "{what} is not supported in CREATE TABLE: cip enforces a PRIMARY KEY, NOT NULL, \
             serial / identity columns and constant or now() defaults; check other rules in \
             the queries that write the table"
        ),
    )
}

/// Refuses, before DataFusion plans it, a CREATE TABLE that declares what cip would not
/// enforce (DataFusion would drop a column's CHECK and refuse the rest with 42000).
pub(super) fn check_enforceable(statement: &Statement) -> Result<()> {
    let Statement::CreateTable(create) = statement else {
        return Ok(());
    };
    for constraint in &create.constraints {
        match constraint {
            TableConstraint::PrimaryKey(_) => {}
            TableConstraint::Unique(_) => {
                return Err(not_enforced(
                    "a UNIQUE constraint other than the primary key",
                ))
            }
            TableConstraint::ForeignKey(_) => return Err(not_enforced("a FOREIGN KEY")),
            TableConstraint::Check(_) => return Err(not_enforced("a CHECK constraint")),
            _ => return Err(not_enforced("an index or exclusion constraint")),
        }
    }
    for option in create.columns.iter().flat_map(|c| &c.options) {
        match &option.option {
            ColumnOption::Generated {
                generation_expr: Some(_),
                ..
            } => return Err(not_enforced("a generated column")),
            ColumnOption::Check(_) => return Err(not_enforced("a CHECK constraint")),
            ColumnOption::ForeignKey(_) => return Err(not_enforced("a FOREIGN KEY")),
            ColumnOption::Unique(_) => {
                return Err(not_enforced(
                    "a UNIQUE constraint other than the primary key",
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

/// The identity columns of the statement (GENERATED … AS IDENTITY, serial).
fn identity_columns(create: &CreateTable) -> Vec<String> {
    create
        .columns
        .iter()
        .filter(|column| {
            column.options.iter().any(|o| {
                matches!(
                    o.option,
                    ColumnOption::Generated {
                        generated_as: GeneratedAs::Always | GeneratedAs::ByDefault,
                        generation_expr: None,
                        ..
                    }
                )
            })
        })
        .map(|column| super::ddl::fold(&column.name))
        .collect()
}

/// A now()-like call, under any casts the planner put around it.
fn is_now(expr: &Expr) -> bool {
    NOW.iter().any(|name| is_call(expr, name))
}

/// A call of function `name`, under any casts the planner put around it.
fn is_call(expr: &Expr, name: &str) -> bool {
    match expr {
        Expr::Alias(a) => is_call(&a.expr, name),
        Expr::Cast(c) => is_call(&c.expr, name),
        Expr::TryCast(c) => is_call(&c.expr, name),
        Expr::ScalarFunction(f) => f.name() == name,
        _ => false,
    }
}

/// Whether `expr` has the same value for every row and every statement: no column, no
/// function that is not immutable (current_date, random(), …).
fn is_constant(expr: &Expr) -> bool {
    use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
    use datafusion::logical_expr::Volatility;
    let mut constant = true;
    let _ = expr.apply(|e| {
        constant &= match e {
            Expr::Column(_) | Expr::ScalarSubquery(_) | Expr::Placeholder(_) => false,
            Expr::ScalarFunction(f) => f.func.signature().volatility == Volatility::Immutable,
            Expr::AggregateFunction(_) | Expr::WindowFunction(_) => false,
            _ => true,
        };
        Ok(if constant {
            TreeNodeRecursion::Continue
        } else {
            TreeNodeRecursion::Stop
        })
    });
    constant
}

impl Session {
    /// What `c` (planned from `statement`) declares beyond its columns.
    pub(super) async fn declared(
        &self,
        c: &CreateMemoryTable,
        statement: Option<&Statement>,
    ) -> Result<Declared> {
        let schema = c.input.schema();
        let mut key = Vec::new();
        for constraint in c.constraints.iter() {
            match constraint {
                Constraint::PrimaryKey(columns) if key.is_empty() => {
                    key = columns
                        .iter()
                        .map(|&i| schema.field(i).name().clone())
                        .collect();
                }
                Constraint::PrimaryKey(_) => {
                    return Err(CipError::invalid(
                        sqlstate::INVALID_TABLE_DEFINITION,
                        format!(
                            "multiple primary keys for table \"{}\" are not allowed",
                            c.name.table()
                        ),
                    ))
                }
                // check_enforceable refused it before planning.
                Constraint::Unique(_) => {
                    return Err(not_enforced(
                        "a UNIQUE constraint other than the primary key",
                    ))
                }
            }
        }
        let identities = match statement {
            Some(Statement::CreateTable(create)) => identity_columns(create),
            _ => Vec::new(),
        };
        let mut defaults: Vec<(String, DeclaredDefault)> = identities
            .into_iter()
            .map(|column| (column, DeclaredDefault::Serial))
            .collect();
        for (column, expr) in &c.column_defaults {
            if defaults.iter().any(|(c, _)| c == column) {
                return Err(CipError::invalid(
                    sqlstate::SYNTAX_ERROR,
                    format!(
                        "both default and identity specified for column \"{column}\" of table \
                         \"{}\"",
                        c.name.table()
                    ),
                ));
            }
            let field = schema.field_with_unqualified_name(column)?;
            if let Some(d) = self.declared_default(expr, field.data_type()).await? {
                defaults.push((column.clone(), d));
            }
        }
        for (column, d) in &defaults {
            let ty = schema.field_with_unqualified_name(column)?.data_type();
            let fits = match d {
                DeclaredDefault::Serial => {
                    matches!(ty, DataType::Int16 | DataType::Int32 | DataType::Int64)
                }
                DeclaredDefault::Now => matches!(ty, DataType::Timestamp(_, _)),
                DeclaredDefault::RandomUuid => ty == &DataType::Utf8,
                DeclaredDefault::Value(_) => true,
            };
            if !fits {
                return Err(CipError::invalid(
                    sqlstate::DATATYPE_MISMATCH,
                    format!(
                        "column \"{column}\" is of type {ty}: an identity column must be \
                         smallint, integer or bigint, a now() default a timestamp, a \
                         gen_random_uuid() default a uuid or text"
                    ),
                ));
            }
        }
        Ok(Declared {
            key,
            defaults,
            ..Declared::default()
        })
    }

    /// A DEFAULT as storage keeps it: the current time, or a constant evaluated once and kept
    /// as text in the column's type; None for DEFAULT NULL.
    pub(super) async fn declared_default(
        &self,
        expr: &Expr,
        ty: &DataType,
    ) -> Result<Option<DeclaredDefault>> {
        if is_now(expr) {
            return Ok(Some(DeclaredDefault::Now));
        }
        if is_call(expr, "gen_random_uuid") {
            return Ok(Some(DeclaredDefault::RandomUuid));
        }
        if !is_constant(expr) {
            return Err(not_enforced(&format!(
                "the default {expr}, which is not a constant or now(),"
            )));
        }
        let plan = LogicalPlanBuilder::empty(true)
            .project(vec![cast(expr.clone(), ty.clone()).alias("value")])?
            .build()?;
        let batches = self
            .ctx()
            .execute_logical_plan(plan)
            .await?
            .collect()
            .await?;
        let value = match batches.iter().find(|b| b.num_rows() > 0) {
            Some(b) => ScalarValue::try_from_array(b.column(0), 0)?,
            None => return Ok(None),
        };
        if value.is_null() {
            return Ok(None);
        }
        let text = value.to_string();
        // Kept only if it reads back as the same value (CipTable reads it so).
        match ScalarValue::try_from_string(text.clone(), ty) {
            Ok(back) if back == value => Ok(Some(DeclaredDefault::Value(text))),
            _ => Err(not_enforced(&format!("a default of type {ty}"))),
        }
    }
}
