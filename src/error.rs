//! The one error type of the engine, and its explicit SQLSTATE mapping.
//!
//! Clients and BI tools branch on the SQLSTATE, so every failure carries the code that
//! PostgreSQL would send for the same mistake; `XX000` is only for real internal faults.

pub use cip_udfs::sqlstate;
use datafusion::arrow::error::ArrowError;
use datafusion::common::{DataFusionError, SchemaError};
use std::path::PathBuf;

pub type Result<T, E = CipError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum CipError {
    #[error("{}", df_message(.0))]
    DataFusion(#[from] DataFusionError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// A file in the data directory is not what the engine wrote (checksum, format).
    #[error("data directory is damaged: {0}")]
    Corrupt(String),
    #[error("data directory {path}: {message}")]
    DataDir { path: PathBuf, message: String },
    #[error("configuration: {0}")]
    Config(String),
    /// Bad input from a user (a CLI argument, a load file): the SQLSTATE says which kind.
    #[error("{message}")]
    Invalid {
        sqlstate: &'static str,
        message: String,
    },
    #[error("{0}")]
    Locked(String),
}

impl CipError {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        CipError::Io {
            context: context.into(),
            source,
        }
    }

    pub fn invalid(sqlstate: &'static str, message: impl Into<String>) -> Self {
        CipError::Invalid {
            sqlstate,
            message: message.into(),
        }
    }

    /// The SQLSTATE a PostgreSQL client sees for this error.
    pub fn sqlstate(&self) -> &'static str {
        match self {
            CipError::DataFusion(e) => datafusion_sqlstate(e),
            CipError::Io { source, .. } => io_sqlstate(source),
            CipError::Corrupt(_) => sqlstate::DATA_CORRUPTED,
            CipError::DataDir { .. } => sqlstate::IO_ERROR,
            CipError::Config(_) => sqlstate::CONFIG_FILE_ERROR,
            CipError::Invalid { sqlstate, .. } => sqlstate,
            CipError::Locked(_) => sqlstate::LOCK_NOT_AVAILABLE,
        }
    }
}

fn io_sqlstate(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::StorageFull => sqlstate::DISK_FULL,
        std::io::ErrorKind::OutOfMemory => sqlstate::OUT_OF_MEMORY,
        _ => sqlstate::IO_ERROR,
    }
}

/// The message a user should read: our own errors carried through DataFusion lose the
/// "External error:" wrapper.
pub fn df_message(e: &DataFusionError) -> String {
    match e {
        DataFusionError::External(inner) => match inner.downcast_ref::<CipError>() {
            Some(cip) => cip.to_string(),
            None => inner.to_string(),
        },
        DataFusionError::Context(ctx, inner) => format!("{ctx}: {}", df_message(inner)),
        DataFusionError::Shared(inner) => df_message(inner),
        other => other.strip_backtrace(),
    }
}

/// DataFusion reports most user mistakes as `Plan` or `Execution` errors with a message;
/// the variant (and, where the variant is too coarse, the message) decides the SQLSTATE.
pub fn datafusion_sqlstate(e: &DataFusionError) -> &'static str {
    match e {
        DataFusionError::SQL(..) => sqlstate::SYNTAX_ERROR,
        DataFusionError::SchemaError(se, _) => match se.as_ref() {
            SchemaError::FieldNotFound { .. } => sqlstate::UNDEFINED_COLUMN,
            SchemaError::AmbiguousReference { .. } => sqlstate::AMBIGUOUS_COLUMN,
            SchemaError::DuplicateQualifiedField { .. }
            | SchemaError::DuplicateUnqualifiedField { .. } => sqlstate::DUPLICATE_COLUMN,
        },
        DataFusionError::ArrowError(ae, _) => arrow_sqlstate(ae),
        DataFusionError::ResourcesExhausted(_) => sqlstate::OUT_OF_MEMORY,
        DataFusionError::NotImplemented(_) => sqlstate::FEATURE_NOT_SUPPORTED,
        DataFusionError::Configuration(m)
            if m.contains("not found") || m.contains("Could not find") =>
        {
            sqlstate::UNDEFINED_OBJECT
        }
        DataFusionError::Configuration(_) => sqlstate::INVALID_PARAMETER_VALUE,
        DataFusionError::IoError(io) => io_sqlstate(io),
        DataFusionError::ParquetError(_) | DataFusionError::ObjectStore(_) => sqlstate::IO_ERROR,
        // A setting's value that does not parse (`SET cip.key_sort = 'maybe'`,
        // `SET datafusion.execution.batch_size = 'x'`): DataFusion wraps the parse error.
        DataFusionError::Context(c, _) if c.starts_with("Error parsing '") => {
            sqlstate::INVALID_PARAMETER_VALUE
        }
        DataFusionError::Context(_, inner) => datafusion_sqlstate(inner),
        DataFusionError::Diagnostic(_, inner) => datafusion_sqlstate(inner),
        DataFusionError::Shared(inner) => datafusion_sqlstate(inner),
        // The planner gathers the errors of a statement's expressions; the first is the one
        // its message shows.
        DataFusionError::Collection(errors) => errors
            .first()
            .map_or(sqlstate::INTERNAL_ERROR, datafusion_sqlstate),
        DataFusionError::External(inner) => match inner.downcast_ref::<CipError>() {
            Some(cip) => cip.sqlstate(),
            None => match inner.downcast_ref::<DataFusionError>() {
                None if inner.is::<cip_udfs::error::SqlError>() => inner
                    .downcast_ref::<cip_udfs::error::SqlError>()
                    .map_or(sqlstate::INTERNAL_ERROR, |e| e.sqlstate),
                Some(df) => datafusion_sqlstate(df),
                None => match inner.downcast_ref::<ArrowError>() {
                    Some(ae) => arrow_sqlstate(ae),
                    None => sqlstate::INTERNAL_ERROR,
                },
            },
        },
        DataFusionError::Plan(msg) => plan_sqlstate(msg),
        DataFusionError::Execution(msg) => execution_sqlstate(msg),
        _ => sqlstate::INTERNAL_ERROR,
    }
}

fn arrow_sqlstate(e: &ArrowError) -> &'static str {
    match e {
        ArrowError::DivideByZero => sqlstate::DIVISION_BY_ZERO,
        ArrowError::CastError(_) | ArrowError::ParseError(_) => {
            sqlstate::INVALID_TEXT_REPRESENTATION
        }
        ArrowError::ArithmeticOverflow(_) | ArrowError::ComputeError(_) => {
            sqlstate::NUMERIC_VALUE_OUT_OF_RANGE
        }
        ArrowError::MemoryError(_) => sqlstate::OUT_OF_MEMORY,
        ArrowError::InvalidArgumentError(m) if m.contains("non-nullable") => {
            sqlstate::NOT_NULL_VIOLATION
        }
        ArrowError::ExternalError(inner) => match inner.downcast_ref::<DataFusionError>() {
            Some(df) => datafusion_sqlstate(df),
            None => sqlstate::INTERNAL_ERROR,
        },
        _ => sqlstate::INTERNAL_ERROR,
    }
}

/// DataFusion's own planning errors carry no code, only a message: these are the messages it
/// words each class with, checked in order — every word of a row must appear. cip's errors
/// never come here: they carry their code (CipError, cip_udfs::error::SqlError).
const PLAN_MESSAGES: &[(&[&str], &str)] = &[
    (&["table", "not found"], sqlstate::UNDEFINED_TABLE),
    (&["table", "doesn't exist"], sqlstate::UNDEFINED_TABLE),
    // A relation named in a schema that does not exist (PostgreSQL: relation does not exist).
    (&["failed to resolve schema"], sqlstate::UNDEFINED_TABLE),
    (&["invalid function"], sqlstate::UNDEFINED_FUNCTION),
    // Two stored columns of one name (CREATE VIEW v AS SELECT 1 AS a, 2 AS a): PostgreSQL's
    // "column specified more than once".
    (
        &["require unique expression names"],
        sqlstate::DUPLICATE_COLUMN,
    ),
    (&["function", "not found"], sqlstate::UNDEFINED_FUNCTION),
    (
        &["function", "does not exist"],
        sqlstate::UNDEFINED_FUNCTION,
    ),
    // A function or operator called with arguments none of its signatures takes: PostgreSQL
    // answers "function abs(text) does not exist" / "operator does not exist" (42883).
    (&["no function matches"], sqlstate::UNDEFINED_FUNCTION),
    (
        &["failed to match any signature"],
        sqlstate::UNDEFINED_FUNCTION,
    ),
    (
        &["failed to coerce arguments"],
        sqlstate::UNDEFINED_FUNCTION,
    ),
    (
        &["does not support zero arguments"],
        sqlstate::UNDEFINED_FUNCTION,
    ),
    (&["cannot coerce arithmetic"], sqlstate::UNDEFINED_FUNCTION),
    (&["failed to coerce"], sqlstate::DATATYPE_MISMATCH),
    (&["cannot coerce"], sqlstate::DATATYPE_MISMATCH),
    // WHERE / HAVING / JOIN … ON of another type ("argument of WHERE must be type boolean").
    (&["non-boolean predicate"], sqlstate::DATATYPE_MISMATCH),
    (
        &["join condition must be boolean"],
        sqlstate::DATATYPE_MISMATCH,
    ),
    (&["must be in group by"], sqlstate::GROUPING_ERROR),
    // `ORDER BY 3` over two items: PostgreSQL's "ORDER BY position 3 is not in select list".
    (
        &["order by column out of bounds"],
        sqlstate::INVALID_COLUMN_REFERENCE,
    ),
    // VALUES rows of different lengths, more values than target columns.
    (&["inconsistent data length"], sqlstate::SYNTAX_ERROR),
    (&["cannot infer common"], sqlstate::DATATYPE_MISMATCH),
    (&["type mismatch"], sqlstate::DATATYPE_MISMATCH),
    (&["requires a boolean"], sqlstate::DATATYPE_MISMATCH),
    (&["compatible types"], sqlstate::DATATYPE_MISMATCH),
    (&["cannot be cast"], sqlstate::DATATYPE_MISMATCH),
    (&["already exists"], sqlstate::DUPLICATE_TABLE),
];

/// DataFusion's own execution errors, as PLAN_MESSAGES.
const EXECUTION_MESSAGES: &[(&[&str], &str)] = &[
    (&["divide by zero"], sqlstate::DIVISION_BY_ZERO),
    (&["division by zero"], sqlstate::DIVISION_BY_ZERO),
    (&["cannot cast"], sqlstate::INVALID_TEXT_REPRESENTATION),
    (&["invalid", "value"], sqlstate::INVALID_TEXT_REPRESENTATION),
    // A NOT NULL column left out of an INSERT (arrow refuses the batch).
    (&["has null", "non-nullable"], sqlstate::NOT_NULL_VIOLATION),
];

fn by_message(
    msg: &str,
    table: &[(&[&str], &'static str)],
    otherwise: &'static str,
) -> &'static str {
    let m = msg.to_ascii_lowercase();
    table
        .iter()
        .find(|(words, _)| words.iter().all(|w| m.contains(w)))
        .map_or(otherwise, |(_, code)| code)
}

fn plan_sqlstate(msg: &str) -> &'static str {
    by_message(
        msg,
        PLAN_MESSAGES,
        sqlstate::SYNTAX_ERROR_OR_ACCESS_RULE_VIOLATION,
    )
}

fn execution_sqlstate(msg: &str) -> &'static str {
    by_message(msg, EXECUTION_MESSAGES, sqlstate::INTERNAL_ERROR)
}

impl From<std::io::Error> for CipError {
    fn from(e: std::io::Error) -> Self {
        CipError::io("i/o", e)
    }
}

impl From<ArrowError> for CipError {
    fn from(e: ArrowError) -> Self {
        CipError::DataFusion(DataFusionError::ArrowError(Box::new(e), None))
    }
}

impl From<datafusion::parquet::errors::ParquetError> for CipError {
    fn from(e: datafusion::parquet::errors::ParquetError) -> Self {
        CipError::DataFusion(DataFusionError::ParquetError(Box::new(e)))
    }
}

/// Carries a `CipError` through DataFusion's APIs without losing its SQLSTATE.
pub fn to_df(e: CipError) -> DataFusionError {
    match e {
        CipError::DataFusion(df) => df,
        other => DataFusionError::External(Box::new(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_common_classes() {
        let collected = DataFusionError::Collection(vec![
            DataFusionError::Plan("Invalid function 'nope'.".into()),
            DataFusionError::Internal("second".into()),
        ]);
        assert_eq!(datafusion_sqlstate(&collected), "42883");
        assert_eq!(
            datafusion_sqlstate(&DataFusionError::Plan(
                "Unary operator 'NOT' requires a boolean expression, got Utf8".into()
            )),
            "42804"
        );
        assert_eq!(
            datafusion_sqlstate(&DataFusionError::Plan("table 'x' not found".into())),
            "42P01"
        );
        assert_eq!(
            datafusion_sqlstate(&DataFusionError::ArrowError(
                Box::new(ArrowError::DivideByZero),
                None
            )),
            "22012"
        );
        let wrapped = to_df(CipError::invalid("22P02", "bad"));
        assert_eq!(datafusion_sqlstate(&wrapped), "22P02");
        assert_eq!(CipError::Locked("x".into()).sqlstate(), "55P03");
    }
}
