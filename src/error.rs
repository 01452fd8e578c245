//! The one error type of the engine, and its explicit SQLSTATE mapping.
//!
//! Clients and BI tools branch on the SQLSTATE, so every failure carries the code that
//! PostgreSQL would send for the same mistake; `XX000` is only for real internal faults.

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
            CipError::Corrupt(_) => "XX001",
            CipError::DataDir { .. } => "58030",
            CipError::Config(_) => "F0000",
            CipError::Invalid { sqlstate, .. } => sqlstate,
            CipError::Locked(_) => "55P03",
        }
    }
}

fn io_sqlstate(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::StorageFull => "53100",
        std::io::ErrorKind::OutOfMemory => "53200",
        _ => "58030",
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
        DataFusionError::SQL(..) => "42601",
        DataFusionError::SchemaError(se, _) => match se.as_ref() {
            SchemaError::FieldNotFound { .. } => "42703",
            SchemaError::AmbiguousReference { .. } => "42702",
            SchemaError::DuplicateQualifiedField { .. }
            | SchemaError::DuplicateUnqualifiedField { .. } => "42701",
        },
        DataFusionError::ArrowError(ae, _) => arrow_sqlstate(ae),
        DataFusionError::ResourcesExhausted(_) => "53200",
        DataFusionError::NotImplemented(_) => "0A000",
        DataFusionError::Configuration(m)
            if m.contains("not found") || m.contains("Could not find") =>
        {
            "42704"
        }
        DataFusionError::Configuration(_) => "22023",
        DataFusionError::IoError(io) => io_sqlstate(io),
        DataFusionError::ParquetError(_) | DataFusionError::ObjectStore(_) => "58030",
        // A setting's value that does not parse (`SET cip.key_sort = 'maybe'`,
        // `SET datafusion.execution.batch_size = 'x'`): DataFusion wraps the parse error.
        DataFusionError::Context(c, _) if c.starts_with("Error parsing '") => "22023",
        DataFusionError::Context(_, inner) => datafusion_sqlstate(inner),
        DataFusionError::Diagnostic(_, inner) => datafusion_sqlstate(inner),
        DataFusionError::Shared(inner) => datafusion_sqlstate(inner),
        DataFusionError::External(inner) => match inner.downcast_ref::<CipError>() {
            Some(cip) => cip.sqlstate(),
            None => match inner.downcast_ref::<DataFusionError>() {
                Some(df) => datafusion_sqlstate(df),
                None => match inner.downcast_ref::<ArrowError>() {
                    Some(ae) => arrow_sqlstate(ae),
                    None => "XX000",
                },
            },
        },
        DataFusionError::Plan(msg) => plan_sqlstate(msg),
        DataFusionError::Execution(msg) => execution_sqlstate(msg),
        _ => "XX000",
    }
}

fn arrow_sqlstate(e: &ArrowError) -> &'static str {
    match e {
        ArrowError::DivideByZero => "22012",
        ArrowError::CastError(_) | ArrowError::ParseError(_) => "22P02",
        ArrowError::ArithmeticOverflow(_) | ArrowError::ComputeError(_) => "22003",
        ArrowError::MemoryError(_) => "53200",
        ArrowError::InvalidArgumentError(m) if m.contains("non-nullable") => "23502",
        ArrowError::ExternalError(inner) => match inner.downcast_ref::<DataFusionError>() {
            Some(df) => datafusion_sqlstate(df),
            None => "XX000",
        },
        _ => "XX000",
    }
}

fn plan_sqlstate(msg: &str) -> &'static str {
    let m = msg.to_ascii_lowercase();
    if m.contains("table") && (m.contains("not found") || m.contains("doesn't exist")) {
        "42P01"
    } else if m.contains("invalid function")
        || m.contains("function") && (m.contains("not found") || m.contains("does not exist"))
    {
        "42883"
    } else if m.contains("no function matches")
        || m.contains("failed to coerce")
        || m.contains("cannot coerce")
        || m.contains("cannot infer common")
        || m.contains("type mismatch")
        || m.contains("cannot be cast")
    {
        "42804"
    } else if m.contains("already exists") {
        "42P07"
    } else {
        "42000"
    }
}

fn execution_sqlstate(msg: &str) -> &'static str {
    let m = msg.to_ascii_lowercase();
    if m.contains("divide by zero") || m.contains("division by zero") {
        "22012"
    } else if m.contains("canceling statement") {
        // A model fit that gave up between iterations (cip-udfs' FitStop).
        "57014"
    } else if m.contains("invalid argument") {
        // cip-udfs reports impossible arguments this way (negative counts, recency > t, ...).
        "22023"
    } else if m.contains("cannot cast") || m.contains("invalid") && m.contains("value") {
        "22P02"
    } else {
        "XX000"
    }
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
