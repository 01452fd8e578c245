//! Gives every error sent to a client the SQLSTATE of our one mapping (see `crate::error`),
//! instead of pgwire's blanket XX000 for errors raised by the engine.

use crate::error::sqlstate;
use crate::error::{datafusion_sqlstate, df_message, CipError};
use datafusion::common::DataFusionError;
use pgwire::api::{ClientInfo, ErrorHandler};
use pgwire::error::{ErrorInfo, PgWireError};

pub struct SqlStateErrors;

impl ErrorHandler for SqlStateErrors {
    fn on_error<C>(&self, _client: &C, error: &mut PgWireError)
    where
        C: ClientInfo,
    {
        crate::metrics::ERRORS.add(1);
        let PgWireError::ApiError(inner) = error else {
            return;
        };
        let (code, message) = if let Some(df) = inner.downcast_ref::<DataFusionError>() {
            (datafusion_sqlstate(df), df_message(df))
        } else if let Some(cip) = inner.downcast_ref::<CipError>() {
            (cip.sqlstate(), cip.to_string())
        } else {
            // Parser errors from the PostgreSQL-compatibility parser are syntax errors.
            let text = inner.to_string();
            let code = if text.contains("sql parser error") || text.contains("Expected") {
                sqlstate::SYNTAX_ERROR
            } else {
                sqlstate::INTERNAL_ERROR
            };
            (code, text)
        };
        *error = PgWireError::UserError(Box::new(ErrorInfo::new(
            "ERROR".to_string(),
            code.to_string(),
            message,
        )));
    }
}
