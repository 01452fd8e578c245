//! INSERT … ON CONFLICT, PostgreSQL's upsert (Sequelize's `upsert`, SQLAlchemy's
//! `on_conflict_do_update`, knex's `onConflict().merge()`, dbt seeds and ETL tools writing
//! idempotently). DataFusion refuses the clause, so cip plans the INSERT without it and, for
//! DO UPDATE, a SELECT of every column of the row to store over the stored row (the target,
//! by its alias) and the proposed one (`excluded`):
//!
//! `SELECT <value or t.col> AS col, …, (<WHERE>) FROM t AS t CROSS JOIN t AS excluded`
//!
//! planned by the usual planner, so any expression PostgreSQL allows there plans as in a
//! query (and is as ambiguous: an unqualified column names both rows). Both plans travel in
//! one node; when it runs, the SELECT's expressions become the merge storage applies to each
//! conflicting row under the table's write lock, in the INSERT's own commit (on_conflict.rs
//! in storage).

use super::ddl::fold;
use super::outcome::Outcome;
use super::session::Session;
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use crate::storage::{ConflictSlot, OnConflict, TableDef};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::common::{DFSchemaRef, TableReference};
use datafusion::datasource::source_as_provider;
use datafusion::logical_expr::{Expr, Extension, LogicalPlan, UserDefinedLogicalNodeCore};
use datafusion::sql::sqlparser::ast::{
    self, AssignmentTarget, ConflictTarget, DoUpdate, Ident, Insert, OnConflictAction, OnInsert,
    SelectItem, SetExpr, Statement, TableObject,
};
use std::collections::HashSet;
use std::sync::Arc;

/// The name the proposed row goes by, as in PostgreSQL.
pub(super) const EXCLUDED: &str = "excluded";

/// An INSERT … ON CONFLICT: the INSERT's plan and, for DO UPDATE, the SELECT of the row to
/// store. Parameters in either are bound as in any plan (both are inputs).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd)]
struct OnConflictNode {
    insert: LogicalPlan,
    set: Option<LogicalPlan>,
    table: &'static str,
}

impl UserDefinedLogicalNodeCore for OnConflictNode {
    fn name(&self) -> &str {
        "OnConflict"
    }

    fn inputs(&self) -> Vec<&LogicalPlan> {
        std::iter::once(&self.insert).chain(&self.set).collect()
    }

    fn schema(&self) -> &DFSchemaRef {
        self.insert.schema()
    }

    fn expressions(&self) -> Vec<Expr> {
        Vec::new()
    }

    fn fmt_for_explain(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        let action = match self.set {
            Some(_) => "DO UPDATE",
            None => "DO NOTHING",
        };
        write!(f, "OnConflict: table={} {action}", self.table)
    }

    fn with_exprs_and_inputs(
        &self,
        _exprs: Vec<Expr>,
        mut inputs: Vec<LogicalPlan>,
    ) -> datafusion::common::Result<Self> {
        let set = (inputs.len() > 1).then(|| inputs.remove(1));
        let insert = inputs.pop().ok_or_else(|| {
            datafusion::common::DataFusionError::Internal("OnConflict lost its INSERT".into())
        })?;
        Ok(OnConflictNode {
            insert,
            set,
            table: self.table,
        })
    }
}

/// The INSERT inside `plan` when it is an INSERT … ON CONFLICT; `plan` itself otherwise.
pub(super) fn write_of(plan: &LogicalPlan) -> &LogicalPlan {
    match node_of(plan) {
        Some(node) => &node.insert,
        None => plan,
    }
}

fn node_of(plan: &LogicalPlan) -> Option<&OnConflictNode> {
    match plan {
        LogicalPlan::Extension(e) => e.node.as_any().downcast_ref::<OnConflictNode>(),
        _ => None,
    }
}

/// 42P10 unless the conflict target names the table's unique key (its columns in any order,
/// or its constraint `<relation>_pkey`, as the catalog names it); DO UPDATE must name one.
fn check_target(
    def: &TableDef,
    relation: &str,
    target: Option<&ConflictTarget>,
    update: bool,
) -> Result<()> {
    let no_match = || {
        CipError::invalid(
            sqlstate::INVALID_COLUMN_REFERENCE,
            "there is no unique or exclusion constraint matching the ON CONFLICT specification",
        )
    };
    match target {
        None if update => Err(CipError::invalid(
            sqlstate::SYNTAX_ERROR,
            "ON CONFLICT DO UPDATE requires inference specification or constraint name",
        )),
        None => Ok(()),
        Some(ConflictTarget::Columns(columns)) => {
            let named: HashSet<String> = columns.iter().map(fold).collect();
            let key: HashSet<String> = def.key.iter().map(|k| k.to_string()).collect();
            if let Some(missing) = named.iter().find(|c| def.schema.index_of(c).is_err()) {
                return Err(CipError::invalid(
                    sqlstate::UNDEFINED_COLUMN,
                    format!("column \"{missing}\" does not exist"),
                ));
            }
            match def.unique && named == key {
                true => Ok(()),
                false => Err(no_match()),
            }
        }
        Some(ConflictTarget::OnConstraint(name)) => {
            let constraint = name.0.last().and_then(|p| p.as_ident()).map(fold);
            let constraint = constraint.unwrap_or_default();
            match def.unique && constraint == format!("{relation}_pkey") {
                true => Ok(()),
                false => Err(CipError::invalid(
                    sqlstate::UNDEFINED_OBJECT,
                    format!("constraint \"{constraint}\" for table \"{relation}\" does not exist"),
                )),
            }
        }
    }
}

/// The SELECT of the row DO UPDATE stores: each column's new value, or the stored one, and
/// then the WHERE condition.
fn set_query(insert: &Insert, def: &TableDef, update: &DoUpdate) -> Result<Statement> {
    let TableObject::TableName(name) = &insert.table else {
        return Err(CipError::invalid(
            sqlstate::FEATURE_NOT_SUPPORTED,
            "ON CONFLICT is not supported on an INSERT into a table function",
        ));
    };
    let alias = match &insert.table_alias {
        Some(a) => a.alias.clone(),
        None => match name.0.last().and_then(|p| p.as_ident()) {
            Some(ident) => ident.clone(),
            None => return Err(CipError::Corrupt("an INSERT's table has no name".into())),
        },
    };
    let mut values = std::collections::HashMap::new();
    for a in &update.assignments {
        let AssignmentTarget::ColumnName(column) = &a.target else {
            return Err(CipError::invalid(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "ON CONFLICT DO UPDATE SET (a, b) = (…) is not supported: assign each column",
            ));
        };
        let column = match column.0.as_slice() {
            [part] => part.as_ident().map(fold),
            _ => None,
        }
        .ok_or_else(|| {
            CipError::invalid(
                sqlstate::SYNTAX_ERROR,
                format!("ON CONFLICT DO UPDATE SET {column}: name a column of the table"),
            )
        })?;
        if def.schema.index_of(&column).is_err() {
            return Err(CipError::invalid(
                sqlstate::UNDEFINED_COLUMN,
                format!(
                    "column \"{column}\" of relation \"{}\" does not exist",
                    def.name
                ),
            ));
        }
        if values.insert(column.clone(), a.value.clone()).is_some() {
            return Err(CipError::invalid(
                sqlstate::SYNTAX_ERROR,
                format!("multiple assignments to same column \"{column}\""),
            ));
        }
    }
    let sql = format!("SELECT 1 FROM {name} AS {alias} CROSS JOIN {name} AS {EXCLUDED}");
    let mut query = super::rules::ast::template_query(&sql)
        .ok_or_else(|| CipError::Corrupt("the ON CONFLICT query lost its shape".into()))?;
    let SetExpr::Select(body) = query.body.as_mut() else {
        return Err(CipError::Corrupt(
            "the ON CONFLICT query lost its shape".into(),
        ));
    };
    let quoted = |c: &str| Ident::with_quote('"', c);
    body.projection = def
        .schema
        .fields()
        .iter()
        .map(|f| {
            let stored = ast::Expr::CompoundIdentifier(vec![alias.clone(), quoted(f.name())]);
            SelectItem::ExprWithAlias {
                expr: values.remove(f.name()).unwrap_or(stored),
                alias: quoted(f.name()),
            }
        })
        .chain(
            update
                .selection
                .clone()
                .map(|w| SelectItem::UnnamedExpr(ast::Expr::Nested(Box::new(w)))),
        )
        .collect();
    Ok(Statement::Query(Box::new(query)))
}

/// 0A000 for EXPLAIN or SQL PREPARE of an INSERT … ON CONFLICT, which DataFusion would plan
/// itself and refuse with a planning error.
pub(super) fn check_wrapped(statement: &Statement) -> Result<()> {
    let (what, inner) = match statement {
        Statement::Explain { statement, .. } => ("EXPLAIN", statement),
        Statement::Prepare { statement, .. } => ("PREPARE", statement),
        _ => return Ok(()),
    };
    match inner.as_ref() {
        Statement::Insert(Insert {
            on: Some(OnInsert::OnConflict(_)),
            ..
        }) => Err(CipError::invalid(
            sqlstate::FEATURE_NOT_SUPPORTED,
            format!(
                "{what} of INSERT … ON CONFLICT is not supported: run the statement itself \
                 (a driver's prepared statement works)"
            ),
        )),
        _ => Ok(()),
    }
}

impl Session {
    /// The plan of an INSERT … ON CONFLICT; None for any other statement. `depth`: the
    /// rewrites behind it (prepare.rs `plan_nested`).
    pub(super) async fn plan_on_conflict(
        &self,
        statement: &Statement,
        depth: u8,
    ) -> Result<Option<LogicalPlan>> {
        let Statement::Insert(insert) = statement else {
            return Ok(None);
        };
        let Some(OnInsert::OnConflict(on)) = &insert.on else {
            return Ok(None);
        };
        // The alias names the stored row in DO UPDATE only (DataFusion refuses it).
        let mut plain = insert.clone();
        plain.on = None;
        plain.table_alias = None;
        let insert_plan = Box::pin(self.plan_nested(&Statement::Insert(plain), depth)).await?;
        let (def, relation) = stored_def(&insert_plan)?;
        let update = match &on.action {
            OnConflictAction::DoNothing => None,
            OnConflictAction::DoUpdate(u) => Some(u),
        };
        check_target(
            &def,
            relation.table(),
            on.conflict_target.as_ref(),
            update.is_some(),
        )?;
        let set = match update {
            None => None,
            Some(u) => Some(Box::pin(self.plan_nested(&set_query(insert, &def, u)?, depth)).await?),
        };
        let node = OnConflictNode {
            insert: insert_plan,
            set,
            table: def.name,
        };
        Ok(Some(LogicalPlan::Extension(Extension {
            node: Arc::new(node),
        })))
    }

    /// Runs an INSERT … ON CONFLICT: its INSERT, with the action left where the table's
    /// write finds it; None for any other plan.
    pub(super) async fn run_on_conflict(
        &self,
        plan: &LogicalPlan,
        tag: Option<&str>,
        columns: Option<SchemaRef>,
    ) -> Result<Option<Outcome>> {
        let Some(node) = node_of(plan) else {
            return Ok(None);
        };
        let action = match &node.set {
            None => OnConflict::Nothing,
            Some(set) => OnConflict::Update(
                self.merge_of(set.clone(), &stored_def(&node.insert)?.0)
                    .await?,
            ),
        };
        let slot = self
            .extension::<ConflictSlot>()
            .ok_or_else(|| CipError::Corrupt("the session has no ON CONFLICT slot".into()))?;
        slot.set(node.table, action);
        let outcome = Box::pin(self.run_plan(node.insert.clone(), tag, columns)).await;
        slot.clear();
        outcome.map(Some)
    }
}

/// The definition of the stored table an INSERT's plan writes to, and the name the plan
/// gives it; 0A000 for any other table.
fn stored_def(insert: &LogicalPlan) -> Result<(TableDef, &TableReference)> {
    let LogicalPlan::Dml(dml) = insert else {
        return Err(CipError::Corrupt("an INSERT's plan lost its shape".into()));
    };
    let provider = source_as_provider(&dml.target)?;
    match crate::warehouse::stored_definition(&provider) {
        Some(def) => Ok((def.clone(), &dml.table_name)),
        None => Err(CipError::invalid(
            sqlstate::FEATURE_NOT_SUPPORTED,
            format!(
                "ON CONFLICT is not supported on {}: only on stored tables, not temporary ones",
                dml.table_name
            ),
        )),
    }
}
