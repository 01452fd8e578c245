//! The API's errors: JSON `{"error": {"status", "code", "message"}}` with the HTTP status a
//! client can act on. Engine errors keep their SQLSTATE as `code`.

use crate::error::sqlstate;
use crate::error::CipError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "unprocessable", message)
    }
}

/// SQLSTATE → HTTP status: what the client sent was refused (4xx), or the server failed (5xx).
fn status_of(sqlstate: &str) -> StatusCode {
    match sqlstate {
        sqlstate::INSUFFICIENT_PRIVILEGE => StatusCode::FORBIDDEN,
        s if s.starts_with("28") => StatusCode::UNAUTHORIZED,
        s if s.starts_with("22") || s.starts_with("23") => StatusCode::UNPROCESSABLE_ENTITY,
        sqlstate::QUERY_CANCELED | sqlstate::LOCK_NOT_AVAILABLE => StatusCode::SERVICE_UNAVAILABLE,
        s if s.starts_with("53") => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<CipError> for ApiError {
    fn from(e: CipError) -> Self {
        let code = e.sqlstate();
        ApiError::new(status_of(code), code, e.to_string())
    }
}

impl From<datafusion::common::DataFusionError> for ApiError {
    fn from(e: datafusion::common::DataFusionError) -> Self {
        CipError::from(e).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        crate::metrics::ERRORS.add(1);
        if self.status.is_server_error() {
            tracing::error!(code = %self.code, "HTTP API: {}", self.message);
        }
        let body = json!({"error": {"status": self.status.as_u16(), "code": self.code, "message": self.message}});
        (self.status, Json(body)).into_response()
    }
}
