//! `Idempotency-Key` on the POSTs that change state: a retried request with the same key (same
//! caller, same endpoint) gets the first answer and changes nothing; the same key with a
//! different body is refused (422). A retry that arrives while the first is running waits for
//! it. Answers are kept in memory for the life of the process.

use super::error::ApiError;
use super::state::AppState;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde_json::Value;
use std::future::Future;
use std::sync::Arc;

/// Runs `work` once per Idempotency-Key (or every time without one).
pub async fn once<F>(
    app: &Arc<AppState>,
    headers: &HeaderMap,
    endpoint: &str,
    body: &Bytes,
    work: F,
) -> Result<(StatusCode, Json<Value>), ApiError>
where
    F: Future<Output = Result<(StatusCode, Value), ApiError>>,
{
    let Some(key) = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty())
    else {
        let (status, value) = work.await?;
        return Ok((status, Json(value)));
    };
    if key.len() > 200 {
        return Err(ApiError::bad_request(
            "Idempotency-Key is longer than 200 characters",
        ));
    }
    let caller = app.actor(headers)?.name;
    let fingerprint = format!("{:016x}", cip_udfs::fnv1a(body));
    let slot = {
        let mut answers = app.answers.lock().map_err(|_| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "XX000",
                "idempotency store poisoned",
            )
        })?;
        answers
            .entry(format!("{caller}\u{0}{endpoint}\u{0}{key}"))
            .or_default()
            .clone()
    };
    let mut answer = slot.lock().await;
    if let Some((seen, status, value)) = answer.as_ref() {
        if *seen != fingerprint {
            return Err(ApiError::unprocessable(
                "this Idempotency-Key was used for a different request",
            ));
        }
        return Ok((*status, Json(value.clone())));
    }
    // Errors are not kept: a failed request may be retried with the same key.
    let (status, value) = work.await?;
    *answer = Some((fingerprint, status, value.clone()));
    Ok((status, Json(value)))
}
