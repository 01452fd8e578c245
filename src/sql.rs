//! `cip sql`: runs a script statement by statement through a session and prints each result
//! as psql would.

use crate::error::sqlstate;
use crate::error::{CipError, Result};
use crate::statement::{Limits, Outcome, Session};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::pretty::pretty_format_batches;
use futures::StreamExt;
use std::io::Write;
use std::sync::Arc;

/// Runs every statement of `text` in order; stops at the first error.
pub async fn run_script(session: &Arc<Session>, text: &str, out: &mut dyn Write) -> Result<()> {
    for parsed in session.parse(text).await? {
        let outcome = session.run(parsed, Limits::default()).await?;
        let printed = match outcome {
            Outcome::Rows(rows) => {
                let rows = session.printed(rows).await?;
                let mut stream = rows.stream;
                let mut batches = Vec::new();
                while let Some(b) = stream.next().await {
                    batches.push(b?);
                }
                format_rows(rows.schema, &batches)?
            }
            Outcome::Done(done) => format!("{}\n", done.text()),
            Outcome::Empty => String::new(),
            Outcome::CopyIn(_) | Outcome::CopyOut(_) => {
                return Err(CipError::invalid(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    "COPY … STDIN / STDOUT needs a client connection (psql's \\copy); \
                     use `cip load` for files",
                ))
            }
        };
        out.write_all(printed.as_bytes())
            .map_err(|e| CipError::io("write output", e))?;
    }
    Ok(())
}

/// Rows as psql prints them: a table, then the count.
pub fn format_rows(schema: SchemaRef, batches: &[RecordBatch]) -> Result<String> {
    let n: usize = batches.iter().map(|b| b.num_rows()).sum();
    let table = if batches.is_empty() {
        pretty_format_batches(&[RecordBatch::new_empty(schema)])?
    } else {
        pretty_format_batches(batches)?
    };
    Ok(format!(
        "{table}\n({n} row{})\n",
        if n == 1 { "" } else { "s" }
    ))
}
