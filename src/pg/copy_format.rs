//! The options of a COPY statement (CSV or PostgreSQL's text format), for both directions,
//! and the helpers the COPY hooks share.

use datafusion::common::{DFSchema, DataFusionError};
use datafusion::logical_expr::{EmptyRelation, LogicalPlan};
use datafusion::sql::sqlparser::ast::{CopyLegacyCsvOption, CopyLegacyOption, CopyOption};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use std::sync::Arc;

pub fn user_error(code: &str, message: impl Into<String>) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "ERROR".to_string(),
        code.to_string(),
        message.into(),
    )))
}

pub fn api(e: DataFusionError) -> PgWireError {
    PgWireError::ApiError(Box::new(e))
}

/// The plan a Parse of a statement that returns no rows describes (NoData): parsing such a
/// statement must not act, only describe.
pub fn no_rows_plan() -> LogicalPlan {
    LogicalPlan::EmptyRelation(EmptyRelation {
        produce_one_row: false,
        schema: Arc::new(DFSchema::empty()),
    })
}

#[derive(Debug, Clone)]
pub struct CopyFormat {
    pub csv: bool,
    pub header: bool,
    pub delimiter: u8,
    pub quote: u8,
    /// The text that stands for NULL: `\N` in text format, the empty field in CSV.
    pub null: String,
}

fn unsupported(what: impl std::fmt::Display) -> PgWireError {
    user_error("0A000", format!("COPY option {what} is not supported"))
}

impl CopyFormat {
    pub fn parse(options: &[CopyOption], legacy: &[CopyLegacyOption]) -> PgWireResult<Self> {
        let mut f = CopyFormat {
            csv: false,
            header: false,
            delimiter: b'\t',
            quote: b'"',
            null: "\\N".to_string(),
        };
        let (mut delimiter, mut null) = (None, None);
        for o in options {
            match o {
                CopyOption::Format(x) => match x.value.to_ascii_lowercase().as_str() {
                    "csv" => f.csv = true,
                    "text" => f.csv = false,
                    other => {
                        return Err(user_error(
                            "0A000",
                            format!("COPY format {other} is not supported (csv, text)"),
                        ))
                    }
                },
                CopyOption::Header(h) => f.header = *h,
                CopyOption::Delimiter(d) => delimiter = Some(*d),
                CopyOption::Null(n) => null = Some(n.clone()),
                CopyOption::Quote(q) if q.is_ascii() => f.quote = *q as u8,
                CopyOption::Encoding(e)
                    if e.eq_ignore_ascii_case("utf8") || e.eq_ignore_ascii_case("utf-8") => {}
                other => return Err(unsupported(other)),
            }
        }
        for o in legacy {
            match o {
                CopyLegacyOption::Csv(csv_opts) => {
                    f.csv = true;
                    for c in csv_opts {
                        match c {
                            CopyLegacyCsvOption::Header => f.header = true,
                            CopyLegacyCsvOption::Quote(q) if q.is_ascii() => f.quote = *q as u8,
                            other => return Err(unsupported(other)),
                        }
                    }
                }
                CopyLegacyOption::Delimiter(d) => delimiter = Some(*d),
                CopyLegacyOption::Null(n) => null = Some(n.clone()),
                other => return Err(unsupported(other)),
            }
        }
        if f.csv {
            f.delimiter = b',';
            f.null = String::new();
        }
        if let Some(d) = delimiter {
            if !d.is_ascii() {
                return Err(user_error(
                    "22023",
                    "COPY delimiter must be a single one-byte character",
                ));
            }
            f.delimiter = d as u8;
        }
        if let Some(n) = null {
            f.null = n;
        }
        Ok(f)
    }
}
