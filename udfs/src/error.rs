//! Errors of cip's functions that carry their SQLSTATE, so a client gets the code PostgreSQL
//! would send (22023 for an impossible argument, 57014 for a fit given up) whatever the
//! message says. They travel through DataFusion as `DataFusionError::External`.

use crate::sqlstate;
use datafusion::common::DataFusionError;

#[derive(Debug)]
pub struct SqlError {
    pub sqlstate: &'static str,
    pub message: String,
}

impl std::fmt::Display for SqlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SqlError {}

/// An error with `sqlstate`, as DataFusion carries it.
pub fn sql_error(sqlstate: &'static str, message: impl Into<String>) -> DataFusionError {
    DataFusionError::External(Box::new(SqlError {
        sqlstate,
        message: message.into(),
    }))
}

/// An impossible argument of function `name` (22023).
pub fn invalid_argument(name: &str, message: impl std::fmt::Display) -> DataFusionError {
    sql_error(
        sqlstate::INVALID_PARAMETER_VALUE,
        format!("{name}: invalid argument: {message}"),
    )
}

/// A computation given up because of a cancel request or a statement timeout (57014).
pub fn canceled(name: &str) -> DataFusionError {
    sql_error(
        sqlstate::QUERY_CANCELED,
        format!("{name}: canceling statement due to user request or statement timeout"),
    )
}
