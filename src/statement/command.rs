//! The statements about the session itself: SET, SHOW, RESET, DISCARD, DEALLOCATE, and the
//! start of a COPY.
//!
//! `cip.*` and `datafusion.*` settings live in the session's DataFusion config and are checked
//! by it (a bad value is 22023, an unknown name 42704); PostgreSQL's own parameters live in
//! settings::pg. RESET puts a setting back to what a new session starts with: the config's
//! time zone and day cut-off, today for as_of, DataFusion's defaults.

use super::copy::{CopyIn, CopyOut};
use super::copy_text::CopyFormat;
use super::execute::one_batch;
use super::outcome::{Done, Outcome, Rows};
use super::prepare::{text_columns, Columns};
use super::rules::ast::name_parts;
use super::session::Session;
use crate::error::sqlstate;
use crate::error::{CipError, Result};
use crate::settings::pg::canonical;
use datafusion::arrow::array::StringArray;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::config::{ConfigOptions, ExtensionOptions};
use datafusion::common::TableReference;
use datafusion::sql::sqlparser::ast::{
    CopySource, CopyTarget, DiscardObject, Expr, Ident, Reset, Set, Statement, UnaryOperator, Value,
};
use std::sync::Arc;

/// The name a SHOW asks for, as one string (`SHOW TIME ZONE` is TimeZone).
fn show_name(variable: &[Ident]) -> String {
    let words: Vec<String> = variable.iter().map(|i| i.value.clone()).collect();
    let joined = words.join(" ").to_ascii_lowercase();
    match joined.as_str() {
        "time zone" => "TimeZone".to_string(),
        "transaction isolation level" => "transaction_isolation".to_string(),
        "session authorization" => "session_authorization".to_string(),
        _ => words.join("."),
    }
}

fn is_session_option(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.starts_with("cip.") || n.starts_with("datafusion.")
}

/// The columns of `SHOW variable`.
pub(super) fn show_columns(variable: &[Ident]) -> Columns {
    let name = show_name(variable);
    if name.eq_ignore_ascii_case("all") {
        return text_columns(&["name", "setting", "description"]);
    }
    if is_session_option(&name) {
        return text_columns(&[&name.to_ascii_lowercase()]);
    }
    text_columns(&[canonical(&name).unwrap_or(name.as_str())])
}

/// A SET's value as the text the setting takes (`TO a, b` is "a, b").
fn value_text(values: &[Expr]) -> Result<Option<String>> {
    let mut parts = Vec::new();
    for v in values {
        let text = match v {
            Expr::Value(v) => match &v.value {
                Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => s.clone(),
                Value::Number(n, _) => n.clone(),
                Value::Boolean(b) => b.to_string(),
                Value::Null => return Ok(None),
                other => other.to_string(),
            },
            Expr::Identifier(i)
                if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("default") =>
            {
                return Ok(None)
            }
            Expr::Identifier(i) => i.value.clone(),
            Expr::CompoundIdentifier(parts) => parts
                .iter()
                .map(|p| p.value.clone())
                .collect::<Vec<_>>()
                .join("."),
            Expr::UnaryOp {
                op: UnaryOperator::Minus,
                expr,
            } => format!(
                "-{}",
                value_text(std::slice::from_ref(expr))?.unwrap_or_default()
            ),
            other => {
                return Err(CipError::invalid(
                    sqlstate::INVALID_PARAMETER_VALUE,
                    format!("SET takes a constant value, not {other}"),
                ))
            }
        };
        parts.push(text);
    }
    Ok(Some(parts.join(", ")))
}

impl Session {
    pub(super) async fn setting(&self, statement: &Statement) -> Result<Outcome> {
        match statement {
            Statement::Set(set) => {
                self.set(set)?;
                Ok(Outcome::Done(Done::new("SET")))
            }
            Statement::ShowVariable { variable } => self.show(variable),
            Statement::Reset(r) => {
                match &r.reset {
                    Reset::ALL => self.reset_all()?,
                    Reset::ConfigurationParameter(name) => {
                        self.set_one(&name_parts(name).join("."), None)?
                    }
                }
                Ok(Outcome::Done(Done::new("RESET")))
            }
            Statement::Discard { object_type } => {
                if matches!(object_type, DiscardObject::ALL) {
                    self.reset_all()?;
                    self.state().cursors.clear();
                }
                Ok(Outcome::Done(Done::new(format!("DISCARD {object_type}"))))
            }
            Statement::Deallocate { name, .. } => {
                if name.quote_style.is_none() && name.value.eq_ignore_ascii_case("all") {
                    return Ok(Outcome::Done(Done::new("DEALLOCATE ALL")));
                }
                // A statement made by SQL PREPARE lives in DataFusion's session.
                let plan = self.plan(statement).await?;
                match self.ctx().execute_logical_plan(plan).await {
                    Ok(_) => Ok(Outcome::Done(Done::new("DEALLOCATE"))),
                    Err(_) => Err(CipError::invalid(
                        sqlstate::INVALID_SQL_STATEMENT_NAME,
                        format!("prepared statement \"{}\" does not exist", name.value),
                    )),
                }
            }
            other => Err(CipError::invalid(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!("cip does not support this statement: {other}"),
            )),
        }
    }

    fn set(&self, set: &Set) -> Result<()> {
        match set {
            Set::SingleAssignment {
                variable, values, ..
            } => self.set_one(
                &name_parts(variable).join("."),
                value_text(values)?.as_deref(),
            ),
            Set::SetTimeZone { value, .. } => {
                let zone = match value {
                    Expr::Interval(i) => Some(crate::settings::time_zone::of_interval(i)?),
                    // LOCAL, like DEFAULT, is the session's starting zone.
                    Expr::Identifier(i)
                        if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("local") =>
                    {
                        None
                    }
                    other => value_text(std::slice::from_ref(other))?,
                };
                self.set_one("TimeZone", zone.as_deref())
            }
            Set::SetNames { charset_name, .. } => {
                self.set_one("client_encoding", Some(&charset_name.value))
            }
            Set::SetRole { role_name, .. } => match role_name {
                None => Ok(()),
                Some(r)
                    if Some(r.value.as_str())
                        == self.settings().get("session_authorization").as_deref() =>
                {
                    Ok(())
                }
                Some(r) => Err(CipError::invalid(
                    sqlstate::INSUFFICIENT_PRIVILEGE,
                    format!("permission denied to set role \"{}\"", r.value),
                )),
            },
            other => Err(CipError::invalid(
                sqlstate::FEATURE_NOT_SUPPORTED,
                format!("cip does not support {other}"),
            )),
        }
    }

    /// Sets (or with None resets) one setting of any kind.
    fn set_one(&self, name: &str, value: Option<&str>) -> Result<()> {
        if crate::settings::is_fixed(name) {
            return Err(CipError::invalid(
                sqlstate::CANT_CHANGE_RUNTIME_PARAM,
                format!(
                    "parameter \"{name}\" cannot be changed: cip fixes it for every session \
                     (a larger value lets a spilling repartition deadlock)"
                ),
            ));
        }
        if !crate::settings::session_may_change(name) {
            let actor = self.actor();
            if actor.role == crate::identity::Role::Analyst {
                return Err(CipError::invalid(
                    sqlstate::INSUFFICIENT_PRIVILEGE,
                    format!(
                        "permission denied to set parameter \"{name}\": it governs the \
                         server's resources; set it in the config file or as an operator"
                    ),
                ));
            }
        }
        if !is_session_option(name) {
            if name.eq_ignore_ascii_case("statement_timeout")
                || canonical(name).is_some()
                || name.contains('.')
            {
                return self.settings().set(name, value);
            }
            return Err(crate::settings::pg::unknown(name));
        }
        let key = name.to_ascii_lowercase();
        let value = match value {
            Some(v) => v.to_string(),
            None => self.default_of(&key)?,
        };
        let state = self.ctx().state_ref();
        let mut state = state.write();
        let value = boolean_spelling(state.config().options(), &key, value);
        state.config_mut().options_mut().set(&key, &value)?;
        Ok(())
    }

    /// What a new session has for a `cip.*` / `datafusion.*` setting.
    fn default_of(&self, key: &str) -> Result<String> {
        if let Some(field) = key.strip_prefix("cip.") {
            return self
                .cip_defaults()
                .entries()
                .into_iter()
                .find(|e| e.key == field)
                .map(|e| e.value.unwrap_or_default())
                .ok_or_else(|| crate::settings::pg::unknown(key));
        }
        ConfigOptions::default()
            .entries()
            .into_iter()
            .find(|e| e.key == key)
            .map(|e| e.value.unwrap_or_default())
            .ok_or_else(|| crate::settings::pg::unknown(key))
    }

    fn reset_all(&self) -> Result<()> {
        for entry in self.cip_defaults().entries() {
            self.set_one(&format!("cip.{}", entry.key), None)?;
        }
        self.settings().reset_all();
        Ok(())
    }

    fn show(&self, variable: &[Ident]) -> Result<Outcome> {
        let name = show_name(variable);
        let columns = show_columns(variable);
        let batch = if name.eq_ignore_ascii_case("all") {
            let all = self.settings().all();
            RecordBatch::try_new(
                columns.clone(),
                vec![
                    Arc::new(StringArray::from_iter_values(all.iter().map(|r| &r.0))),
                    Arc::new(StringArray::from_iter_values(all.iter().map(|r| &r.1))),
                    Arc::new(StringArray::from_iter_values(all.iter().map(|r| &r.2))),
                ],
            )?
        } else if is_session_option(&name) {
            match crate::settings::show(self.ctx(), &name) {
                Some(batch) => batch?,
                None => return Err(crate::settings::pg::unknown(&name)),
            }
        } else {
            let value = self
                .settings()
                .get(&name)
                .ok_or_else(|| crate::settings::pg::unknown(&name))?;
            RecordBatch::try_new(
                columns.clone(),
                vec![Arc::new(StringArray::from(vec![value]))],
            )?
        };
        Ok(Outcome::Rows(Rows {
            schema: batch.schema(),
            stream: one_batch(batch)?,
            tag: "SHOW",
        }))
    }

    /// COPY … FROM STDIN / TO STDOUT: checks and starts it.
    pub(super) async fn copy(&self, statement: &Statement) -> Result<Outcome> {
        let Statement::Copy {
            source,
            to,
            target,
            options,
            legacy_options,
            ..
        } = statement
        else {
            return Err(CipError::invalid(
                sqlstate::SYNTAX_ERROR,
                "not a COPY statement",
            ));
        };
        let format = CopyFormat::parse(options, legacy_options)?;
        if !*to {
            if !matches!(target, CopyTarget::Stdin) {
                return Err(CipError::invalid(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    "COPY FROM a server-side file or program is not supported; use COPY … FROM STDIN (psql: \\copy)",
                ));
            }
            let CopySource::Table {
                table_name,
                columns,
            } = source
            else {
                return Err(CipError::invalid(
                    sqlstate::SYNTAX_ERROR,
                    "COPY FROM needs a table, not a query",
                ));
            };
            self.actor()
                .require_write("COPY FROM")
                .map_err(CipError::from)?;
            let name = super::rules::ast::last_name(table_name).unwrap_or_default();
            let table = self.engine.store.table(&name)?;
            let columns: Vec<String> = if columns.is_empty() {
                table
                    .def
                    .schema
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect()
            } else {
                columns.iter().map(|c| c.value.clone()).collect()
            };
            for c in &columns {
                if table.def.schema.index_of(c).is_err() {
                    return Err(CipError::invalid(
                        sqlstate::UNDEFINED_COLUMN,
                        format!("column \"{c}\" of relation \"{name}\" does not exist"),
                    ));
                }
            }
            let slot = self.state().tx.slot();
            let pool = &self.ctx().runtime_env().memory_pool;
            return Ok(Outcome::CopyIn(CopyIn::new(
                table, slot, columns, format, pool,
            )));
        }
        if !matches!(target, CopyTarget::Stdout) {
            return Err(CipError::invalid(
                sqlstate::FEATURE_NOT_SUPPORTED,
                "COPY TO a server-side file or program is not supported; use COPY … TO STDOUT (psql: \\copy)",
            ));
        }
        let df = match source {
            CopySource::Query(q) => {
                let plan = self.plan(&Statement::Query(q.clone())).await?;
                self.ctx().execute_logical_plan(plan).await?
            }
            CopySource::Table {
                table_name,
                columns,
            } => {
                let parts = name_parts(table_name);
                let reference = match parts.as_slice() {
                    [t] => TableReference::bare(t.as_str()),
                    [s, t] => TableReference::partial(s.as_str(), t.as_str()),
                    [c, s, t] => TableReference::full(c.as_str(), s.as_str(), t.as_str()),
                    _ => {
                        return Err(CipError::invalid(
                            sqlstate::SYNTAX_ERROR,
                            "COPY needs a table name",
                        ))
                    }
                };
                let df = self.ctx().table(reference).await?;
                if columns.is_empty() {
                    df
                } else {
                    let names: Vec<&str> = columns.iter().map(|c| c.value.as_str()).collect();
                    df.select_columns(&names)?
                }
            }
        };
        let rows = df.execute_stream().await?;
        let pool = self.ctx().runtime_env().memory_pool.clone();
        let rows = super::runtime::batches_on_runtime(statement.to_string(), rows, &pool);
        let zones = crate::catalog::datetime_text::Zones::of(
            self.ctx().state_ref().read().config_options(),
        );
        Ok(Outcome::CopyOut(CopyOut::new(rows, format, zones)))
    }
}

/// `value` for the option `key`: PostgreSQL's spellings of a boolean (on, off, yes, no, 1, 0)
/// as the `true` / `false` DataFusion parses, for an option that is a boolean.
fn boolean_spelling(options: &ConfigOptions, key: &str, value: String) -> String {
    // cip's options are an extension, whose entries are named without the prefix.
    let name = key.strip_prefix("cip.").unwrap_or(key);
    let boolean = options
        .entries()
        .iter()
        .any(|e| e.key == name && matches!(e.value.as_deref(), Some("true" | "false")));
    if !boolean {
        return value;
    }
    match crate::settings::pg::boolean(value.trim()) {
        Some(b) => b.to_string(),
        None => value,
    }
}
