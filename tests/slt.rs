//! The sqllogictest harness: every `tests/slt/*.slt` runs against the real engine (a fresh
//! data directory, the repository's queries/), each `connection` being its own session.

use crate::common;
use cip::engine::Engine;
use cip::sql::{run_statement, Outcome};
use datafusion::arrow::datatypes::DataType;
use datafusion::sql::parser::DFParser;
use sqllogictest::{AsyncDB, DBOutput, DefaultColumnType, Runner};
use std::path::PathBuf;
use std::sync::Arc;

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

struct Conn {
    ctx: datafusion::prelude::SessionContext,
}

#[async_trait::async_trait]
impl AsyncDB for Conn {
    type Error = SltError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, SltError> {
        let mut statements =
            DFParser::parse_sql(sql).map_err(|e| SltError::from(cip::error::CipError::from(e)))?;
        let Some(stmt) = statements.pop_front() else {
            return Ok(DBOutput::StatementComplete(0));
        };
        match run_statement(&self.ctx, stmt).await? {
            Outcome::Rows(batches) => {
                let types = match batches.first() {
                    Some(b) => b
                        .schema()
                        .fields()
                        .iter()
                        .map(|f| column_type(f.data_type()))
                        .collect(),
                    None => vec![],
                };
                let rows = common::to_text(&batches)
                    .into_iter()
                    .map(|r| {
                        r.into_iter()
                            .map(|v| if v.is_empty() { "(empty)".into() } else { v })
                            .collect()
                    })
                    .collect();
                Ok(DBOutput::Rows { types, rows })
            }
            Outcome::Command(_, n) => Ok(DBOutput::StatementComplete(n)),
            Outcome::Done => Ok(DBOutput::StatementComplete(0)),
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqllogictest_files() {
    let files = slt_files();
    assert!(!files.is_empty(), "no .slt files found");
    let mut failures = Vec::new();
    for file in &files {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = Arc::new(common::engine(dir.path()).await);
        let mut runner = Runner::new(move || {
            let engine: Arc<Engine> = engine.clone();
            async move {
                let ctx = engine.session().await.map_err(SltError::from)?;
                // A fixed actor, so files can pin who ran a statement.
                cip::actor::Actor::new("slt", cip::actor::Role::Owner).install(&ctx);
                Ok(Conn { ctx })
            }
        });
        if let Err(e) = runner.run_file_async(file).await {
            failures.push(format!("{}:\n{e}", file.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} slt file(s) failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
