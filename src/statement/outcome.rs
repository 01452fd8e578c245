//! What a statement produced: rows, a command tag, or the start of a COPY.

use super::copy::{CopyIn, CopyOut};
use datafusion::arrow::array::{Array, RecordBatch, UInt64Array};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::execution::SendableRecordBatchStream;

/// A statement's rows, computed as they are read.
pub struct Rows {
    /// The columns as described to clients (their PostgreSQL names; types as planned).
    pub schema: SchemaRef,
    pub stream: SendableRecordBatchStream,
    /// The command tag's word ("SELECT", "FETCH", "SHOW"); the row count follows it.
    pub tag: &'static str,
}

/// A statement that returned no rows: its command tag (PostgreSQL's wording) and row count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    pub tag: String,
    pub rows: Option<u64>,
}

impl Done {
    pub fn new(tag: impl Into<String>) -> Done {
        Done {
            tag: tag.into(),
            rows: None,
        }
    }

    pub fn with_rows(tag: impl Into<String>, rows: u64) -> Done {
        Done {
            tag: tag.into(),
            rows: Some(rows),
        }
    }

    /// The tag as PostgreSQL sends it: "INSERT 0 3", "UPDATE 2", "CREATE VIEW".
    pub fn text(&self) -> String {
        match (self.tag.as_str(), self.rows) {
            ("INSERT", Some(n)) => format!("INSERT 0 {n}"),
            (tag, Some(n)) => format!("{tag} {n}"),
            (tag, None) => tag.to_string(),
        }
    }
}

pub enum Outcome {
    Rows(Rows),
    Done(Done),
    /// COPY … FROM STDIN: the client sends the data next.
    CopyIn(CopyIn),
    /// COPY … TO STDOUT: the data to send.
    CopyOut(CopyOut),
    /// An empty statement.
    Empty,
}

impl std::fmt::Debug for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Rows(r) => write!(f, "Rows({})", r.tag),
            Outcome::Done(d) => write!(f, "Done({})", d.text()),
            Outcome::CopyIn(_) => f.write_str("CopyIn"),
            Outcome::CopyOut(_) => f.write_str("CopyOut"),
            Outcome::Empty => f.write_str("Empty"),
        }
    }
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
