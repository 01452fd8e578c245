//! `cip sql`: runs a script statement by statement and prints each result as psql would.

use crate::error::Result;
use datafusion::arrow::array::{Array, UInt64Array};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::logical_expr::{LogicalPlan, WriteOp};
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::DFParser;
use std::io::Write;

/// `s` as an SQL string literal: quoted, with single quotes doubled. For the statements the
/// engine writes itself around a value (table-function arguments cannot be parameters).
pub fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// What one statement produced.
pub enum Outcome {
    Rows(Vec<RecordBatch>),
    /// A write: its command tag (INSERT, UPDATE, DELETE) and the row count.
    Command(&'static str, u64),
    Done,
}

/// Plans and runs one parsed statement.
pub async fn run_statement(
    ctx: &SessionContext,
    stmt: datafusion::sql::parser::Statement,
) -> Result<Outcome> {
    if let datafusion::sql::parser::Statement::Statement(s) = &stmt {
        if let Some(sql) = crate::functions::show_functions_sql(s) {
            return Ok(Outcome::Rows(ctx.sql(&sql).await?.collect().await?));
        }
        if let datafusion::sql::sqlparser::ast::Statement::ShowVariable { variable } = s.as_ref() {
            let name = crate::settings::variable_name(variable);
            if let Some(batch) = crate::settings::show(ctx, &name) {
                return Ok(Outcome::Rows(vec![batch?]));
            }
        }
    }
    let state = ctx.state();
    let plan = state.statement_to_plan(stmt).await?;
    let tag = match &plan {
        LogicalPlan::Dml(d) => match d.op {
            WriteOp::Insert(_) => Some("INSERT"),
            WriteOp::Update => Some("UPDATE"),
            WriteOp::Delete => Some("DELETE"),
            WriteOp::Truncate => Some("TRUNCATE"),
            WriteOp::Ctas => Some("SELECT"),
            _ => Some("MERGE"),
        },
        LogicalPlan::Ddl(_) | LogicalPlan::Statement(_) => None,
        _ => {
            let batches = ctx.execute_logical_plan(plan).await?.collect().await?;
            return Ok(Outcome::Rows(batches));
        }
    };
    let batches = ctx.execute_logical_plan(plan).await?.collect().await?;
    Ok(match tag {
        Some(tag) => Outcome::Command(tag, count_of(&batches)),
        None => Outcome::Done,
    })
}

/// The row count a DML plan returns (its one UInt64 `count` column).
pub fn count_of(batches: &[RecordBatch]) -> u64 {
    batches
        .iter()
        .filter_map(|b| {
            let c = b.columns().first()?;
            let c = c.as_any().downcast_ref::<UInt64Array>()?;
            (!c.is_empty()).then(|| c.value(0))
        })
        .sum()
}

/// Runs every statement of `text` in order; stops at the first error.
pub async fn run_script(ctx: &SessionContext, text: &str, out: &mut dyn Write) -> Result<()> {
    let statements = DFParser::parse_sql(text)?;
    for stmt in statements {
        let outcome = run_statement(ctx, stmt).await?;
        let printed = match outcome {
            Outcome::Rows(batches) => {
                let n: usize = batches.iter().map(|b| b.num_rows()).sum();
                format!(
                    "{}\n({n} row{})\n",
                    pretty_format_batches(&batches)?,
                    if n == 1 { "" } else { "s" }
                )
            }
            Outcome::Command("INSERT", n) => format!("INSERT 0 {n}\n"),
            Outcome::Command(tag, n) => format!("{tag} {n}\n"),
            Outcome::Done => "OK\n".to_string(),
        };
        out.write_all(printed.as_bytes())
            .map_err(|e| crate::error::CipError::io("write output", e))?;
    }
    Ok(())
}
