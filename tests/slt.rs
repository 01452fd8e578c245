//! The sqllogictest harness, in two modes over the same files:
//! - direct: every `tests/slt/*.slt` runs through a `statement::Session` (the one way in that
//!   `cip sql` and the server use), each `connection` its own session;
//! - wire: the same files against a real `cip serve` process through tokio-postgres, each
//!   statement described over the extended protocol and run over the simple one (what psql
//!   sends). Values come back as PostgreSQL's text and are read back into the Arrow type the
//!   row description announced, then printed as the direct mode prints them, so one set of
//!   expected results checks both.

use crate::common;
use crate::pgwire::Server;
use cip::engine::Engine;
use cip::statement::{Limits, Outcome, Session};
use datafusion::arrow::array::{ArrayRef, StringArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;
use futures::StreamExt;
use sqllogictest::{AsyncDB, DBOutput, DefaultColumnType, Runner};
use std::path::PathBuf;
use std::sync::Arc;
use tokio_postgres::types::Type;
use tokio_postgres::SimpleQueryMessage;

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
struct SltError {
    message: String,
    sqlstate: String,
}

impl From<cip::error::CipError> for SltError {
    fn from(e: cip::error::CipError) -> Self {
        SltError {
            sqlstate: e.sqlstate().to_string(),
            message: e.to_string(),
        }
    }
}

impl From<tokio_postgres::Error> for SltError {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.as_db_error() {
            Some(db) => SltError {
                sqlstate: db.code().code().to_string(),
                message: db.message().to_string(),
            },
            None => SltError {
                sqlstate: "08006".into(),
                message: e.to_string(),
            },
        }
    }
}

fn rows_output(
    batches: &[RecordBatch],
    types: Vec<DefaultColumnType>,
) -> DBOutput<DefaultColumnType> {
    let rows = common::to_text(batches)
        .into_iter()
        .map(|r| {
            r.into_iter()
                .map(|v| if v.is_empty() { "(empty)".into() } else { v })
                .collect()
        })
        .collect();
    DBOutput::Rows { types, rows }
}

fn column_type(dt: &DataType) -> DefaultColumnType {
    if dt.is_integer() {
        DefaultColumnType::Integer
    } else if dt.is_floating() || matches!(dt, DataType::Decimal128(..) | DataType::Decimal256(..))
    {
        DefaultColumnType::FloatingPoint
    } else {
        DefaultColumnType::Text
    }
}

/// A session of the direct mode.
struct Direct {
    session: Arc<Session>,
}

#[async_trait::async_trait]
impl AsyncDB for Direct {
    type Error = SltError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, SltError> {
        let mut statements = self.session.parse(sql).await?;
        let Some(parsed) = statements.pop() else {
            return Ok(DBOutput::StatementComplete(0));
        };
        match self.session.run(parsed, Limits::default()).await? {
            Outcome::Rows(rows) => {
                // As `cip sql` and pgwire's text format show them: reg* columns by name.
                let rows = self.session.printed(rows).await?;
                let types = rows
                    .schema
                    .fields()
                    .iter()
                    .map(|f| column_type(f.data_type()))
                    .collect();
                let mut stream = rows.stream;
                let mut batches = Vec::new();
                while let Some(b) = stream.next().await {
                    // An error while rows stream fails a block, as the front doors mark it.
                    let b = b.inspect_err(|_| self.session.failed());
                    batches.push(b.map_err(|e| SltError::from(cip::error::CipError::from(e)))?);
                }
                Ok(rows_output(&batches, types))
            }
            Outcome::Done(done) => Ok(DBOutput::StatementComplete(done.rows.unwrap_or(0))),
            _ => Ok(DBOutput::StatementComplete(0)),
        }
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "cip"
    }

    async fn sleep(dur: std::time::Duration) {
        tokio::time::sleep(dur).await;
    }

    fn error_sql_state(err: &SltError) -> Option<String> {
        Some(err.sqlstate.clone())
    }
}

/// A connection of the wire mode.
struct Wire {
    client: tokio_postgres::Client,
}

/// The Arrow type a PostgreSQL column type is read back into.
fn arrow_type(t: &Type) -> DataType {
    use datafusion::arrow::datatypes::TimeUnit;
    match *t {
        Type::BOOL => DataType::Boolean,
        Type::INT2 => DataType::Int16,
        Type::INT4 => DataType::Int32,
        Type::INT8 => DataType::Int64,
        Type::FLOAT4 => DataType::Float32,
        Type::FLOAT8 => DataType::Float64,
        Type::DATE => DataType::Date32,
        Type::TIMESTAMP => DataType::Timestamp(TimeUnit::Microsecond, None),
        _ => DataType::Utf8,
    }
}

/// One column of PostgreSQL text values as the direct mode prints them.
fn column(values: Vec<Option<String>>, t: &Type) -> Result<ArrayRef, SltError> {
    let target = arrow_type(t);
    let values: Vec<Option<String>> = match *t {
        Type::BOOL => values
            .into_iter()
            .map(|v| {
                v.map(|v| {
                    if v == "t" {
                        "true".into()
                    } else {
                        "false".into()
                    }
                })
            })
            .collect(),
        _ if is_array(t) => values
            .into_iter()
            .map(|v| v.map(|v| pg_array(&v)))
            .collect(),
        _ => values,
    };
    let text: ArrayRef = Arc::new(StringArray::from(values));
    datafusion::arrow::compute::cast(&text, &target).map_err(|e| SltError {
        sqlstate: "XX000".into(),
        message: format!("reading back a {t} column: {e}"),
    })
}

fn is_array(t: &Type) -> bool {
    matches!(t.kind(), tokio_postgres::types::Kind::Array(_))
}

/// `{a,"b c",NULL}` as Arrow prints a list: `[a, b c, ]`.
fn pg_array(text: &str) -> String {
    let inner = text.trim_start_matches('{').trim_end_matches('}');
    if inner.is_empty() {
        return "[]".into();
    }
    let mut items = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => quoted = !quoted,
            '\\' if quoted => current.extend(chars.next()),
            ',' if !quoted => items.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    items.push(current);
    let items: Vec<String> = items
        .into_iter()
        .map(|i| if i == "NULL" { String::new() } else { i })
        .collect();
    format!("[{}]", items.join(", "))
}

#[async_trait::async_trait]
impl AsyncDB for Wire {
    type Error = SltError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, SltError> {
        // Describe over the extended protocol (Parse acts on nothing), run over the simple one.
        let described = self.client.prepare(sql).await;
        let types: Option<Vec<Type>> = match &described {
            Ok(s) => Some(s.columns().iter().map(|c| c.type_().clone()).collect()),
            Err(_) => None,
        };
        let messages = self.client.simple_query(sql).await?;
        let mut rows: Vec<Vec<Option<String>>> = Vec::new();
        let mut count = 0;
        let mut returned_rows = false;
        for m in messages {
            match m {
                SimpleQueryMessage::RowDescription(_) => returned_rows = true,
                SimpleQueryMessage::Row(r) => {
                    returned_rows = true;
                    rows.push((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect());
                }
                SimpleQueryMessage::CommandComplete(n) => count = n,
                _ => {}
            }
        }
        if !returned_rows {
            return Ok(DBOutput::StatementComplete(count));
        }
        let types = types.unwrap_or_default();
        let width = rows.first().map_or(types.len(), Vec::len);
        let mut columns = Vec::with_capacity(width);
        for i in 0..width {
            let t = types.get(i).cloned().unwrap_or(Type::TEXT);
            columns.push(column(rows.iter().map(|r| r[i].clone()).collect(), &t)?);
        }
        let kinds: Vec<DefaultColumnType> = (0..width)
            .map(|i| match types.get(i) {
                // NUMERIC reads back as text but compares as a number, as in the direct mode.
                Some(t) if *t == Type::NUMERIC => DefaultColumnType::FloatingPoint,
                Some(t) => column_type(&arrow_type(t)),
                None => DefaultColumnType::Text,
            })
            .collect();
        if rows.is_empty() {
            return Ok(DBOutput::Rows {
                types: kinds,
                rows: vec![],
            });
        }
        let fields: Vec<datafusion::arrow::datatypes::Field> = columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                datafusion::arrow::datatypes::Field::new(
                    format!("c{i}"),
                    c.data_type().clone(),
                    true,
                )
            })
            .collect();
        let schema = Arc::new(datafusion::arrow::datatypes::Schema::new(fields));
        let batch = RecordBatch::try_new(schema, columns).map_err(|e| SltError {
            sqlstate: "XX000".into(),
            message: e.to_string(),
        })?;
        Ok(rows_output(&[batch], kinds))
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "cip-wire"
    }

    async fn sleep(dur: std::time::Duration) {
        tokio::time::sleep(dur).await;
    }

    fn error_sql_state(err: &SltError) -> Option<String> {
        Some(err.sqlstate.clone())
    }
}

fn slt_files() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/slt");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/slt")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "slt"))
        .collect();
    files.sort();
    // CIP_SLT=name runs only the files whose name contains it (while working on one).
    if let Ok(only) = std::env::var("CIP_SLT") {
        files.retain(|p| p.to_string_lossy().contains(&only));
    }
    files
}

/// The public data sets the slt files read (CREATE EXTERNAL TABLE is allowed there only).
fn test_data() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn report(failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{} slt file(s) failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqllogictest_files() {
    let files = slt_files();
    assert!(!files.is_empty(), "no .slt files found");
    let mut failures = Vec::new();
    for file in &files {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = common::config(dir.path());
        config.engine.external_table_dirs = vec![test_data()];
        let engine = Arc::new(Engine::open(config).await.expect("open engine"));
        let mut runner = Runner::new(move || {
            let engine: Arc<Engine> = engine.clone();
            async move {
                let session = Session::open(engine).await?;
                // A fixed actor, so files can pin who ran a statement.
                session.set_user(cip::identity::Actor::new("slt", cip::identity::Role::Owner));
                Ok(Direct { session })
            }
        });
        if let Err(e) = runner.run_file_async(file).await {
            failures.push(format!("{}:\n{e}", file.display()));
        }
    }
    report(failures);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqllogictest_files_over_pgwire() {
    let files = slt_files();
    let mut failures = Vec::new();
    for file in &files {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = dir.path().join("cip.toml");
        // No background jobs: the files check what their own statements do (the scheduler
        // would, e.g., attribute conversions as visits are inserted).
        let toml = format!(
            "[scheduler]\nenabled = false\n\n[engine]\nexternal_table_dirs = [{:?}]\n",
            test_data().display().to_string()
        );
        std::fs::write(&config, toml).expect("config");
        let data = dir.path().join("data");
        let config = config.display().to_string();
        let server = Arc::new(Server::start_with(&data, &["--config", &config]));
        let mut runner = Runner::new(move || {
            let server = server.clone();
            async move {
                // The direct mode's actor, so files can pin who ran a statement.
                let client = server.connect_as("slt").await;
                Ok::<_, SltError>(Wire { client })
            }
        });
        if let Err(e) = runner.run_file_async(file).await {
            failures.push(format!("{} (over pgwire):\n{e}", file.display()));
        }
    }
    report(failures);
}
